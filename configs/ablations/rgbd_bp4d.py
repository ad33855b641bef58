# Table 5 "RGBD": VGG-19 fed RGB + rendered depth (4 channels), regular conv
# only. The first conv's depth filter cannot come from ImageNet; it starts
# random (the other 3 input channels' filters too: MMEngine skips the whole
# mismatched tensor).
_base_ = './vgg19_bp4d.py'
# Depth of render_depth: z above the mesh's lowest point in crop pixels (about
# 0-100 at 224 x 224), 0 off the face; scaled to roughly unit range.
depth_mean, depth_std = 32.0, 32.0
model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53, depth_mean],
        std=[58.395, 57.12, 57.375, depth_std],
    ),
    backbone=dict(main_branch=dict(in_channels=4), main_channels=(0, 4)),
)
_depth = dict(type='RenderDepth', mode='channel')
# After the photometric transforms (they need the 3-channel uint8 image).
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
