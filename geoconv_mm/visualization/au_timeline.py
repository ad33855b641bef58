"""AU probabilities over time, one row per AU, frames without a face shaded."""

from __future__ import annotations

import os
from typing import Sequence

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
