"""Intervals and tests for AU F1 comparisons that hold with few seeds.

A study trains each arm once per (seed, fold) and tests every run on its
fold's test subjects. A run's score is its mean F1 over AUs, computed from
the confusion counts pooled over the test frames (F1 is not a mean over
frames). Two sources of chance move that score:

- the training seed (initialisation, data order, augmentation);
- which subjects happen to be in the test set (frames of one subject are
  not independent, so the subject, not the frame, is the unit).

The seeds and the subjects are *crossed*: every seed's run is tested on the
same subjects. The interval of :func:`crossed_interval` treats both as random
samples. Within a fold, the jackknife over subjects turns each run's score
into per-subject pseudo-values, a seeds x subjects table whose mean is
linear; the variance of that mean comes from the two-way random-effects
analysis of variance of the table (seed, subject and residual mean squares),
with Satterthwaite's degrees of freedom and Student's t quantile. Folds are
strata: their means are averaged with equal weight and their variances
added. ``tools/analysis_tools/study_coverage.py`` shows by simulation
(:mod:`geoconv_mm.study.simulation`) that the 95% interval covers the true
difference 95% of the time with 5 seeds.

The per-AU test is an exact sign-flip (randomisation) test of the paired
per-run differences within folds (:func:`sign_flip_p_values`), with Holm's
correction over the AUs. With N pairs no p-value can fall below
:func:`smallest_p`, ``2 / 2**N``; with few pairs and many AUs no correction
can pass, and :func:`correction_can_pass` says so.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
from scipy import stats

#: Order of the last axis of a counts array.
COUNT_FIELDS = ('tp', 'fp', 'fn', 'tn')
#: Exact sign-flip enumeration up to this many pairs (2**N sign vectors);
#: more pairs use random sign vectors.
EXACT_FLIPS_MAX_PAIRS = 16
#: Random sign vectors of the sign-flip test beyond the exact range.
RANDOM_FLIPS = 20000


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


def _mean_over_aus(f1: np.ndarray) -> np.ndarray:
    """Mean over the last axis, skipping AUs without a known label."""
    with np.errstate(invalid='ignore'):
        return np.nanmean(f1, -1)


def run_scores(
    counts: np.ndarray, per_au: bool = False
) -> Tuple[np.ndarray, np.ndarray]:
    """Each run's score on the full test set and with each subject left out.

    Args:
        counts (np.ndarray): (R, S, A, 4) confusion counts of R runs on S
            test subjects.
        per_au (bool): Per-AU F1 instead of the mean F1 over AUs.

    Returns:
        tuple: ``full`` (R,) or (R, A) and ``left_out`` (R, S) or (R, S, A),
        in F1 points.
    """
    counts = np.asarray(counts, np.float64)
    total = counts.sum(1)
    full = f1_from_counts(total)
    left_out = f1_from_counts(total[:, None] - counts)
    if not per_au:
        full, left_out = _mean_over_aus(full), _mean_over_aus(left_out)
    return full, left_out


def pseudo_values(full: np.ndarray, left_out: np.ndarray) -> np.ndarray:
    """Jackknife pseudo-values over subjects: ``S f - (S - 1) f_(-j)``.

    Args:
        full (np.ndarray): (R, ...) scores on all S subjects.
        left_out (np.ndarray): (R, S, ...) scores without subject j.

    Returns:
        np.ndarray: (R, S, ...) pseudo-values; their mean over subjects is
        each run's jackknife estimate, and their spread carries the subject
        variance.
    """
    s = left_out.shape[1]
    return s * np.expand_dims(full, 1) - (s - 1) * left_out


@dataclass
class VarianceOfMean:
    """Estimated variance of a mean, with its degrees of freedom."""

    variance: np.ndarray
    df: np.ndarray


def crossed_variance(table: np.ndarray) -> VarianceOfMean:
    """Variance of the grand mean of a seeds x subjects table, both random.

    The two-way random-effects model ``y_rj = m + a_r + b_j + e_rj`` gives
    ``Var(mean) = s_a / R + s_b / S + s_e / (R S)``, estimated without bias by
    ``(MS_seed + MS_subject - MS_residual) / (R S)``. A component whose mean
    square falls below the residual one is taken as 0 (its mean square
    then drops out, with the residual's), so the estimate is never
    negative. Satterthwaite's approximation gives the degrees of freedom.

    Args:
        table (np.ndarray): (R, S, ...) values; trailing axes are independent
            tables (per AU).

    Returns:
        VarianceOfMean: variance and degrees of freedom, shape ``(...)``;
        NaN with fewer than 2 seeds or 2 subjects.
    """
    y = np.asarray(table, np.float64)
    r, s = y.shape[:2]
    if r < 2 or s < 2:
        nan = np.full(y.shape[2:], np.nan)
        return VarianceOfMean(nan, nan.copy())
    grand = y.mean((0, 1))
    row = y.mean(1)
    col = y.mean(0)
    ms_seed = s * ((row - grand) ** 2).sum(0) / (r - 1)
    ms_subj = r * ((col - grand) ** 2).sum(0) / (s - 1)
    resid = y - row[:, None] - col[None] + grand
    ms_res = (resid**2).sum((0, 1)) / ((r - 1) * (s - 1))
    df_seed, df_subj, df_res = r - 1, s - 1, (r - 1) * (s - 1)
    seed_on = ms_seed > ms_res
    subj_on = ms_subj > ms_res
    # Mean squares in the estimate, with their signs: both components on
    # gives MS_seed + MS_subject - MS_res; one on gives its MS alone (the
    # residual then enters only through it); none gives MS_res.
    terms = [
        (np.where(seed_on, ms_seed, 0.0), df_seed),
        (np.where(subj_on, ms_subj, 0.0), df_subj),
        (
            np.where(
                seed_on & subj_on,
                -ms_res,
                np.where(~seed_on & ~subj_on, ms_res, 0.0),
            ),
            df_res,
        ),
    ]
    total = sum(t for t, _ in terms)
    with np.errstate(invalid='ignore', divide='ignore'):
        df = total**2 / sum(t**2 / d for t, d in terms)
    # A table without any spread: its mean is known exactly.
    df = np.where(total == 0, np.inf, df)
    return VarianceOfMean(total / (r * s), df)


@dataclass
class Interval:
    """A point estimate with a t-based interval.

    Args:
        estimate (np.ndarray): The mean over folds of each fold's mean over
            runs.
        se (np.ndarray): Its standard error.
        df (np.ndarray): Satterthwaite's degrees of freedom.
        low (np.ndarray): Lower end.
        high (np.ndarray): Upper end.
        p (np.ndarray): Two-sided p-value of "the true value is 0".
    """

    estimate: np.ndarray
    se: np.ndarray
    df: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p: np.ndarray


def crossed_interval(
    strata: Sequence[Tuple[np.ndarray, np.ndarray]], level: float = 0.95
) -> Interval:
    """t interval of a score, or of a paired difference, over seeds and
    subjects, stratified by fold.

    Args:
        strata (Sequence[tuple]): Per fold, ``(full, left_out)`` of
            :func:`run_scores` (a difference: A's minus B's, run by run).
        level (float): Coverage of the interval.

    Returns:
        Interval: NaN ends when a fold has fewer than 2 runs or subjects.
    """
    if not strata:
        raise ValueError('crossed_interval needs at least one fold')
    means, variances, dfs = [], [], []
    for full, left_out in strata:
        means.append(np.mean(full, 0))
        v = crossed_variance(pseudo_values(full, left_out))
        variances.append(v.variance)
        dfs.append(v.df)
    k = len(strata)
    estimate = np.mean(means, 0)
    parts = np.asarray(variances) / k**2
    variance = parts.sum(0)
    with np.errstate(invalid='ignore', divide='ignore'):
        df = variance**2 / (parts**2 / np.asarray(dfs)).sum(0)
        df = np.where(variance == 0, np.inf, df)
        se = np.sqrt(variance)
        half = stats.t.ppf(0.5 + level / 2, df) * se
        p = 2 * stats.t.sf(np.abs(estimate) / se, df)
    p = np.where(np.isnan(se) | (se > 0), p, np.where(estimate == 0, 1.0, 0.0))
    return Interval(estimate, se, df, estimate - half, estimate + half, p)


def paired_strata(
    pairs: Sequence[Tuple[np.ndarray, np.ndarray]], per_au: bool = False
) -> List[Tuple[np.ndarray, np.ndarray]]:
    """Per fold, the paired differences of :func:`run_scores`.

    Args:
        pairs (Sequence[tuple]): Per fold, (R, S, A, 4) counts of arm A and
            of arm B, run r of A paired with run r of B (same seed).
        per_au (bool): Per-AU F1 differences.

    Returns:
        list: ``(full, left_out)`` of A minus B per fold.
    """
    out = []
    for counts_a, counts_b in pairs:
        if np.shape(counts_a) != np.shape(counts_b) or np.ndim(counts_a) != 4:
            raise ValueError(
                'paired counts must have one (R, S, A, 4) shape, got '
                f'{np.shape(counts_a)} and {np.shape(counts_b)}'
            )
        fa, la = run_scores(counts_a, per_au)
        fb, lb = run_scores(counts_b, per_au)
        out.append((fa - fb, la - lb))
    return out


def smallest_p(num_pairs: int) -> float:
    """The smallest two-sided p-value a sign-flip test of ``num_pairs``
    pairs can give: the observed sign pattern and its mirror, ``2 / 2**N``.
    """
    return min(1.0, 2.0 / 2.0**num_pairs)


def sign_flip_p_values(
    differences: Sequence[np.ndarray], seed: int = 0
) -> np.ndarray:
    """Two-sided sign-flip test of "the paired difference is centred on 0".

    Under that hypothesis each run's difference is as likely to have either
    sign. The statistic is the mean over folds of each fold's mean
    difference; its p-value is the share of sign vectors whose statistic is
    at least as far from 0 as the observed one: all ``2**N`` of them for up
    to :data:`EXACT_FLIPS_MAX_PAIRS` pairs, else :data:`RANDOM_FLIPS` random
    ones (with the observed, ``(1 + count) / (1 + B)``).

    Args:
        differences (Sequence[np.ndarray]): Per fold, (R_f,) or (R_f, A)
            per-run differences.
        seed (int): Seed of the random sign vectors.

    Returns:
        np.ndarray: () or (A,) p-values; NaN for an AU with a NaN difference.
    """
    folds = [np.asarray(d, np.float64) for d in differences]
    weights = np.concatenate(
        [np.full(len(d), 1.0 / (len(d) * len(folds))) for d in folds]
    )
    d = np.concatenate(folds, 0)
    n = len(d)
    weighted = d * weights.reshape((n,) + (1,) * (d.ndim - 1))
    observed = np.abs(weighted.sum(0))
    if n <= EXACT_FLIPS_MAX_PAIRS:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        extra = 0
    else:
        rng = np.random.default_rng(seed)
        signs = rng.choice((1.0, -1.0), (RANDOM_FLIPS, n))
        extra = 1
    flipped = np.abs(np.tensordot(signs, weighted, axes=(1, 0)))
    # A tolerance against rounding: a mirrored sign vector gives the same
    # |statistic| and must count.
    hits = (flipped >= observed * (1 - 1e-12) - 1e-12).sum(0)
    p = (hits + extra) / (len(signs) + extra)
    return np.where(np.isnan(observed), np.nan, p)


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


def correction_can_pass(
    num_pairs: int, num_tests: int, alpha: float = 0.05
) -> bool:
    """Whether Holm's correction over ``num_tests`` sign-flip tests of
    ``num_pairs`` pairs can reject anything at ``alpha``: its smallest
    adjusted p-value is ``num_tests * smallest_p(num_pairs)``."""
    return num_tests * smallest_p(num_pairs) <= alpha


#: Intensity code of an uncoded label (never a value).
UNCODED = 9


def _icc(pred: np.ndarray, codes: np.ndarray) -> float:
    """ICC(3,1) of estimates against labels over the coded frames:
    ``2 cov / (var x + var y)``; NaN without a spread or 2 frames."""
    known = codes != UNCODED
    x, y = pred[known], codes[known].astype(np.float64)
    if x.size < 2:
        return float('nan')
    dx, dy = x - x.mean(), y - y.mean()
    den = (dx * dx).sum() + (dy * dy).sum()
    return float(2 * (dx * dy).sum() / den) if den > 0 else float('nan')


def icc_run_scores(
    pred: np.ndarray,
    codes: np.ndarray,
    subject_index: np.ndarray,
    per_au: bool = False,
) -> Tuple[np.ndarray, np.ndarray]:
    """Each run's ICC(3,1) on the full test set and with each subject left
    out, as :func:`run_scores` gives F1.

    Args:
        pred (np.ndarray): (R, N, A) intensity estimates of R runs on the
            same N test frames.
        codes (np.ndarray): (N, A) intensity labels 0-5, :data:`UNCODED`
            where not coded (left out of that AU's ICC).
        subject_index (np.ndarray): (N,) subject of each frame, 0..S-1.
        per_au (bool): Per-AU ICC instead of the mean over AUs.

    Returns:
        tuple: ``full`` (R,) or (R, A) and ``left_out`` (R, S) or
        (R, S, A), as fractions.
    """
    pred = np.asarray(pred, np.float64)
    codes = np.asarray(codes)
    subject_index = np.asarray(subject_index)
    r, _, a = pred.shape
    s = int(subject_index.max()) + 1
    full = np.array(
        [
            [_icc(pred[i, :, k], codes[:, k]) for k in range(a)]
            for i in range(r)
        ]
    )
    left_out = np.empty((r, s, a))
    for j in range(s):
        keep = subject_index != j
        for i in range(r):
            for k in range(a):
                left_out[i, j, k] = _icc(pred[i, keep, k], codes[keep, k])
    if not per_au:
        full, left_out = _mean_over_aus(full), _mean_over_aus(left_out)
    return full, left_out
