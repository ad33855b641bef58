"""Geodesic weights of a horizontally flipped image."""

from __future__ import annotations

import numpy as np


def flip_geodesic_weights(weights: np.ndarray, kernel_size) -> np.ndarray:
    """Weights of the horizontally flipped image from those of the original.

    Mirrors every map (x -> W_out - 1 - x) and swaps taps (i, j) <->
    (i, Kw - 1 - j).

    Args:
        weights (np.ndarray): (..., Kh*Kw, H_out, W_out).
        kernel_size (int | tuple): (Kh, Kw).
    """
    kh, kw = (
        (kernel_size, kernel_size)
        if isinstance(kernel_size, int)
        else kernel_size
    )
    w = np.asarray(weights)
    if w.shape[-3] != kh * kw:
        raise ValueError(
            f'weights have {w.shape[-3]} taps, kernel {kh}x{kw} needs '
            f'{kh * kw}'
        )
    shape = w.shape[:-3] + (kh, kw) + w.shape[-2:]
    return np.ascontiguousarray(
        w.reshape(shape)[..., :, ::-1, :, ::-1].reshape(w.shape)
    )
