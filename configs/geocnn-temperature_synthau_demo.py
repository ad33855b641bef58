# An extension, not in the paper: the demo GeoCNN G(11111) with a learnable
# temperature per GeoConv layer on Eq. 4's softmax, (K-1)
# softmax(-(Dgeo/Deu)/tau) (geoconv_mm/ops/geo_temperature.py). tau starts at 1
# (the paper) and is learnt as log_tau, without weight decay (which would pull
# it toward tau = 1 arbitrarily).
_base_ = './geocnn_synthau_demo.py'
model = dict(
    backbone=dict(
        aux_branch=dict(geo_conv_cfg=dict(type='GeoConv', temperature=True))
    )
)
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'log_tau': dict(decay_mult=0.0)})
)
