# Table 4 "Geo-19": a single VGG-19 with every conv replaced by GeoConv (conv_cfg),
# initialised from ImageNet like VGG-19 (GeoConv has no parameters of its own).
_base_ = './vgg19_bp4d_fold1.py'
model = dict(backbone=dict(main_branch=dict(conv_cfg=dict(type='GeoConv'))))
# Its 16 GeoConv layers sit at input strides 1-16, i.e. GeoCNN's five specs.
train_dataloader = dict(dataset=dict(pipeline=_base_.train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=_base_.test_pipeline))
test_dataloader = val_dataloader
