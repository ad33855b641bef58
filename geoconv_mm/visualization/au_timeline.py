"""AU probabilities over time: one row per AU with frames without a face
shaded, or one panel per face id."""

from __future__ import annotations

import os
from typing import Dict, Sequence

import numpy as np


def plot_au_timeline(
    path: str,
    timestamps: Sequence[float],
    probabilities: np.ndarray,
    success: Sequence[bool],
    au_names: Sequence[str],
    threshold: float = 0.5,
) -> None:
    """Save a PNG of AU probabilities against time.

    Args:
        path (str): Output PNG.
        timestamps (Sequence[float]): (T,) seconds.
        probabilities (np.ndarray): (T, A), NaN where no face was found.
        success (Sequence[bool]): (T,) face found.
        au_names (Sequence[str]): A names.
        threshold (float): Drawn as a dashed line.
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    t = np.asarray(timestamps, float)
    probs = np.asarray(probabilities, float)
    n = len(au_names)
    fig, axes = plt.subplots(
        n, 1, figsize=(10, 0.55 * n + 1.2), sharex=True, squeeze=False
    )
    missing = ~np.asarray(success, bool)
    step = np.median(np.diff(t)) if len(t) > 1 else 1.0
    for i, (ax, name) in enumerate(zip(axes[:, 0], au_names)):
        ax.fill_between(
            t, 0, probs[:, i], step='mid', color='tab:blue', alpha=0.6, lw=0
        )
        ax.axhline(threshold, color='k', lw=0.6, ls='--')
        for ti in t[missing]:
            ax.axvspan(
                ti - step / 2, ti + step / 2, color='tab:red', alpha=0.25, lw=0
            )
        ax.set_ylim(0, 1)
        ax.set_yticks([])
        ax.set_ylabel(name, rotation=0, ha='right', va='center', fontsize=9)
        for side in ('top', 'right'):
            ax.spines[side].set_visible(False)
    axes[-1, 0].set_xlabel('time (s)  —  red: no face')
    fig.suptitle('AU occurrence probability', fontsize=11)
    fig.tight_layout()
    tmp = f'{path}.tmp{os.getpid()}.png'
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


def plot_au_timeline_faces(
    path: str,
    timestamps: Sequence[float],
    face_probabilities: Dict[int, np.ndarray],
    au_names: Sequence[str],
    threshold: float = 0.5,
) -> None:
    """Save a PNG with one panel per face id: AU probabilities (rows) against
    time (columns), grey where that face is not in the frame.

    Args:
        path (str): Output PNG.
        timestamps (Sequence[float]): (T,) seconds of every frame.
        face_probabilities (dict[int, np.ndarray]): ``face_id`` -> (T, A)
            probabilities, NaN in frames without that face.
        au_names (Sequence[str]): A names.
        threshold (float): Named in the colour bar (cells at or above it
            are detections).
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    if not face_probabilities:
        raise ValueError(f'{path}: no face in any frame, nothing to plot')
    t = np.asarray(timestamps, float)
    ids = sorted(face_probabilities)
    n, a = len(ids), len(au_names)
    step = np.median(np.diff(t)) if len(t) > 1 else 1.0
    fig, axes = plt.subplots(
        n,
        1,
        figsize=(10, n * (0.22 * a + 0.9) + 0.8),
        sharex=True,
        squeeze=False,
    )
    cmap = plt.get_cmap('viridis').with_extremes(bad='0.85')
    for ax, face_id in zip(axes[:, 0], ids):
        probs = np.asarray(face_probabilities[face_id], float)
        if probs.shape != (len(t), a):
            raise ValueError(
                f'face {face_id}: probabilities {probs.shape}, expected '
                f'{(len(t), a)}'
            )
        im = ax.imshow(
            np.ma.masked_invalid(probs.T),
            aspect='auto',
            interpolation='nearest',
            cmap=cmap,
            vmin=0,
            vmax=1,
            extent=(t[0] - step / 2, t[-1] + step / 2, a - 0.5, -0.5),
        )
        ax.set_yticks(range(a))
        ax.set_yticklabels(au_names, fontsize=7)
        ax.set_ylabel(f'face {face_id}', fontsize=9)
    axes[-1, 0].set_xlabel('time (s)  —  grey: face not in the frame')
    fig.colorbar(
        im,
        ax=axes[:, 0].tolist(),
        fraction=0.03,
        label=f'AU probability (detected >= {threshold:g})',
    )
    fig.suptitle('AU occurrence probability per face', fontsize=11)
    tmp = f'{path}.tmp{os.getpid()}.png'
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
