"""Uncertainty of AU F1 comparisons: paired cluster bootstrap and p-value
correction.

The unit of resampling is the *test subject* (frames of one subject are not
independent) crossed with the *training seed* (a run is one draw of the
training noise). F1 is not a mean over frames, so a replicate recomputes each
AU's F1 from the summed confusion counts of the resampled subjects, exactly as
:func:`geoconv_mm.evaluation.metrics.au_f1_scores` computes it on a full test
set.

Paired: both arms of a comparison use the *same* resampled seeds and subjects
in a replicate, so subject difficulty and data-seed luck cancel in the
difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

#: Order of the last axis of a counts array.
COUNT_FIELDS = ('tp', 'fp', 'fn', 'tn')


def subject_counts(
    scores: np.ndarray,
    gt: np.ndarray,
    mask: Optional[np.ndarray],
    subjects: Sequence[str],
    threshold: float = 0.5,
) -> Tuple[List[str], np.ndarray]:
    """Per-subject, per-AU confusion counts of thresholded scores.

    Args:
        scores (np.ndarray): (N, A) probabilities.
        gt (np.ndarray): (N, A) labels in {0, 1}.
        mask (np.ndarray, optional): (N, A) bool, False where a label is
            unknown.
        subjects (Sequence[str]): (N,) subject of each frame.
        threshold (float): A score ``>= threshold`` predicts the AU present.

    Returns:
        tuple: sorted subject ids and int64 (S, A, 4) counts (tp, fp, fn, tn).
    """
    scores = np.asarray(scores, np.float64)
    gt = np.asarray(gt)
    if scores.ndim != 2 or gt.shape != scores.shape:
        raise ValueError(
            f'scores {scores.shape} and labels {gt.shape} must both be (N, A)'
        )
    subjects = np.asarray(subjects)
    if subjects.shape != (len(scores),):
        raise ValueError(
            f'{subjects.shape[0] if subjects.ndim else 0} subject ids for '
            f'{len(scores)} frames'
        )
    mask = np.ones(gt.shape, bool) if mask is None else np.asarray(mask, bool)
    pred = scores >= threshold
    pos = gt > 0.5
    cells = np.stack([pred & pos, pred & ~pos, ~pred & pos, ~pred & ~pos], -1)
    cells &= mask[..., None]
    ids = sorted(set(subjects.tolist()))
    out = np.stack([cells[subjects == s].sum(0) for s in ids]).astype(np.int64)
    return ids, out


def f1_from_counts(counts: np.ndarray) -> np.ndarray:
    """F1 (%) per AU from (..., A, 4) counts: 2tp / (2tp + fp + fn).

    0 where the denominator is 0 (no positives predicted or present), NaN where
    the AU has no known label at all, as :func:`au_f1_scores`.
    """
    counts = np.asarray(counts, np.float64)
    tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
    den = 2 * tp + fp + fn
    f1 = np.divide(200 * tp, den, out=np.zeros(den.shape), where=den > 0)
    f1[counts.sum(-1) == 0] = np.nan
    return f1


@dataclass
class PairedStratum:
    """One fold's paired runs: the same seeds, the same test subjects, two
    arms.

    Args:
        counts_a (np.ndarray): (R, S, A, 4) counts of arm A (R runs = seeds).
        counts_b (np.ndarray): (R, S, A, 4) counts of arm B, run r paired with
            A's r.
    """

    counts_a: np.ndarray
    counts_b: np.ndarray

    def __post_init__(self) -> None:
        self.counts_a = np.asarray(self.counts_a, np.float64)
        self.counts_b = np.asarray(self.counts_b, np.float64)
        if (
            self.counts_a.shape != self.counts_b.shape
            or self.counts_a.ndim != 4
        ):
            raise ValueError(
                f'paired counts must have one (R, S, A, 4) shape, got '
                f'{self.counts_a.shape} and {self.counts_b.shape}'
            )


def _replicate_f1(
    counts: np.ndarray, seed_idx: np.ndarray, subject_w: np.ndarray
) -> np.ndarray:
    """(B, A) F1 averaged over the resampled runs of one stratum.

    counts (R, S, A, 4); seed_idx (B, R) resampled run indices; subject_w
    (B, S) multiplicities of the resampled subjects.
    """
    picked = counts[seed_idx]  # (B, R, S, A, 4)
    pooled = np.einsum('brsaf,bs->braf', picked, subject_w)
    return f1_from_counts(pooled).mean(1)


def paired_bootstrap(
    strata: Sequence[PairedStratum], num_boot: int = 10000, seed: int = 0
) -> Dict[str, np.ndarray]:
    """Bootstrap of F1(A) - F1(B) over test subjects and seeds, within each
    fold.

    Each replicate draws, per stratum (fold), R runs with replacement (the same
    run indices for both arms) and S subjects with replacement (the same for
    both arms), computes each arm's per-AU F1 per drawn run from the pooled
    counts, averages over the drawn runs, then over strata. The point estimate
    is the same statistic on the data as observed: the mean over runs of each
    run's full-test-set F1.

    Args:
        strata (Sequence[PairedStratum]): One per fold.
        num_boot (int): Replicates.
        seed (int): Seed of the resampling.

    Returns:
        dict: ``diff_au`` (A,) and ``diff_mean`` () observed differences (F1
        points; the mean over AUs skips NaN AUs), ``boot_au`` (B, A) and
        ``boot_mean`` (B,) replicates, ``a_au``/``b_au`` (A,) each arm's
        observed F1.
    """
    if not strata:
        raise ValueError('paired_bootstrap needs at least one stratum')
    rng = np.random.default_rng(seed)
    boot_a, boot_b, obs_a, obs_b = [], [], [], []
    for st in strata:
        r, s = st.counts_a.shape[:2]
        seed_idx = rng.integers(0, r, (num_boot, r))
        subject_w = rng.multinomial(s, np.full(s, 1.0 / s), num_boot).astype(
            np.float64
        )
        boot_a.append(_replicate_f1(st.counts_a, seed_idx, subject_w))
        boot_b.append(_replicate_f1(st.counts_b, seed_idx, subject_w))
        obs_a.append(f1_from_counts(st.counts_a.sum(1)).mean(0))
        obs_b.append(f1_from_counts(st.counts_b.sum(1)).mean(0))
    a_au, b_au = np.mean(obs_a, 0), np.mean(obs_b, 0)
    boot_au = np.mean(boot_a, 0) - np.mean(boot_b, 0)
    with np.errstate(invalid='ignore'):
        # Replicates where a rare AU has no resampled label count as missing
        # for it.
        boot_mean = np.nanmean(np.mean(boot_a, 0), 1) - np.nanmean(
            np.mean(boot_b, 0), 1
        )
    return dict(
        diff_au=a_au - b_au,
        diff_mean=np.nanmean(a_au) - np.nanmean(b_au),
        boot_au=boot_au,
        boot_mean=boot_mean,
        a_au=a_au,
        b_au=b_au,
    )


def single_arm_bootstrap(
    strata_counts: Sequence[np.ndarray], num_boot: int = 10000, seed: int = 0
) -> Dict[str, np.ndarray]:
    """The same resampling for one arm: its mean F1 and replicates.

    Args:
        strata_counts (Sequence[np.ndarray]): Per fold, (R, S, A, 4) counts.

    Returns:
        dict: ``mean`` () observed mean F1 over AUs and ``boot_mean`` (B,).
    """
    rng = np.random.default_rng(seed)
    boots = []
    for c in strata_counts:
        c = np.asarray(c, np.float64)
        r, s = c.shape[:2]
        seed_idx = rng.integers(0, r, (num_boot, r))
        subject_w = rng.multinomial(s, np.full(s, 1.0 / s), num_boot).astype(
            np.float64
        )
        boots.append(_replicate_f1(c, seed_idx, subject_w))
    observed = np.mean(
        [
            f1_from_counts(np.asarray(c, np.float64).sum(1)).mean(0)
            for c in strata_counts
        ],
        0,
    )
    with np.errstate(invalid='ignore'):
        boot_mean = np.nanmean(np.mean(boots, 0), 1)
    return dict(mean=float(np.nanmean(observed)), boot_mean=boot_mean)


def percentile_interval(
    replicates: np.ndarray, level: float = 0.95
) -> np.ndarray:
    """Percentile bootstrap interval along axis 0: (2, ...) lower and upper
    ends.
    """
    alpha = (1.0 - level) / 2.0
    return np.nanquantile(
        np.asarray(replicates, np.float64), [alpha, 1.0 - alpha], axis=0
    )


def bootstrap_p_value(replicates: np.ndarray) -> np.ndarray:
    """Two-sided bootstrap p-value of "no difference" along axis 0.

    ``2 * min(P*(d <= 0), P*(d >= 0))`` with the ``(1 + count) / (1 + B)``
    correction, so it is never 0: the smallest level at which the percentile
    interval excludes 0.
    """
    d = np.asarray(replicates, np.float64)
    valid = ~np.isnan(d)
    b = valid.sum(0)
    low = ((d <= 0) & valid).sum(0)
    high = ((d >= 0) & valid).sum(0)
    return np.minimum(1.0, 2.0 * (1.0 + np.minimum(low, high)) / (1.0 + b))


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control)."""
    p = np.asarray(p_values, np.float64)
    n = len(p)
    order = np.argsort(p, kind='stable')
    adj = np.maximum.accumulate((n - np.arange(n)) * p[order])
    out = np.empty(n)
    out[order] = np.minimum(adj, 1.0)
    return out


def benjamini_hochberg(p_values: Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate control)."""
    p = np.asarray(p_values, np.float64)
    n = len(p)
    order = np.argsort(p, kind='stable')
    scaled = p[order] * n / np.arange(1, n + 1)
    adj = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(adj, 1.0)
    return out
