# Table 5 "RGBDTB": GeoCNN's two-branch layout with regular conv only; the
# VGG-19 branch sees RGB, the five-layer branch sees the rendered depth map
# (channel 3).
_base_ = ['./geocnn-g00000_bp4d.py', '../_base_/datasets/depth_channel.py']
model = dict(
    data_preprocessor=_base_._rgbd_preprocessor,
    backbone=dict(aux_branch=dict(in_channels=1), aux_channels=(3, 4)),
)
train_dataloader = dict(
    dataset=dict(pipeline=_base_.train_pipeline[:-1] + _base_._depth_tail)
)
val_dataloader = dict(
    dataset=dict(pipeline=_base_.test_pipeline[:-1] + _base_._depth_tail)
)
test_dataloader = val_dataloader
