# Table 5 "RGBD": VGG-19 fed RGB + rendered depth (4 channels), regular conv
# only. The first conv's depth filter cannot come from ImageNet; it starts
# random (the other 3 input channels' filters too: MMEngine skips the whole
# mismatched tensor).
_base_ = ['./vgg19_bp4d.py', '../_base_/datasets/depth_channel.py']
model = dict(
    data_preprocessor=_base_._rgbd_preprocessor,
    backbone=dict(main_branch=dict(in_channels=4), main_channels=(0, 4)),
)
train_dataloader = dict(
    dataset=dict(pipeline=_base_.train_pipeline[:-1] + _base_._depth_tail)
)
val_dataloader = dict(
    dataset=dict(pipeline=_base_.test_pipeline[:-1] + _base_._depth_tail)
)
test_dataloader = val_dataloader
