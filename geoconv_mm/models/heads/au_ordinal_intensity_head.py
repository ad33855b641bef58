"""AU intensity head as ordinal classification (CORAL)."""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmpretrain.registry import MODELS

from .au_intensity_head import AUIntensityHead


@MODELS.register_module()
class AUOrdinalIntensityHead(AUIntensityHead):
    """AU intensity as K = 5 ordered binary decisions "intensity > k"
    (CORAL: Cao, Mirjalili and Raschka, *Rank consistent ordinal regression
    for neural networks*, Pattern Recognition Letters 2020).

    Each AU has one linear score ``g`` and K biases; threshold k's logit is
    ``g + b_k``, so the K decisions share the score and differ only by
    their bias, which keeps ``P(intensity > k)`` falling with k once the
    biases are ordered (they start ordered, -1, -2, ..., -K, and CORAL's
    loss keeps them so at its optimum). The intensity set as
    ``pred_intensity`` is the expectation ``sum_k sigmoid(g + b_k)``, in
    0-5. Loss: :class:`AUOrdinalLoss` over known labels.

    Args:
        num_aus (int): Number of AUs.
        in_channels (int): Width of the fused feature.
        dropout (float): Dropout before the linear layer (0 disables it).
        loss (dict): Config of the loss, called as
            ``loss(logits, target, known)`` with (N, A, K) logits.
        init_cfg (dict | list, optional): Initialisation config.
    """

    def __init__(
        self,
        num_aus: int,
        in_channels: int,
        dropout: float = 0.5,
        loss: dict = dict(type='AUOrdinalLoss'),
        init_cfg: Optional[dict] = dict(
            type='Normal', layer='Linear', std=0.01
        ),
    ):
        super().__init__(num_aus, in_channels, dropout, loss, init_cfg)
        levels = torch.arange(1, self.max_intensity + 1, dtype=torch.float32)
        self.threshold_bias = nn.Parameter(-levels.repeat(num_aus, 1))

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Threshold logits (N, num_aus, K)."""
        return super().forward(feats)[..., None] + self.threshold_bias

    def intensities(self, outputs: torch.Tensor) -> torch.Tensor:
        """Expected intensities (N, num_aus) from threshold logits."""
        return torch.sigmoid(outputs).sum(-1)
