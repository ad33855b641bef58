# GeoConv in another MMPretrain backbone by conv_cfg alone: ResNet-50 (ImageNet
# initialised) with every convolution a GeoConv, single branch, GeoCNN's fusion
# layer and AU head. Not in the paper.
_base_ = '../geocnn_bp4d_fold1.py'
resnet50_imagenet = (
    'https://download.openmmlab.com/mmclassification/v0/resnet/'
    'resnet50_8xb32_in1k_20210831-ea4938fc.pth'
)
model = dict(
    backbone=dict(
        main_branch=dict(
            _delete_=True,
            type='ResNet',
            depth=50,
            conv_cfg=dict(type='GeoConv'),
            init_cfg=dict(
                type='Pretrained',
                checkpoint=resnet50_imagenet,
                prefix='backbone.',
            ),
        ),
        aux_branch=None,
    ),
    neck=dict(in_channels=(2048,)),
)
