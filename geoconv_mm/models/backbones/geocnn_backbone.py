"""GeoCNN's backbone: a deep main branch and an optional auxiliary branch
(Sec. 3.4).
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS


def _channel_range(value: Sequence[int], name: str) -> Tuple[int, int]:
    start, stop = (int(v) for v in value)
    if not 0 <= start < stop:
        raise ValueError(
            f'{name} must be a channel range (start, stop), got {value!r}'
        )
    return start, stop


@MODELS.register_module()
class GeoCNNBackbone(BaseModule):
    """Two-branch backbone: ``main_branch`` (VGG-19) and ``aux_branch``
    (GeoConv).

    Each branch sees a channel range of the input: both see RGB ``(0, 3)`` in
    GeoCNN; RGBDTB feeds the depth map, channel ``(3, 4)`` of an RGB-D input,
    to the auxiliary branch. Each branch's last output is returned, main first,
    for a fusion neck to concatenate. Without ``aux_branch`` this is a
    single-branch model (VGG-19, Geo-19, RGBD), which keeps parameter names
    (``backbone.main_branch.*``) and therefore the parameter-wise learning
    rates identical across all variants.

    Args:
        main_branch (dict): Config of the deep branch (e.g. ``MultiChannelVGG``
            depth 19).
        aux_branch (dict, optional): Config of the second branch
            (``GeoBranch``; a VGG-19 with ``conv_cfg=dict(type='GeoConv')`` for
            DeepTB).
        main_channels (Sequence[int]): Input channel range ``(start, stop)`` of
            the main branch.
        aux_channels (Sequence[int]): Input channel range of the auxiliary
            branch.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(
        self,
        main_branch: dict,
        aux_branch: Optional[dict] = None,
        main_channels: Sequence[int] = (0, 3),
        aux_channels: Sequence[int] = (0, 3),
        init_cfg: Optional[dict] = None,
    ):
        super().__init__(init_cfg=init_cfg)
        self.main_branch = MODELS.build(main_branch)
        self.aux_branch = (
            MODELS.build(aux_branch) if aux_branch is not None else None
        )
        self.main_channels = _channel_range(main_channels, 'main_channels')
        self.aux_channels = _channel_range(aux_channels, 'aux_channels')

    @staticmethod
    def _slice(
        x: torch.Tensor, channels: Tuple[int, int], name: str
    ) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] < channels[1]:
            raise ValueError(
                f'{name} takes input channels {channels[0]}..{channels[1] - 1}'
                f' but the input is {tuple(x.shape)}'
            )
        return x[:, channels[0] : channels[1]]

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        outs = [
            self.main_branch(
                self._slice(x, self.main_channels, 'main_branch')
            )[-1]
        ]
        if self.aux_branch is not None:
            aux = self.aux_branch(
                self._slice(x, self.aux_channels, 'aux_branch')
            )[-1]
            if aux.shape[-2:] != outs[0].shape[-2:]:
                raise ValueError(
                    'branch outputs differ in size: main '
                    f'{tuple(outs[0].shape)}, aux {tuple(aux.shape)}; both '
                    'branches must have the same total stride'
                )
            outs.append(aux)
        return tuple(outs)
