"""MMPretrain's VGG with a configurable number of input channels
(RGBD ablation).
"""

from __future__ import annotations

from mmcv.cnn import build_conv_layer
from mmpretrain.models.backbones import VGG
from mmpretrain.registry import MODELS


@MODELS.register_module()
class MultiChannelVGG(VGG):
    """:class:`mmpretrain.models.VGG` whose first convolution takes
    ``in_channels``.

    MMPretrain's VGG hard-codes 3 input channels; the RGBD ablation (Table 5)
    feeds RGB + depth. With ``in_channels=3`` this is exactly MMPretrain's VGG
    (same parameter names, so ImageNet checkpoints load). With another value,
    an ImageNet checkpoint loads every layer but the first conv, whose shape
    differs: MMEngine skips it with a warning and it keeps its random
    initialisation.

    Args:
        in_channels (int): Channels of the input image.
        **kwargs: Passed to :class:`mmpretrain.models.VGG`.
    """

    def __init__(self, in_channels: int = 3, **kwargs):
        super().__init__(**kwargs)
        if in_channels != 3:
            first = self.features[0]
            old = first.conv
            first.conv = build_conv_layer(
                kwargs.get('conv_cfg'),
                in_channels,
                old.out_channels,
                kernel_size=old.kernel_size,
                stride=old.stride,
                padding=old.padding,
                dilation=old.dilation,
                bias=old.bias is not None,
            )
            first.in_channels = in_channels
