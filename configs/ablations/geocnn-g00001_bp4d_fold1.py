# Table 3 "G(00001)": GeoConv in the branch layers marked 1, regular conv elsewhere.
# Only the GeoConv layers' geodesic weights are computed.
_base_ = '../geocnn_bp4d_fold1.py'
model = dict(backbone=dict(aux_branch=dict(geo_pattern=(0, 0, 0, 0, 1))))
_specs = ['S16_k3x3_s1x1_p1x1_d1x1']
train_dataloader = dict(dataset=dict(pipeline=[
    dict(t, specs=_specs) if t['type'] == 'GenerateGeodesicWeights' else t
    for t in _base_.train_pipeline]))
val_dataloader = dict(dataset=dict(pipeline=[
    dict(t, specs=_specs) if t['type'] == 'GenerateGeodesicWeights' else t
    for t in _base_.test_pipeline]))
test_dataloader = val_dataloader
