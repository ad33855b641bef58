# Diagnostic for the SynthAU experiment (not a paper model): the G(00000)
# network fed RGB plus the mesh's depth map as a 4th input channel (the paper's
# RGBD input, Table 5). It tells whether the network can use the 3D information
# when it is given directly, as opposed to through GeoConv's geodesic weights.
_base_ = './geocnn-g00000_synthau_demo.py'
channels = (16, 32, 64, 96, 128)
model = dict(
    data_preprocessor=dict(
        mean=[127.5, 127.5, 127.5, 10.0], std=[64.0, 64.0, 64.0, 10.0]
    ),
    backbone=dict(
        main_channels=(0, 4),
        aux_channels=(0, 4),
        main_branch=dict(in_channels=4),
        aux_branch=dict(in_channels=4),
    ),
)
_depth = dict(type='RenderDepth', mode='channel')
train_dataloader = dict(
    dataset=dict(
        pipeline=_base_.train_pipeline[:-1]
        + [_depth, dict(type='PackAUInputs')]
    )
)
val_dataloader = dict(
    dataset=dict(
        pipeline=_base_.test_pipeline[:-1]
        + [_depth, dict(type='PackAUInputs')]
    )
)
test_dataloader = val_dataloader
