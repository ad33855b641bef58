# Neutral-mesh control: the demo GeoCNN G(11111) whose geodesic weights come
# from the AU-free mesh of the same identity at the same pose (SynthAU keeps it
# per frame). What GeoConv gains here comes from the face shape, not from the
# AU.
_base_ = './_base_/geocnn-mesh_synthau_demo.py'
_pipelines = _base_._mesh_pipelines['neutral']
train_dataloader = dict(dataset=dict(pipeline=_pipelines['train']))
val_dataloader = dict(dataset=dict(pipeline=_pipelines['test']))
test_dataloader = val_dataloader
