"""The study's statistics against hand-computed values, plain loops and a
simulation with a known truth."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoconv_mm.evaluation.metrics import au_f1_scores
from geoconv_mm.study.simulation import StudyModel
from geoconv_mm.study.statistics import (
    benjamini_hochberg,
    correction_can_pass,
    crossed_interval,
    crossed_variance,
    f1_from_counts,
    holm,
    paired_strata,
    pseudo_values,
    run_scores,
    sign_flip_p_values,
    smallest_p,
    subject_counts,
)


def test_subject_counts_by_hand():
    scores = np.array([[0.9, 0.1], [0.6, 0.7], [0.2, 0.5], [0.4, 0.2]])
    gt = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    mask = np.array([[1, 1], [1, 1], [1, 0], [1, 1]], bool)
    ids, c = subject_counts(scores, gt, mask, ['B', 'A', 'B', 'A'])
    assert ids == ['A', 'B']
    # A: frames 1, 3. AU0: pred 1/gt 0 -> fp; pred 0/gt 0 -> tn. AU1: tp; tn.
    np.testing.assert_array_equal(c[0], [[0, 1, 0, 1], [1, 0, 0, 1]])
    # B: frames 0, 2. AU0: tp; fn. AU1: tn; frame 2 unknown.
    np.testing.assert_array_equal(c[1], [[1, 0, 1, 0], [0, 0, 0, 1]])


def test_f1_from_counts_by_hand_and_against_metric():
    # tp=2, fp=1, fn=1 -> 2*2/(4+1+1) = 66.67 %; no positives at all -> 0; no
    # label NaN.
    f1 = f1_from_counts(np.array([[2, 1, 1, 5], [0, 0, 0, 3], [0, 0, 0, 0]]))
    np.testing.assert_allclose(f1[:2], [400 / 6, 0.0])
    assert np.isnan(f1[2])
    rng = np.random.default_rng(1)
    scores, gt = rng.random((50, 4)), rng.random((50, 4)) < 0.3
    mask = rng.random((50, 4)) < 0.9
    _, c = subject_counts(scores, gt, mask, rng.integers(0, 5, 50).astype(str))
    np.testing.assert_allclose(
        f1_from_counts(c.sum(0)), au_f1_scores(scores, gt, mask)['f1'] * 100
    )


def test_holm_and_bh_by_hand():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04;
    # running max 0.02, 0.03, 0.06, 0.06.
    np.testing.assert_allclose(holm(p), [0.03, 0.06, 0.06, 0.02])
    # sorted times 4/rank = 0.02, 0.02, 0.04, 0.04; running min from the top.
    np.testing.assert_allclose(benjamini_hochberg(p), [0.02, 0.04, 0.04, 0.02])
    np.testing.assert_allclose(holm([0.5, 0.6]), [1.0, 1.0])


def test_run_scores_leave_each_subject_out_as_a_loop_does():
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 7, (3, 4, 2, 4))
    full, left_out = run_scores(counts)
    for r in range(3):
        assert full[r] == pytest.approx(
            np.nanmean(f1_from_counts(counts[r].sum(0)))
        )
        for j in range(4):
            rest = [counts[r, k] for k in range(4) if k != j]
            assert left_out[r, j] == pytest.approx(
                np.nanmean(f1_from_counts(sum(rest)))
            )
    full_au, left_au = run_scores(counts, per_au=True)
    assert full_au.shape == (3, 2) and left_au.shape == (3, 4, 2)


def test_pseudo_values_of_a_mean_are_the_values():
    # For a statistic that is the mean over subjects, the jackknife
    # pseudo-values give back each subject's value.
    values = np.random.default_rng(1).normal(size=(3, 5))
    full = values.mean(1)
    left_out = (values.sum(1, keepdims=True) - values) / 4
    np.testing.assert_allclose(pseudo_values(full, left_out), values)


def _mean_squares_by_loop(y):
    r, s = len(y), len(y[0])
    g = sum(map(sum, y)) / (r * s)
    row = [sum(y[i]) / s for i in range(r)]
    col = [sum(y[i][j] for i in range(r)) / r for j in range(s)]
    ms_seed = s * sum((x - g) ** 2 for x in row) / (r - 1)
    ms_subj = r * sum((x - g) ** 2 for x in col) / (s - 1)
    ms_res = sum(
        (y[i][j] - row[i] - col[j] + g) ** 2
        for i in range(r)
        for j in range(s)
    ) / ((r - 1) * (s - 1))
    return ms_seed, ms_subj, ms_res


def test_crossed_variance_by_hand():
    # Rows differ by 2, columns by 1, plus an interaction of +-0.5.
    y = np.array([[0.0, 1.0, 2.0], [2.0, 3.0, 4.0]]) + np.array(
        [[0.5, -0.5, 0.0], [-0.5, 0.5, 0.0]]
    )
    ms_seed, ms_subj, ms_res = _mean_squares_by_loop(y.tolist())
    # row means 1, 3: MS_seed = 3 * 2 / 1 = 6; column means 1, 2, 3:
    # MS_subject = 2 * 2 / 2 = 2; residuals +-0.5 on four cells: 1 / 2.
    assert (ms_seed, ms_subj, ms_res) == pytest.approx((6.0, 2.0, 0.5))
    v = crossed_variance(y)
    assert v.variance == pytest.approx((6 + 2 - 0.5) / 6)
    terms = np.array([6.0, 2.0, -0.5])
    dfs = np.array([1.0, 2.0, 2.0])
    assert v.df == pytest.approx(7.5**2 / (terms**2 / dfs).sum())


def test_crossed_variance_drops_a_component_below_the_residual():
    # Constant columns, noisy rows: the subject mean square is 0, below the
    # residual one, so the variance is the seed mean square's alone.
    y = np.array([[1.0, 3.0, 2.0], [5.0, 4.0, 6.0], [0.0, 2.0, 1.0]])
    y = y - y.mean(0) + 5.0
    ms_seed, ms_subj, ms_res = _mean_squares_by_loop(y.tolist())
    assert ms_subj < ms_res and ms_seed > ms_res
    v = crossed_variance(y)
    assert v.variance == pytest.approx(ms_seed / 9)
    assert v.df == pytest.approx(2.0)
    assert np.isnan(crossed_variance(y[:1]).variance)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    runs=st.integers(2, 5),
    subjects=st.integers(2, 6),
)
def test_interval_mirrors_with_the_arms_and_ignores_order(
    seed, runs, subjects
):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 9, (runs, subjects, 3, 4))
    b = rng.integers(0, 9, (runs, subjects, 3, 4))
    ab = crossed_interval(paired_strata([(a, b)]))
    ba = crossed_interval(paired_strata([(b, a)]))
    np.testing.assert_allclose(ab.estimate, -ba.estimate, atol=1e-9)
    np.testing.assert_allclose(
        [ab.low, ab.high], [-ba.high, -ba.low], atol=1e-9
    )
    perm_r, perm_s = rng.permutation(runs), rng.permutation(subjects)
    shuffled = crossed_interval(
        paired_strata([(a[perm_r][:, perm_s], b[perm_r][:, perm_s])])
    )
    np.testing.assert_allclose(
        [shuffled.low, shuffled.high], [ab.low, ab.high], atol=1e-9
    )


def test_identical_arms_give_zero_and_p_one():
    a = np.random.default_rng(2).integers(1, 9, (5, 6, 3, 4))
    iv = crossed_interval(paired_strata([(a, a.copy())]))
    assert (iv.estimate, iv.low, iv.high, iv.p) == (0, 0, 0, 1)


def test_constant_shift_is_detected_and_interval_covers_it():
    # Arm A turns one fn into a tp for every subject and run.
    rng = np.random.default_rng(4)
    b = rng.integers(2, 9, (5, 8, 3, 4))
    a = b.copy()
    a[..., 0] += 1
    a[..., 2] -= 1
    iv = crossed_interval(paired_strata([(a, b)]))
    assert 0 < iv.low <= iv.estimate <= iv.high and iv.p < 0.05
    with pytest.raises(ValueError, match='one \\(R, S, A, 4\\) shape'):
        paired_strata([(a, b[:1])])
    with pytest.raises(ValueError, match='subject ids'):
        subject_counts(np.zeros((3, 2)), np.zeros((3, 2)), None, ['a'])


def test_folds_are_strata_averaged_with_equal_weight():
    rng = np.random.default_rng(5)
    folds = [
        (rng.integers(0, 9, (r, 4, 2, 4)), rng.integers(0, 9, (r, 4, 2, 4)))
        for r in (3, 5)
    ]
    pooled = crossed_interval(paired_strata(folds))
    alone = [crossed_interval(paired_strata([f])) for f in folds]
    assert pooled.estimate == pytest.approx(
        (alone[0].estimate + alone[1].estimate) / 2
    )
    assert pooled.se**2 == pytest.approx(
        (alone[0].se ** 2 + alone[1].se ** 2) / 4
    )


def _sign_flip_by_loop(folds):
    d = [(x, 1.0 / (len(f) * len(folds))) for f in folds for x in f]
    obs = abs(sum(x * w for x, w in d))
    hits = 0
    for signs in itertools.product((1, -1), repeat=len(d)):
        stat = abs(sum(s * x * w for s, (x, w) in zip(signs, d)))
        hits += stat >= obs - 1e-12
    return hits / 2 ** len(d)


def test_sign_flip_p_by_hand_and_by_loop():
    # Three positive differences: only the observed signs and their mirror
    # are as extreme, 2 of 8.
    assert sign_flip_p_values([np.array([1.0, 2.0, 3.0])]) == 0.25
    assert sign_flip_p_values([np.array([1.0, -1.0])]) == 1.0
    rng = np.random.default_rng(6)
    folds = [rng.normal(0.5, 1, 4), rng.normal(0.5, 1, 3)]
    assert sign_flip_p_values(folds) == pytest.approx(
        _sign_flip_by_loop([f.tolist() for f in folds])
    )
    per_au = sign_flip_p_values([np.stack([folds[0], -folds[0]], 1)])
    assert per_au[0] == per_au[1]


def test_sign_flip_with_many_pairs_uses_random_flips():
    # 30 positive pairs: the random flips never reach the observed value,
    # so p is its floor 1 / (1 + B).
    p = sign_flip_p_values([np.ones(10), np.ones(10), np.ones(10)])
    assert p == pytest.approx(1 / 20001)


def test_per_au_correction_says_when_it_cannot_pass():
    assert smallest_p(5) == 0.0625
    # 5 pairs: 15 AUs x 0.0625 > 0.05, not even one AU could pass Holm.
    assert not correction_can_pass(5, 15)
    assert not correction_can_pass(5, 1)
    assert correction_can_pass(15, 15)


@pytest.mark.parametrize(
    'model, seeds, folds',
    [
        (StudyModel(), 5, 3),
        (StudyModel(seed_sd=0.4, subject_arm_sd=0.05), 5, 1),
        (StudyModel(seed_sd=0.05, subject_arm_sd=0.4, effect=0.0), 5, 3),
    ],
    ids=['both', 'seed-dominated, one fold', 'subject-dominated, null'],
)
def test_95_percent_intervals_cover_the_truth_95_percent_of_the_time(
    model, seeds, folds
):
    """Studies drawn with a known difference, seed and subject variance: the
    95% interval must cover the true difference in 93-97% of them."""
    rng = np.random.default_rng(11)
    truth = model.true_difference(rng, 40000)
    reps = 800
    covered = 0
    for _ in range(reps):
        iv = crossed_interval(paired_strata(model.draw(rng, seeds, folds)))
        covered += iv.low <= truth <= iv.high
    assert 0.93 <= covered / reps <= 0.97


def test_icc_run_scores_against_the_metric_and_a_loop():
    """ICC(3,1) of each run, and with each subject left out, against the
    metric's own ICC on the same frames; uncoded labels (9) left out."""
    from geoconv_mm.evaluation.metrics.au_intensity_metric import icc_3_1
    from geoconv_mm.study.statistics import icc_run_scores

    rng = np.random.default_rng(7)
    subjects = np.repeat(np.arange(4), 10)
    codes = rng.integers(0, 6, (40, 2))
    codes[::7, 1] = 9
    pred = codes[None] + rng.normal(0, 1.0, (3, 40, 2))
    full, left_out = icc_run_scores(pred, codes, subjects, per_au=True)
    for r in range(3):
        for a in range(2):
            known = codes[:, a] != 9
            assert full[r, a] == pytest.approx(
                icc_3_1(np.stack([pred[r, known, a], codes[known, a]], 1))
            )
            for j in range(4):
                keep = known & (subjects != j)
                assert left_out[r, j, a] == pytest.approx(
                    icc_3_1(np.stack([pred[r, keep, a], codes[keep, a]], 1))
                )
    mean_full, mean_left = icc_run_scores(pred, codes, subjects)
    np.testing.assert_allclose(mean_full, full.mean(1))
    np.testing.assert_allclose(mean_left, left_out.mean(2))
