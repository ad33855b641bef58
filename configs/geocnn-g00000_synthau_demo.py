# Table 3's G(00000) on SynthAU: the demo's GeoCNN with plain convolution in
# both branches (same parameters, same data; without GeoConv no geodesic
# weights are computed).
_base_ = './geocnn_synthau_demo.py'
model = dict(backbone=dict(aux_branch=dict(geo_pattern=(0, 0, 0, 0, 0))))
