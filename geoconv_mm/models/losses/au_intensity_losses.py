"""Losses of AU intensity estimation (0-5), over known labels only."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS


def _check(
    pred: torch.Tensor, target: torch.Tensor, mask: Optional[torch.Tensor]
) -> torch.Tensor:
    """The mask as the prediction's dtype (all ones when None), after
    checking the shapes: ``target`` and ``mask`` are (N, A), ``pred`` (N, A)
    or (N, A, K)."""
    if target.dim() != 2 or tuple(pred.shape[:2]) != tuple(target.shape):
        raise ValueError(
            f'predictions {tuple(pred.shape)} and targets '
            f'{tuple(target.shape)} must both start with (N, A)'
        )
    if mask is None:
        return torch.ones_like(target, dtype=pred.dtype)
    if mask.shape != target.shape:
        raise ValueError(
            f'mask {tuple(mask.shape)} must match targets '
            f'{tuple(target.shape)}'
        )
    return mask.to(pred.dtype)


def _mean_over_known(terms: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    # A batch without one known label gives 0 (and zero gradients), not NaN.
    return (terms * known).sum() / known.sum().clamp(min=1.0)


@MODELS.register_module()
class AUIntensityMSELoss(nn.Module):
    """Mean squared error of intensity estimates, averaged over the known
    (frame, AU) labels of the batch.

    ``l = sum_{n,i} m_ni (x_ni - y_ni)^2 / sum_{n,i} m_ni`` with estimates
    ``x``, intensities ``y`` (0-5) and validity mask ``m``. A label whose
    mask is False (not coded) contributes nothing, to the value and to the
    gradient, whatever its target holds.

    Args:
        loss_weight (float): Factor of the loss.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(
        self,
        pred: torch.Tensor,
        target: torch.Tensor,
        mask: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): (N, A) estimates.
            target (Tensor): (N, A) intensities.
            mask (Tensor, optional): (N, A) bool, False where not coded.

        Returns:
            Tensor: the scalar loss.
        """
        known = _check(pred, target, mask)
        if pred.shape != target.shape:
            raise ValueError(
                f'estimates {tuple(pred.shape)} must be (N, A) like the '
                f'targets {tuple(target.shape)}'
            )
        # where() rather than a product: a non-finite target of an unknown
        # label must not reach the value or the gradient.
        diff = torch.where(known > 0, pred - target.to(pred.dtype), 0.0)
        return self.loss_weight * _mean_over_known(diff.square(), known)


@MODELS.register_module()
class AUOrdinalLoss(nn.Module):
    """Binary cross-entropy of ordinal thresholds (CORAL, Cao et al., 2020),
    averaged over the known (frame, AU) labels of the batch.

    An intensity ``y`` in 0..K is coded as K binary labels ``[y > k]``, k =
    0..K-1; the loss of one label is the mean over its K thresholds of the
    cross-entropy between ``sigmoid(z_k)`` and ``[y > k]``. Labels whose mask
    is False contribute nothing.

    Args:
        loss_weight (float): Factor of the loss.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        mask: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Compute the loss.

        Args:
            logits (Tensor): (N, A, K) threshold logits.
            target (Tensor): (N, A) intensities in 0..K.
            mask (Tensor, optional): (N, A) bool, False where not coded.

        Returns:
            Tensor: the scalar loss.
        """
        known = _check(logits, target, mask)
        if logits.dim() != 3:
            raise ValueError(f'logits {tuple(logits.shape)} must be (N, A, K)')
        levels = torch.arange(logits.shape[2], device=logits.device)
        above = (target[..., None] > levels).to(logits.dtype)
        bce = F.binary_cross_entropy_with_logits(
            logits, above, reduction='none'
        ).mean(2)
        bce = torch.where(known > 0, bce, 0.0)
        return self.loss_weight * _mean_over_known(bce, known)
