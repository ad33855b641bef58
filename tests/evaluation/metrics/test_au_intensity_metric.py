"""AUIntensityMetric and its measures against hand-computed values and
independent implementations (pingouin's ICC, scipy's Pearson r)."""

import math

import numpy as np
import pandas as pd
import pingouin
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from mmengine.evaluator import Evaluator
from mmpretrain.registry import METRICS
from mmpretrain.structures import DataSample
from scipy import stats

import geoconv_mm.evaluation  # noqa: F401
from geoconv_mm.evaluation import au_intensity_scores, icc_3_1, pearson_r

# pingouin 0.7 on pandas 3 warns about its own use of pandas.
pytestmark = pytest.mark.filterwarnings(
    'ignore:The inplace keyword in DataFrame.dropna'
)

# 4 frames, 3 AUs. Hand values:
# AU0: x = 1 2 3 4, y = 1 3 2 4. Row means 1 2.5 2.5 4, grand mean 2.5;
#   BMS = 2 (1.5^2 + 0 + 0 + 1.5^2) / 3 = 3; residuals +-0.5 on frames 1, 2
#   of both raters, EMS = 1 / 3; ICC = (3 - 1/3) / (3 + 1/3) = 0.8.
#   r = cov / sd sd = (4/3) / (5/3) = 0.8; MAE = (0 + 1 + 1 + 0) / 4 = 0.5.
# AU1: x = y + 1: consistency ICC(3,1) = 1, r = 1, MAE = 1.
# AU2: codes 2 9 0 5, the 9 is not coded: x = 2 0 1 (frames 0, 2, 3) vs
#   y = 2 0 5. Means 1, 7/3; cov = (1*(-1/3) + (-1)(-7/3) + 0) / 2 = 1;
#   var x = 1, var y = (1/9 + 49/9 + 64/9) / 2 = 19/3;
#   ICC = 2 / (1 + 19/3) = 3/11; r = 1 / sqrt(19/3); MAE = (0 + 0 + 4) / 3.
PRED = np.array(
    [
        [1.0, 1.0, 2.0],
        [2.0, 2.0, 4.5],  # AU2's 4.5 meets a 9: never counted
        [3.0, 3.0, 0.0],
        [4.0, 4.0, 1.0],
    ]
)
CODES = np.array([[1, 0, 2], [3, 1, 9], [2, 2, 0], [4, 3, 5]])
ICC = [0.8, 1.0, 3 / 11]
PCC = [0.8, 1.0, 1 / math.sqrt(19 / 3)]
MAE = [0.5, 1.0, 4 / 3]


def test_scores_match_hand_values():
    out = au_intensity_scores(PRED, CODES)
    np.testing.assert_allclose(out['icc'], ICC)
    np.testing.assert_allclose(out['pcc'], PCC)
    np.testing.assert_allclose(out['mae'], MAE)
    assert out['num_known'].tolist() == [4, 4, 3]


def pingouin_icc3(ratings):
    """ICC(3,1) by pingouin (its 'ICC(C,1)' row, Shrout and Fleiss' ICC3)."""
    n, k = ratings.shape
    frame = pd.DataFrame(
        dict(
            target=np.repeat(np.arange(n), k),
            rater=np.tile(np.arange(k), n),
            rating=ratings.ravel(),
        )
    )
    table = pingouin.intraclass_corr(
        frame, targets='target', raters='rater', ratings='rating'
    ).set_index('Type')
    return float(table.loc['ICC(C,1)', 'ICC'])


# pingouin's confidence interval divides by the zero residual of AU1 (x = y
# + 1); its ICC itself is exact.
@pytest.mark.filterwarnings('ignore::RuntimeWarning')
def test_hand_example_agrees_with_pingouin():
    for a in range(3):
        known = CODES[:, a] != 9
        ratings = np.stack([PRED[known, a], CODES[known, a]], 1)
        assert pingouin_icc3(ratings.astype(float)) == pytest.approx(ICC[a])


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(3, 40),
    k=st.integers(2, 4),
    seed=st.integers(0, 2**31 - 1),
)
def test_icc_agrees_with_pingouin_for_any_raters(n, k, seed):
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=(n, 1))
    ratings = truth + rng.normal(size=(n, k)) * rng.uniform(0.1, 2.0)
    ratings += rng.normal(size=k)  # rater offsets: consistency ignores them
    assert icc_3_1(ratings) == pytest.approx(
        pingouin_icc3(ratings), rel=1e-9, abs=1e-12
    )


finite = st.floats(-5, 10, allow_nan=False, width=64)


