# Table 3 baseline G(00000): GeoCNN's two branches with regular convolution only.
_base_ = '../geocnn_bp4d_fold1.py'
model = dict(backbone=dict(aux_branch=dict(geo_pattern=(0, 0, 0, 0, 0))))
train_dataloader = dict(dataset=dict(pipeline=[
    t for t in _base_.train_pipeline if t['type'] != 'GenerateGeodesicWeights']))
val_dataloader = dict(dataset=dict(pipeline=[
    t for t in _base_.test_pipeline if t['type'] != 'GenerateGeodesicWeights']))
test_dataloader = val_dataloader
