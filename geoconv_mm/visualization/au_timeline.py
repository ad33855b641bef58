"""AUs over time: one row per AU with frames without a face shaded, or one
panel per face id; occurrence probabilities, and the intensities (0-5) of a
model with an intensity head, side by side."""

from __future__ import annotations

import os
from typing import Dict, List, NamedTuple, Optional, Sequence

import numpy as np

from geoconv_mm.datasets.au_info import MAX_INTENSITY


class _Quantity(NamedTuple):
    """One column of panels: what it shows and how."""

    title: str
    values: object
    top: float  # the top of its scale (the bottom is 0)
    colour: str  # of the curves
    cmap: str  # of the per-face images
    threshold: Optional[float]  # a dashed line, for probabilities


def _quantities(probabilities, intensities, threshold) -> List[_Quantity]:
    """The quantities given, probabilities first."""
    out = []
    if probabilities is not None:
        out.append(
            _Quantity(
                'AU occurrence probability',
                probabilities,
                1.0,
                'tab:blue',
                'viridis',
                threshold,
            )
        )
    if intensities is not None:
        out.append(
            _Quantity(
                f'AU intensity (0-{MAX_INTENSITY})',
                intensities,
                float(MAX_INTENSITY),
                'tab:orange',
                'magma',
                None,
            )
        )
    if not out:
        raise ValueError('neither probabilities nor intensities to plot')
    return out


def _save(fig, path: str) -> None:
    import matplotlib.pyplot as plt

    tmp = f'{path}.tmp{os.getpid()}.png'
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


