# Table 3's G(00000) for AU intensity on SynthAU: the intensity demo's network
# (configs/geocnn-int_synthau_demo.py) with plain convolution in both branches
# (same parameters, same data; without GeoConv no geodesic weights are
# computed).
_base_ = './geocnn-int_synthau_demo.py'
model = dict(backbone=dict(aux_branch=dict(geo_pattern=(0, 0, 0, 0, 0))))
