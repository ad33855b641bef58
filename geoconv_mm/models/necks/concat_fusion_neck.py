"""Fusion of GeoCNN's branches: concatenation, then further layers
(Sec. 3.4).
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS


@MODELS.register_module()
class ConcatFusionNeck(BaseModule):
    """Concatenate branch features along channels, integrate, and pool.

    The paper: "the features extracted by two branches are then concatenated
    and integrated in the following layers". Our choice: ``num_convs`` 3x3
    conv + ReLU layers (1024 -> 512 channels for GeoCNN at 7 x 7) and global
    average pooling to an (N, out_channels) vector. With a single input
    (VGG-19 alone) the same layers run on that feature, so the baselines
    differ from GeoCNN only in the second branch.

    Args:
        in_channels (Sequence[int]): Channels of each input feature, in order.
        out_channels (int): Channels of the integration layers and of the
            output.
        num_convs (int): Number of integration conv layers (0: concatenate and
            pool).
        norm_cfg (dict, optional): Norm of the integration layers.
        act_cfg (dict): Activation of the integration layers.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int = 512,
        num_convs: int = 1,
        norm_cfg: Optional[dict] = None,
        act_cfg: dict = dict(type='ReLU'),
        init_cfg: Optional[dict] = dict(type='Kaiming', layer='Conv2d'),
    ):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = tuple(int(c) for c in in_channels)
        channels = sum(self.in_channels)
        convs = []
        for _ in range(num_convs):
            convs.append(
                ConvModule(
                    channels,
                    out_channels,
                    3,
                    padding=1,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg,
                )
            )
            channels = out_channels
        self.convs = nn.Sequential(*convs)
        self.out_channels = channels
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, inputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor]:
        got = tuple(int(x.shape[1]) for x in inputs)
        if got != self.in_channels:
            raise ValueError(
                f'ConcatFusionNeck expects inputs with channels '
                f'{self.in_channels}, got {got}'
            )
        x = self.convs(torch.cat(tuple(inputs), dim=1))
        return (self.pool(x).flatten(1),)
