# Table 3 baseline "VGG-19": the VGG-19 branch alone (ImageNet-pretrained),
# same fusion layers and head as GeoCNN; no GeoConv, so no geodesic weights.
_base_ = '../geocnn_bp4d_fold1.py'
model = dict(backbone=dict(aux_branch=None), neck=dict(in_channels=(512,)))
