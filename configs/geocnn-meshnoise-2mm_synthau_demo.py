# Dose response: the demo GeoCNN G(11111) with geodesic weights from the
# ground-truth mesh plus smooth noise of 2 mm RMS, fixed per frame.
_base_ = './_base_/geocnn-mesh_synthau_demo.py'
_pipelines = _base_._mesh_pipelines['noise2mm']
train_dataloader = dict(dataset=dict(pipeline=_pipelines['train']))
val_dataloader = dict(dataset=dict(pipeline=_pipelines['test']))
test_dataloader = val_dataloader
