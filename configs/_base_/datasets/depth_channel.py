# The rendered depth map as a 4th input channel (Table 5's RGBD inputs), for
# configs on the 224 x 224 face crops: listed beside a model config as a second
# base, it gives the normalisation and the pipeline tail those configs share.
# Depth of render_depth: z above the mesh's lowest point in crop pixels (about
# 0-100 at 224 x 224), 0 off the face; scaled to roughly unit range.
depth_mean, depth_std = 32.0, 32.0
# ImageNet statistics (RGB) for the colour channels, as in models/geocnn.py.
_rgbd_preprocessor = dict(
    mean=[123.675, 116.28, 103.53, depth_mean],
    std=[58.395, 57.12, 57.375, depth_std],
)
# Replaces a pipeline's final PackAUInputs: the depth goes after the
# photometric transforms (they need the 3-channel uint8 image).
_depth_tail = [
    dict(type='RenderDepth', mode='channel'),
    dict(type='PackAUInputs'),
]
