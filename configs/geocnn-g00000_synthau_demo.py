# Table 3's G(00000) on SynthAU: the demo's GeoCNN with plain convolution in both
# branches (same parameters, same data, no geodesic weights).
_base_ = './geocnn_synthau_demo.py'
model = dict(backbone=dict(aux_branch=dict(geo_pattern=(0, 0, 0, 0, 0))))
train_dataloader = dict(dataset=dict(pipeline=[
    t for t in _base_.train_pipeline if t['type'] != 'GenerateGeodesicWeights']))
val_dataloader = dict(dataset=dict(pipeline=[
    t for t in _base_.test_pipeline if t['type'] != 'GenerateGeodesicWeights']))
test_dataloader = val_dataloader
