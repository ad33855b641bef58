"""The study's statistics against hand-computed values and a plain-loop
bootstrap.
"""

import numpy as np
import pytest

from geoconv_mm.evaluation.metrics import au_f1_scores
from geoconv_mm.evaluation.statistics import (
    PairedStratum,
    benjamini_hochberg,
    bootstrap_p_value,
    f1_from_counts,
    holm,
    paired_bootstrap,
    percentile_interval,
    single_arm_bootstrap,
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


def test_bootstrap_p_value_by_hand():
    d = np.array([-1.0, 1.0, 2.0, 3.0])
    # one replicate <= 0 of 4: 2 * (1 + 1) / 5 = 0.8
    assert bootstrap_p_value(d) == pytest.approx(0.8)
    assert bootstrap_p_value(np.ones(99)) == pytest.approx(2 / 100)
    np.testing.assert_allclose(
        percentile_interval(np.arange(101.0)), [2.5, 97.5]
    )


def _loop_bootstrap(counts_a, counts_b, num_boot, seed):
    """The definition, one replicate at a time, from frames rebuilt from
    counts.
    """
    rng = np.random.default_rng(seed)
    r, s = counts_a.shape[:2]
    # The same draws, in the same order, as the vectorised code.
    all_runs = rng.integers(0, r, (num_boot, r))
    all_w = rng.multinomial(s, np.full(s, 1.0 / s), num_boot)
    out = []
    for runs, w in zip(all_runs, all_w):
        diffs = []
        for arm in (counts_a, counts_b):
            per_run = []
            for i in runs:
                pooled = sum(w[j] * arm[i, j] for j in range(s))
                tp, fp, fn = pooled[:, 0], pooled[:, 1], pooled[:, 2]
                per_run.append(
                    [
                        200 * t / (2 * t + p + n) if 2 * t + p + n else 0.0
                        for t, p, n in zip(tp, fp, fn)
                    ]
                )
            diffs.append(np.mean(per_run, 0))
        out.append(diffs[0] - diffs[1])
    return np.array(out)


def test_paired_bootstrap_matches_loop():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 6, (3, 4, 2, 4)).astype(float)
    b = rng.integers(0, 6, (3, 4, 2, 4)).astype(float)
    res = paired_bootstrap([PairedStratum(a, b)], num_boot=50, seed=3)
    np.testing.assert_allclose(res['boot_au'], _loop_bootstrap(a, b, 50, 3))
    obs = f1_from_counts(a.sum(1)).mean(0) - f1_from_counts(b.sum(1)).mean(0)
    np.testing.assert_allclose(res['diff_au'], obs)


def test_identical_arms_give_zero_and_p_one():
    rng = np.random.default_rng(2)
    a = rng.integers(1, 9, (5, 6, 3, 4)).astype(float)
    res = paired_bootstrap([PairedStratum(a, a.copy())], num_boot=200)
    assert np.all(res['boot_au'] == 0) and res['diff_mean'] == 0
    assert np.all(bootstrap_p_value(res['boot_au']) == 1.0)


def test_constant_shift_is_detected_and_interval_covers_it():
    # Arm A turns one fn into a tp for every subject and run: F1 is higher in
    # every replicate, so the interval excludes 0 and the p-value is its floor.
    rng = np.random.default_rng(4)
    b = rng.integers(2, 9, (5, 8, 3, 4)).astype(float)
    a = b.copy()
    a[..., 0] += 1
    a[..., 2] -= 1
    res = paired_bootstrap([PairedStratum(a, b)], num_boot=500)
    lo, hi = percentile_interval(res['boot_mean'])
    assert 0 < lo <= res['diff_mean'] <= hi
    assert bootstrap_p_value(res['boot_mean']) == pytest.approx(2 / 501)


def test_single_arm_and_shape_errors():
    c = np.tile(np.array([[2, 1, 1, 5]], float), (2, 3, 1, 1))
    res = single_arm_bootstrap([c], num_boot=20)
    assert res['mean'] == pytest.approx(400 / 6)
    np.testing.assert_allclose(res['boot_mean'], 400 / 6)
    with pytest.raises(ValueError, match='one \\(R, S, A, 4\\) shape'):
        PairedStratum(c, c[:1])
    with pytest.raises(ValueError, match='subject ids'):
        subject_counts(np.zeros((3, 2)), np.zeros((3, 2)), None, ['a'])
