# GeoCNN (Sec. 3.4): VGG-19 branch + five-layer GeoConv branch = G(11111),
# fused by concatenation and a 3x3 conv, then a fully connected layer with one
# sigmoid per AU. Branch sizes are our choice (Fig. 3 is not available): see
# GeoBranch's docstring.
vgg19_imagenet = (
    'https://download.openmmlab.com/mmclassification/v0/vgg/'
    'vgg19_batch256_imagenet_20210208-e6920e4a.pth'
)
model = dict(
    type='GeoAUClassifier',
    data_preprocessor=dict(
        type='AUDataPreprocessor',
        # ImageNet statistics (RGB), for the pretrained VGG-19 branch.
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True,
    ),
    backbone=dict(
        type='GeoCNNBackbone',
        main_branch=dict(
            type='MultiChannelVGG',
            depth=19,
            # Pretrained on ImageNet, as in the paper. Loaded by init_weights()
            # at the start of training; set the checkpoint to a local file to
            # train offline, or init_cfg=None to train from scratch (VGG-19s).
            init_cfg=dict(
                type='Pretrained',
                checkpoint=vgg19_imagenet,
                prefix='backbone.',
            ),
        ),
        aux_branch=dict(type='GeoBranch', geo_pattern=(1, 1, 1, 1, 1)),
    ),
    neck=dict(
        type='ConcatFusionNeck', in_channels=(512, 512), out_channels=512
    ),
    head=dict(
        type='AUHead',
        num_aus=12,
        in_channels=512,
        loss=dict(type='AUBalancedBCELoss', use_balanced_weights=True),
    ),
)
