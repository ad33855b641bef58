# Table 3 baseline G(00000): GeoCNN's two branches with regular convolution
# only (no GeoConv, so no geodesic weights are computed).
_base_ = '../geocnn_bp4d_fold1.py'
model = dict(backbone=dict(aux_branch=dict(geo_pattern=(0, 0, 0, 0, 0))))
