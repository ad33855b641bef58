# The quick start's main job: a slim GeoCNN = G(11111) trained from scratch on
# SynthAU (generated on first use) in a few minutes on a 2-core CPU, at
# 112 x 112.
#   python tools/train.py configs/geocnn_synthau_demo.py
# GeoCNN's structure (Sec. 3.4) at a CPU's scale: a plain-convolution main
# branch and a five-layer GeoConv branch, concatenated, fused by a 3x3 conv,
# pooled, and one sigmoid per AU. configs/geocnn-g00000_synthau_demo.py is the
# same network with plain convolutions only (the Table 3 baseline G(00000)).
_base_ = ['./_base_/datasets/synthau.py', './_base_/default_runtime.py']
channels = (16, 32, 64, 96, 128)
model = dict(
    type='GeoAUClassifier',
    data_preprocessor=dict(
        type='AUDataPreprocessor',
        mean=[127.5, 127.5, 127.5],
        std=[64.0, 64.0, 64.0],
        to_rgb=True,
    ),
    backbone=dict(
        type='GeoCNNBackbone',
        main_branch=dict(
            type='GeoBranch', channels=channels, geo_pattern=(0, 0, 0, 0, 0)
        ),
        aux_branch=dict(
            type='GeoBranch', channels=channels, geo_pattern=(1, 1, 1, 1, 1)
        ),
    ),
    neck=dict(
        type='ConcatFusionNeck', in_channels=(128, 128), out_channels=128
    ),
    head=dict(
        type='AUHead',
        num_aus=15,
        in_channels=128,
        dropout=0.2,
        loss=dict(type='AUBalancedBCELoss', use_balanced_weights=True),
    ),
)
max_epochs = 9
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=40),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=1e-5,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1),
)
custom_hooks = [
    dict(type='GeoSpecsHook'),
    dict(type='AUStatisticsHook'),
    dict(type='AUF1ChartHook'),
]
env_cfg = dict(dist_cfg=dict(backend='gloo'))
