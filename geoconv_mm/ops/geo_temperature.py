"""A per-layer temperature on Eq. 4's softmax (an extension; not in the paper).

Eq. 4 with a temperature ``tau``::

    g_k(tau) = (K - 1) * softmax_{k != c}( -r_k / tau ),   g_c = 1,

with ``r_k = D_geo / D_eu`` of tap k. ``tau = 1`` is the paper; ``tau > 1``
flattens the weights toward a plain convolution, ``tau < 1`` sharpens them. It
can be applied to the delivered weights without the ratios: per cell
``log g_k = const - r_k`` for every non-centre tap, and the constant cancels in
the softmax, so

    softmax_{k != c}( log(g_k) / tau ) == softmax_{k != c}( -r_k / tau ).

A tap with ``g_k == 0`` (ratio at the cap, underflowed) stays 0; a cell of
plain convolution (all weights 1) stays all ones.
"""

from __future__ import annotations

import torch


def apply_temperature(
    geo_weight: torch.Tensor, tau: torch.Tensor
) -> torch.Tensor:
    """Re-temper Eq. 4 weights.

    Args:
        geo_weight (Tensor): (N, K, H, W) weights of an odd kernel (centre tap
            ``K // 2``), as delivered (tau = 1).
        tau (Tensor): Positive scalar temperature (differentiable).

    Returns:
        Tensor: (N, K, H, W) weights at temperature ``tau``; differentiable in
        ``tau`` and ``geo_weight``.
    """
    k = geo_weight.shape[1]
    if k % 2 == 0 or k < 3:
        raise ValueError(
            f'apply_temperature needs an odd kernel with K >= 3 taps, got '
            f'K={k}'
        )
    c = k // 2
    others = torch.cat([geo_weight[:, :c], geo_weight[:, c + 1 :]], 1)
    # log(0) = -inf: such taps keep weight 0 at every temperature.
    logits = torch.log(others) / tau.to(others.dtype)
    tempered = (k - 1) * torch.softmax(logits, dim=1)
    return torch.cat(
        [tempered[:, :c], geo_weight[:, c : c + 1], tempered[:, c:]], 1
    )
