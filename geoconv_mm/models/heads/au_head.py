"""Multi-label AU head: a fully connected classifier with one sigmoid per
AU.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample


@MODELS.register_module()
class AUHead(BaseModule):
    """Fully connected AU classifier (the last block of GeoCNN, Sec. 3.4).

    Dropout then one linear layer from the fused feature to one logit per AU;
    the sigmoid of each logit is the AU's occurrence probability.

    Args:
        num_aus (int): Number of AUs (12 for BP4D, 8 for DISFA).
        in_channels (int): Width of the fused feature (the neck's
            ``out_channels``).
        dropout (float): Dropout before the linear layer (0 disables it).
        threshold (float): Probability at which an AU counts as present in
            ``pred_label``.
        loss (dict): Config of the loss; called as
            ``loss(logits, gt_au, au_mask)``.
        init_cfg (dict | list, optional): Initialisation config.
    """

    #: What :meth:`predict` sets: occurrence (``pred_score``,
    #: ``pred_label``), no intensity (``pred_intensity``).
    predicts_occurrence = True
    predicts_intensity = False

    def __init__(
        self,
        num_aus: int,
        in_channels: int,
        dropout: float = 0.5,
        threshold: float = 0.5,
        loss: dict = dict(type='AUBalancedBCELoss'),
        init_cfg: Optional[dict] = dict(
            type='Normal', layer='Linear', std=0.01
        ),
    ):
        super().__init__(init_cfg=init_cfg)
        if num_aus < 1:
            raise ValueError(f'num_aus must be >= 1, got {num_aus}')
        self.num_aus = num_aus
        self.threshold = threshold
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(in_channels, num_aus)
        self.loss_module = (
            loss if isinstance(loss, nn.Module) else MODELS.build(loss)
        )

    def pre_logits(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """The fused feature (the last item of ``feats``), (N, in_channels)."""
        return feats[-1]

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Logits (N, num_aus)."""
        return self.fc(self.dropout(self.pre_logits(feats)))

    @staticmethod
    def _targets(
        data_samples: List[DataSample], num_aus: int, device: torch.device
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        gts, masks = [], []
        for i, sample in enumerate(data_samples):
            if 'gt_au' not in sample:
                raise KeyError(
                    f'data sample {i} has no gt_au; pack the batch with '
                    'PackAUInputs'
                )
            gt = torch.as_tensor(sample.gt_au).flatten()
            mask = (
                torch.as_tensor(sample.au_mask).flatten().bool()
                if 'au_mask' in sample
                else torch.ones_like(gt, dtype=torch.bool)
            )
            if gt.numel() != num_aus or mask.numel() != num_aus:
                raise ValueError(
                    f'data sample {i} has {gt.numel()} AU labels, the head '
                    f'predicts {num_aus}'
                )
            gts.append(gt)
            masks.append(mask)
        return (
            torch.stack(gts).to(device, torch.float32),
            torch.stack(masks).to(device),
        )

    def loss(
        self,
        feats: Sequence[torch.Tensor],
        data_samples: List[DataSample],
        **kwargs,
    ) -> dict:
        """Loss of a batch: ``dict(loss=...)``."""
        logits = self(feats)
        gt, mask = self._targets(data_samples, self.num_aus, logits.device)
        return dict(loss=self.loss_module(logits, gt, mask))

    def predict(
        self,
        feats: Sequence[torch.Tensor],
        data_samples: Optional[List[Optional[DataSample]]] = None,
    ) -> List[DataSample]:
        """Set ``pred_score`` (sigmoid probabilities) and ``pred_label``
        (indices of the AUs at or above ``threshold``) on each data sample."""
        scores = torch.sigmoid(self(feats)).detach()
        if data_samples is None:
            data_samples = [None] * scores.shape[0]
        out = []
        for score, sample in zip(scores, data_samples):
            sample = sample if sample is not None else DataSample()
            sample.set_pred_score(score)
            sample.set_pred_label(
                torch.nonzero(score >= self.threshold).flatten()
            )
            out.append(sample)
        return out
