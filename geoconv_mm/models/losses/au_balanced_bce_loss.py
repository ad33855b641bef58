"""The balanced multi-label AU loss of the paper (Eq. 5-6)."""

from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

ArrayLike = Union[Sequence[int], np.ndarray, torch.Tensor]


def balanced_au_weights(
    num_known: ArrayLike, num_positive: ArrayLike
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 6: the per-AU weight ``w_i`` and positive weight ``p_i``.

    ``w_i = (n_i / npos_i) / sum_j (n_j / npos_j)`` and
    ``p_i = (n_i - npos_i) / npos_i``, with ``n_i`` the training frames whose
    label of AU ``i`` is known (the paper has one ``n``; with unknown labels,
    as in BP4D, the count is per AU).

    Args:
        num_known (array-like): (A,) frames with a known label, per AU.
        num_positive (array-like): (A,) frames labelled present, per AU.

    Returns:
        tuple[Tensor, Tensor]: float64 ``w`` (A,) and ``p`` (A,).

    Raises:
        ValueError: when the counts are inconsistent, or an AU has no positive
            or no known training frame (Eq. 6 divides by both).
    """
    n = torch.as_tensor(np.asarray(num_known), dtype=torch.float64).flatten()
    npos = torch.as_tensor(
        np.asarray(num_positive), dtype=torch.float64
    ).flatten()
    if n.shape != npos.shape or n.numel() == 0:
        raise ValueError(
            f'num_known {tuple(n.shape)} and num_positive '
            f'{tuple(npos.shape)} must be non-empty and of equal length'
        )
    if (npos < 0).any() or (npos > n).any():
        raise ValueError(
            f'need 0 <= num_positive <= num_known, got num_known='
            f'{n.tolist()} num_positive={npos.tolist()}'
        )
    bad = torch.nonzero(npos == 0).flatten().tolist()
    if bad:
        raise ValueError(
            f'AU index {bad} has no positive training frame, so Eq. 6 (n / '
            'npos) is undefined; drop that AU (au_ids) or use the unbalanced '
            'loss (use_balanced_weights=False)'
        )
    ratio = n / npos
    return ratio / ratio.sum(), (n - npos) / npos


@MODELS.register_module()
class AUBalancedBCELoss(nn.Module):
    """Balanced binary cross-entropy over AUs (Eq. 5-6), honouring unknown
    labels.

    For one sample with logits ``z``, labels ``y`` and validity mask ``m``::

        l = - sum_i m_i w_i [p_i y_i log(sigmoid(z_i))
                             + (1 - y_i) log(1 - sigmoid(z_i))]

    and the loss is the mean of ``l`` over the batch. Unknown labels
    (``m_i = 0``) contribute nothing. ``w`` and ``p`` come from the training
    split's statistics (:meth:`set_statistics`, called by
    :class:`AUStatisticsHook` before training, or given directly). With
    ``use_balanced_weights=False`` ("w/o BW" in Table 3) the weights are
    uniform, ``w_i = 1 / A`` and ``p_i = 1``: plain BCE averaged over AUs, on
    the same scale as the balanced loss (whose ``w`` also sums to 1), so that
    the ablation changes the balance and not the effective learning rate.

    Args:
        use_balanced_weights (bool): Use Eq. 6 (True) or uniform weights.
        num_known (array-like, optional): Statistics, see
            :func:`balanced_au_weights`.
        num_positive (array-like, optional): Statistics, see
            :func:`balanced_au_weights`.
        loss_weight (float): Factor of the loss.
    """

    def __init__(
        self,
        use_balanced_weights: bool = True,
        num_known: Optional[ArrayLike] = None,
        num_positive: Optional[ArrayLike] = None,
        loss_weight: float = 1.0,
    ):
        super().__init__()
        self.use_balanced_weights = use_balanced_weights
        self.loss_weight = loss_weight
        # Statistics are data, not learnt state: non-persistent, recomputed
        # from the training split at every (re)start, so checkpoints stay
        # model-only.
        self.register_buffer('au_weight', None, persistent=False)
        self.register_buffer('pos_weight', None, persistent=False)
        if (num_known is None) != (num_positive is None):
            raise ValueError(
                'give both num_known and num_positive, or neither'
            )
        if num_known is not None:
            self.set_statistics(num_known, num_positive)

    @property
    def requires_statistics(self) -> bool:
        """Whether :meth:`set_statistics` must run before the loss can be
        computed.
        """
        return self.use_balanced_weights

    @property
    def has_statistics(self) -> bool:
        return self.au_weight is not None

    def set_statistics(
        self, num_known: ArrayLike, num_positive: ArrayLike
    ) -> None:
        """Set ``w`` and ``p`` (Eq. 6) from per-AU counts of the training
        split.
        """
        w, p = balanced_au_weights(num_known, num_positive)
        device = next((b.device for b in self.buffers()), torch.device('cpu'))
        self.au_weight = w.to(device)
        self.pos_weight = p.to(device)

    def forward(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        mask: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Compute the loss.

        Args:
            logits (Tensor): (N, A) pre-sigmoid scores.
            target (Tensor): (N, A) labels in {0, 1}.
            mask (Tensor, optional): (N, A) bool, False where the label is
                unknown.

        Returns:
            Tensor: the scalar loss.
        """
        if logits.dim() != 2 or target.shape != logits.shape:
            raise ValueError(
                f'logits {tuple(logits.shape)} and target '
                f'{tuple(target.shape)} must both be (N, A)'
            )
        num_aus = logits.shape[1]
        target = target.to(logits.dtype)
        if self.use_balanced_weights:
            if not self.has_statistics:
                raise RuntimeError(
                    'AUBalancedBCELoss has no training statistics: add '
                    'dict(type=\'AUStatisticsHook\') to custom_hooks (the '
                    'default runtime does), pass num_known/num_positive, or '
                    'set use_balanced_weights=False'
                )
            if self.au_weight.numel() != num_aus:
                raise ValueError(
                    f'statistics are for {self.au_weight.numel()} AUs but '
                    f'the head predicts {num_aus}'
                )
            w = self.au_weight.to(logits)
            p = self.pos_weight.to(logits)
        else:
            w = logits.new_full((num_aus,), 1.0 / num_aus)
            p = logits.new_ones(num_aus)
        # log(sigmoid(z)) and log(1 - sigmoid(z)) = log(sigmoid(-z)), stable
        # for any z.
        term = p * target * F.logsigmoid(logits) + (1 - target) * F.logsigmoid(
            -logits
        )
        if mask is not None:
            if mask.shape != logits.shape:
                raise ValueError(
                    f'mask {tuple(mask.shape)} must match logits '
                    f'{tuple(logits.shape)}'
                )
            term = term * mask.to(logits.dtype)
        per_sample = -(w * term).sum(dim=1)
        return self.loss_weight * per_sample.mean()
