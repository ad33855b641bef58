# Table 5 "RGBDTB": GeoCNN's two-branch layout with regular conv only; the
# VGG-19 branch sees RGB, the five-layer branch sees the rendered depth map
# (channel 3).
_base_ = './geocnn-g00000_bp4d.py'
depth_mean, depth_std = 32.0, 32.0
model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53, depth_mean],
        std=[58.395, 57.12, 57.375, depth_std],
    ),
    backbone=dict(aux_branch=dict(in_channels=1), aux_channels=(3, 4)),
)
_depth = dict(type='RenderDepth', mode='channel')
train_dataloader = dict(
    dataset=dict(
        pipeline=_base_.train_dataloader.dataset.pipeline[:-1]
        + [_depth, dict(type='PackAUInputs')]
    )
)
val_dataloader = dict(
    dataset=dict(
        pipeline=_base_.val_dataloader.dataset.pipeline[:-1]
        + [_depth, dict(type='PackAUInputs')]
    )
)
test_dataloader = val_dataloader
