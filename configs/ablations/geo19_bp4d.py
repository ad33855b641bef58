# Table 4 "Geo-19": a single VGG-19 with every conv replaced by GeoConv
# (conv_cfg), initialised from ImageNet like VGG-19 (GeoConv has no parameters
# of its own). Its 16 GeoConv layers sit at input strides 1-16, i.e. GeoCNN's
# five specs.
_base_ = './vgg19_bp4d.py'
model = dict(backbone=dict(main_branch=dict(conv_cfg=dict(type='GeoConv'))))
