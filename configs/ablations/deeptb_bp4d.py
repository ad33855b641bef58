# Table 4 "DeepTB": two deep branches, VGG-19 and Geo-19 (both
# ImageNet-initialised), fused like GeoCNN. The Geo-19 branch trains at the
# "other parameters" lr (0.0005).
_base_ = '../geocnn_bp4d_fold1.py'
model = dict(
    backbone=dict(
        aux_branch=dict(
            _delete_=True,
            type='MultiChannelVGG',
            depth=19,
            conv_cfg=dict(type='GeoConv'),
            init_cfg=dict(
                type='Pretrained',
                checkpoint=_base_.vgg19_imagenet,
                prefix='backbone.',
            ),
        )
    )
)