def au_timeline_figure(
    timestamps: Sequence[float],
    probabilities: Optional[np.ndarray],
    success: Sequence[bool],
    au_names: Sequence[str],
    threshold: Optional[float] = 0.5,
    intensities: Optional[np.ndarray] = None,
):
    """The figure of :func:`plot_au_timeline`: one row per AU, a column
    per quantity given (probability, then intensity); each panel's one
    line holds its values (NaN where no face was found).

    Raises:
        ValueError: No quantity given, or values that are not (T, A).
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    t = np.asarray(timestamps, float)
    n = len(au_names)
    columns = _quantities(probabilities, intensities, threshold)
    for q in columns:
        if np.shape(q.values) != (len(t), n):
            raise ValueError(
                f'{q.title}: values {np.shape(q.values)}, expected '
                f'{(len(t), n)}'
            )
    fig, axes = plt.subplots(
        n,
        len(columns),
        figsize=(10 if len(columns) == 1 else 14, 0.55 * n + 1.2),
        sharex=True,
        squeeze=False,
    )
    missing = ~np.asarray(success, bool)
    step = np.median(np.diff(t)) if len(t) > 1 else 1.0
    for c, q in enumerate(columns):
        values = np.asarray(q.values, float)
        for i, (ax, name) in enumerate(zip(axes[:, c], au_names)):
            ax.plot(t, values[:, i], drawstyle='steps-mid', color=q.colour)
            ax.fill_between(
                t, 0, values[:, i], step='mid', color=q.colour, alpha=0.5, lw=0
            )
            if q.threshold is not None:
                ax.axhline(q.threshold, color='k', lw=0.6, ls='--')
            for ti in t[missing]:
                ax.axvspan(
                    ti - step / 2,
                    ti + step / 2,
                    color='tab:red',
                    alpha=0.25,
                    lw=0,
                )
            ax.set_ylim(0, q.top)
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(
                    name, rotation=0, ha='right', va='center', fontsize=9
                )
            for side in ('top', 'right'):
                ax.spines[side].set_visible(False)
        axes[0, c].set_title(q.title, fontsize=11)
        axes[-1, c].set_xlabel('time (s)  —  red: no face')
    fig.tight_layout()
    return fig


def plot_au_timeline(
    path: str,
    timestamps: Sequence[float],
    probabilities: Optional[np.ndarray],
    success: Sequence[bool],
    au_names: Sequence[str],
    threshold: Optional[float] = 0.5,
    intensities: Optional[np.ndarray] = None,
) -> None:
    """Save a PNG of AU probabilities and intensities against time.

    Args:
        path (str): Output PNG.
        timestamps (Sequence[float]): (T,) seconds.
        probabilities (np.ndarray | None): (T, A), NaN where no face was
            found; None for a model without an occurrence output.
        success (Sequence[bool]): (T,) face found.
        au_names (Sequence[str]): A names.
        threshold (float | None): Drawn as a dashed line on the
            probabilities.
        intensities (np.ndarray, optional): (T, A) intensities (0-5), NaN
            where no face was found: a second column of panels.
    """
    fig = au_timeline_figure(
        timestamps, probabilities, success, au_names, threshold, intensities
    )
    _save(fig, path)


def au_timeline_faces_figure(
    timestamps: Sequence[float],
    face_probabilities: Optional[Dict[int, np.ndarray]],
    au_names: Sequence[str],
    threshold: Optional[float] = 0.5,
    face_intensities: Optional[Dict[int, np.ndarray]] = None,
):
    """The figure of :func:`plot_au_timeline_faces`: one row of panels per
    face id, a column per quantity given; each panel's image holds its
    values, AUs by time.

    Raises:
        ValueError: No face, or a face without (T, A) values of a
            quantity.
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    columns = _quantities(face_probabilities, face_intensities, threshold)
    ids = sorted(set().union(*(q.values for q in columns)))
    if not ids:
        raise ValueError('no face in any frame, nothing to plot')
    t = np.asarray(timestamps, float)
    n, a = len(ids), len(au_names)
    for q in columns:
        for face_id in ids:
            shape = np.shape(q.values.get(face_id))
            if shape != (len(t), a):
                raise ValueError(
                    f'face {face_id}: {q.title} values {shape}, expected '
                    f'{(len(t), a)}'
                )
    step = np.median(np.diff(t)) if len(t) > 1 else 1.0
    fig, axes = plt.subplots(
        n,
        len(columns),
        figsize=(10 if len(columns) == 1 else 15, n * (0.22 * a + 0.9) + 0.8),
        sharex=True,
        squeeze=False,
    )
    for c, q in enumerate(columns):
        cmap = plt.get_cmap(q.cmap).with_extremes(bad='0.85')
        for ax, face_id in zip(axes[:, c], ids):
            im = ax.imshow(
                np.ma.masked_invalid(np.asarray(q.values[face_id], float).T),
                aspect='auto',
                interpolation='nearest',
                cmap=cmap,
                vmin=0,
                vmax=q.top,
                extent=(t[0] - step / 2, t[-1] + step / 2, a - 0.5, -0.5),
            )
            ax.set_yticks(range(a))
            ax.set_yticklabels(au_names, fontsize=7)
            if c == 0:
                ax.set_ylabel(f'face {face_id}', fontsize=9)
        axes[0, c].set_title(q.title + ' per face', fontsize=11)
        axes[-1, c].set_xlabel('time (s)  —  grey: face not in the frame')
        label = q.title.removeprefix('AU ')
        if q.threshold is not None:
            label += f' (detected >= {q.threshold:g})'
        fig.colorbar(im, ax=axes[:, c].tolist(), fraction=0.03, label=label)
    return fig


def plot_au_timeline_faces(
    path: str,
    timestamps: Sequence[float],
    face_probabilities: Optional[Dict[int, np.ndarray]],
    au_names: Sequence[str],
    threshold: Optional[float] = 0.5,
    face_intensities: Optional[Dict[int, np.ndarray]] = None,
) -> None:
    """Save a PNG with one panel per face id: AU probabilities (rows)
    against time (columns), grey where that face is not in the frame; and
    beside them the AU intensities, for a model with an intensity head.

    Args:
        path (str): Output PNG.
        timestamps (Sequence[float]): (T,) seconds of every frame.
        face_probabilities (dict[int, np.ndarray] | None): ``face_id`` ->
            (T, A) probabilities, NaN in frames without that face; None
            for a model without an occurrence output.
        au_names (Sequence[str]): A names.
        threshold (float | None): Named in the title (probabilities at or
            above it are detections).
        face_intensities (dict[int, np.ndarray], optional): ``face_id`` ->
            (T, A) intensities (0-5), NaN in frames without that face.
    """
    fig = au_timeline_faces_figure(
        timestamps, face_probabilities, au_names, threshold, face_intensities
    )
    _save(fig, path)
