# The demo GeoCNN G(11111) with the 'cap' off-surface rule (our option; the
# paper is silent): taps without a surface point get the cell's largest
# on-surface ratio instead of ratio 1 (geoconv_mm/geodesic/off_surface.py).
_base_ = './_base_/geocnn-offsurface_synthau_demo.py'
_pipelines = _base_._off_surface_pipelines['cap']
train_dataloader = dict(dataset=dict(pipeline=_pipelines['train']))
val_dataloader = dict(dataset=dict(pipeline=_pipelines['test']))
test_dataloader = val_dataloader
