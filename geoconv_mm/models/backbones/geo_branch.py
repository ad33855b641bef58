"""The shallow GeoConv branch of GeoCNN (Sec. 3.4, Fig. 3)."""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS


@MODELS.register_module()
class GeoBranch(BaseModule):
    """Five 3x3 convolution layers, each followed by norm, ReLU and 2x2 max
    pooling.

    Fig. 3 of the paper, which gives the layer sizes, is not available; the
    text says the branch is "composed of" five GeoConv layers, shallower than
    VGG-19, with pooling between them (GeoConv works best "in lower layers", as
    structure "may be reduced in the previous pooling layers"). Our choice,
    documented here and in the README:

    =====  =========  ========  ===============  ===========================
    layer  in stride  channels  output (224 in)  GeoSpec key (3x3, s1, p1)
    =====  =========  ========  ===============  ===========================
    1      1          32        32 x 112 x 112   ``S1_k3x3_s1x1_p1x1_d1x1``
    2      2          64        64 x 56 x 56     ``S2_k3x3_s1x1_p1x1_d1x1``
    3      4          128       128 x 28 x 28    ``S4_k3x3_s1x1_p1x1_d1x1``
    4      8          256       256 x 14 x 14    ``S8_k3x3_s1x1_p1x1_d1x1``
    5      16         512       512 x 7 x 7      ``S16_k3x3_s1x1_p1x1_d1x1``
    =====  =========  ========  ===============  ===========================

    The output (total stride 32) matches VGG-19's last stage, so the two can be
    concatenated. The layers see the input strides of VGG-19's five stages, so
    Geo-19 and GeoCNN need the same five GeoSpecs. The branch costs about 5% of
    VGG-19's multiply-adds at 224 x 224.

    Args:
        in_channels (int): Input channels (3 for RGB, 1 for a depth map).
        channels (Sequence[int]): Output channels of the five layers.
        geo_pattern (Sequence[int]): Per layer, 1 for GeoConv and 0 for a
            regular ``nn.Conv2d``: ``(1, 1, 1, 1, 1)`` is GeoCNN = G(11111),
            ``(0, 0, 0, 0, 0)`` is G(00000), and so on (Table 3). Also accepts
            a string like ``'10000'``.
        geo_conv_cfg (dict): Conv config of the GeoConv layers.
        norm_cfg (dict, optional): Norm after each conv (the branch is trained
            from scratch, so BN by default).
        act_cfg (dict): Activation after each conv.
        init_cfg (dict | list, optional): Initialisation config.
    """

    def __init__(
        self,
        in_channels: int = 3,
        channels: Sequence[int] = (32, 64, 128, 256, 512),
        geo_pattern: Sequence[int] | str = (1, 1, 1, 1, 1),
        geo_conv_cfg: dict = dict(type='GeoConv'),
        norm_cfg: Optional[dict] = dict(type='BN'),
        act_cfg: dict = dict(type='ReLU'),
        init_cfg: Optional[dict | list] = [
            dict(type='Kaiming', layer=['Conv2d']),
            dict(type='Constant', val=1.0, layer=['_BatchNorm']),
        ],
    ):
        super().__init__(init_cfg=init_cfg)
        pattern = (
            [int(c) for c in geo_pattern]
            if isinstance(geo_pattern, str)
            else [int(c) for c in geo_pattern]
        )
        if len(pattern) != len(channels) or any(
            c not in (0, 1) for c in pattern
        ):
            raise ValueError(
                f'geo_pattern must give 0 or 1 for each of the '
                f'{len(channels)} layers, got {geo_pattern!r}'
            )
        self.geo_pattern = tuple(pattern)
        layers = []
        for flag, out_channels in zip(pattern, channels):
            layers.append(
                ConvModule(
                    in_channels,
                    out_channels,
                    kernel_size=3,
                    padding=1,
                    conv_cfg=geo_conv_cfg if flag else None,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg,
                )
            )
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            in_channels = out_channels
        self.layers = nn.Sequential(*layers)
        self.out_channels = channels[-1]

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        return (self.layers(x),)
