# Table 3 "G(00111)": GeoConv in the branch layers marked 1, regular conv
# elsewhere; only the GeoConv layers' geodesic weights are computed.
_base_ = '../geocnn_bp4d_fold1.py'
model = dict(backbone=dict(aux_branch=dict(geo_pattern=(0, 0, 1, 1, 1))))