@settings(max_examples=100, deadline=None)
@given(
    arrays(
        np.float64, st.tuples(st.integers(2, 30), st.just(2)), elements=finite
    )
)
def test_two_raters_closed_form_and_pearson(ratings):
    x, y = ratings[:, 0], ratings[:, 1]
    den = x.var(ddof=1) + y.var(ddof=1)
    if den > 1e-9:
        closed = 2 * np.cov(x, y)[0, 1] / den
        assert icc_3_1(ratings) == pytest.approx(closed, abs=1e-9)
        assert -1 - 1e-12 <= icc_3_1(ratings) <= 1 + 1e-12
    if x.std() > 1e-6 and y.std() > 1e-6:
        assert pearson_r(x, y) == pytest.approx(
            stats.pearsonr(x, y).statistic, abs=1e-9
        )


def test_undefined_cases_are_nan():
    assert math.isnan(icc_3_1(np.ones((5, 2))))
    assert math.isnan(icc_3_1(np.zeros((1, 2))))
    assert math.isnan(pearson_r([1, 2, 3], [2, 2, 2]))
    # constant labels with varying estimates: ICC defined (0), r not
    assert icc_3_1(np.array([[0, 0], [1, 0], [2, 0.0]])) == pytest.approx(0)
    out = au_intensity_scores(np.zeros((2, 1)), np.array([[9], [9]]))
    assert math.isnan(out['icc'][0]) and math.isnan(out['mae'][0])
    assert out['num_known'].tolist() == [0]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(2, 25),
    garbage=st.floats(-1e6, 1e6, allow_nan=False),
)
def test_uncoded_labels_never_reach_the_measures(seed, n, garbage):
    # The same measures as on the coded frames alone, whatever the estimate
    # at a 9 is.
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 6, (n, 3))
    codes[rng.random((n, 3)) < 0.3] = 9
    pred = rng.uniform(0, 5, (n, 3))
    out = au_intensity_scores(pred, codes)
    moved = pred.copy()
    moved[codes == 9] = garbage
    again = au_intensity_scores(moved, codes)
    for a in range(3):
        keep = codes[:, a] != 9
        alone = au_intensity_scores(
            pred[keep, a : a + 1], codes[keep, a : a + 1]
        )
        for key in ('icc', 'pcc', 'mae'):
            np.testing.assert_array_equal(out[key][a], alone[key][0])
            np.testing.assert_array_equal(out[key][a], again[key][a])


def samples(pred, codes):
    out = []
    for p, c in zip(pred, codes):
        s = DataSample()
        s.set_field(torch.as_tensor(p, dtype=torch.float32), 'pred_intensity')
        s.set_field(torch.as_tensor(c, dtype=torch.int64), 'au_intensities')
        out.append(s.to_dict())
    return out


def test_metric_keys_means_and_names():
    evaluator = Evaluator(METRICS.build(dict(type='AUIntensityMetric')))
    evaluator.dataset_meta = dict(classes=('AU6', 'AU12', 'AU17'))
    evaluator.process(samples(PRED[:2], CODES[:2]))
    evaluator.process(samples(PRED[2:], CODES[2:]))
    metrics = evaluator.evaluate(4)
    assert metrics['au_int/ICC_AU6'] == pytest.approx(0.8, abs=1e-6)
    assert metrics['au_int/ICC_AU17'] == pytest.approx(3 / 11, abs=1e-6)
    assert metrics['au_int/MAE_AU12'] == pytest.approx(1.0, abs=1e-6)
    assert metrics['au_int/PCC_AU17'] == pytest.approx(PCC[2], abs=1e-6)
    assert metrics['au_int/ICC'] == pytest.approx(np.mean(ICC), abs=1e-6)
    assert metrics['au_int/PCC'] == pytest.approx(np.mean(PCC), abs=1e-6)
    assert metrics['au_int/MAE'] == pytest.approx(np.mean(MAE), abs=1e-6)


def test_metric_skips_undefined_aus_in_the_means():
    codes = CODES.copy()
    codes[:, 1] = 9  # AU1 never coded
    evaluator = Evaluator(
        METRICS.build(dict(type='AUIntensityMetric', au_names=['a', 'b', 'c']))
    )
    evaluator.process(samples(PRED, codes))
    metrics = evaluator.evaluate(4)
    assert math.isnan(metrics['au_int/ICC_b'])
    assert metrics['au_int/ICC'] == pytest.approx(
        (ICC[0] + ICC[2]) / 2, abs=1e-6
    )


def test_metric_errors():
    metric = Evaluator(METRICS.build(dict(type='AUIntensityMetric')))
    with pytest.raises(KeyError, match='pred_intensity'):
        metric.process([dict(au_intensities=torch.zeros(3))])
    with pytest.raises(ValueError, match='no samples'):
        metric.metrics[0].compute_metrics([])
    bad = Evaluator(METRICS.build(dict(type='AUIntensityMetric')))
    bad.process(samples(PRED, np.where(CODES == 9, 7, CODES)))
    with pytest.raises(ValueError, match='intensity code 7'):
        bad.evaluate(4)
    names = Evaluator(
        METRICS.build(dict(type='AUIntensityMetric', au_names=['a']))
    )
    names.process(samples(PRED, CODES))
    with pytest.raises(ValueError, match='1 AU names'):
        names.evaluate(4)
