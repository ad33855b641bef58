"""F1 per head-yaw bin against hand counts."""

import math

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.registry import METRICS

import geoconv_mm.evaluation  # noqa: F401
from geoconv_mm.evaluation import au_f1_by_yaw, yaw_bin_labels

# 8 frames, 2 AUs; |yaw| bins [0, 10), [10, 25), [25, inf) degrees.
YAW = np.array([0.0, -5.0, 12.0, -20.0, 30.0, -40.0, 9.99, 10.0])
#               bin 0  0     1      1     2     2      0     1
SCORES = np.array(
    [
        [0.9, 0.1],
        [0.8, 0.7],
        [0.6, 0.9],
        [0.7, 0.2],
        [0.2, 0.8],
        [0.9, 0.9],
        [0.3, 0.6],
        [0.1, 0.5],
    ]
)
LABELS = np.array(
    [[1, 0], [0, 1], [1, 0], [1, 1], [1, 1], [0, 0], [1, 1], [0, 1]]
)
MASK = np.ones((8, 2), bool)
MASK[5, 1] = False
# Hand counts (pred = score >= 0.5):
# bin 0 (frames 0, 1, 6): AU0 TP f0, FP f1, FN f6 -> 2/4 = 0.5
#                         AU1 TN f0, TP f1, TP f6 -> 1.0
# bin 1 (frames 2, 3, 7): AU0 TP f2, TP f3, TN f7 -> 1.0
#                         AU1 FP f2, FN f3, TP f7 -> 2/4 = 0.5
# bin 2 (frames 4, 5):    AU0 FN f4, FP f5 -> 0.0
#                         AU1 TP f4, f5 unknown -> 1.0
F1 = [[0.5, 1.0], [1.0, 0.5], [0.0, 1.0]]
COUNTS = [3, 3, 2]


def test_bins_match_hand_counts():
    bins = au_f1_by_yaw(SCORES, LABELS, MASK, YAW, (10, 25))
    assert [b['label'] for b in bins] == ['0-10', '10-25', '25+']
    assert [b['num_frames'] for b in bins] == COUNTS
    for b, f1 in zip(bins, F1):
        np.testing.assert_allclose(b['f1'], f1)
    assert bins[2]['num_known'].tolist() == [2, 1]


def test_empty_bin_is_nan_and_nan_yaw_is_in_no_bin():
    yaw = YAW.copy()
    yaw[0] = np.nan
    bins = au_f1_by_yaw(SCORES, LABELS, MASK, yaw, (10, 25, 80))
    assert [b['num_frames'] for b in bins] == [2, 3, 2, 0]
    assert np.isnan(bins[3]['f1']).all()


def test_bad_edges():
    with pytest.raises(ValueError, match='increasing'):
        yaw_bin_labels((25, 10))
    with pytest.raises(ValueError, match='positive'):
        METRICS.build(dict(type='AUF1Metric', yaw_bins=(0, 10)))


def _samples(rows, **pose):
    out = []
    for i in rows:
        s = dict(
            pred_score=torch.tensor(SCORES[i]),
            gt_au=torch.tensor(LABELS[i], dtype=torch.float32),
            au_mask=torch.tensor(MASK[i]),
        )
        for key, values in pose.items():
            s[key] = values[i]
        out.append(s)
    return out


@pytest.mark.parametrize(
    'key,values,extra',
    [
        ('pose_Ry', np.radians(YAW), {}),
        (
            'pose',
            [[y, 3.0, -2.0] for y in YAW],
            dict(yaw_key='pose', yaw_index=0, yaw_unit='deg'),
        ),
    ],
)
def test_metric_reports_bins(key, values, extra):
    evaluator = Evaluator(METRICS.build(dict(type='AUF1Metric', **extra)))
    evaluator.process(_samples(range(4), **{key: values}))
    evaluator.process(_samples(range(4, 8), **{key: values}))
    m = evaluator.evaluate(8)
    for label, f1, n in zip(('0-10', '10-25', '25+'), F1, COUNTS):
        assert m[f'au/F1yaw_{label}'] == pytest.approx(100 * np.mean(f1))
        assert m[f'au/num_yaw_{label}'] == n
    # The overall F1 is unchanged by the binning.
    plain = Evaluator(METRICS.build(dict(type='AUF1Metric', yaw_bins=None)))
    plain.process(_samples(range(8), **{key: values}))
    pm = plain.evaluate(8)
    assert not any('yaw' in k for k in pm)
    assert pm['au/F1'] == pytest.approx(m['au/F1'])


def test_no_pose_no_bins_and_partial_pose_is_left_out():
    evaluator = Evaluator(METRICS.build(dict(type='AUF1Metric')))
    evaluator.process(_samples(range(8)))
    assert not any('yaw' in k for k in evaluator.evaluate(8))
    evaluator = Evaluator(METRICS.build(dict(type='AUF1Metric')))
    evaluator.process(_samples(range(4), pose_Ry=np.radians(YAW)))
    evaluator.process(_samples(range(4, 8)))
    m = evaluator.evaluate(8)
    assert m['au/num_yaw_0-10'] == 2 and m['au/num_yaw_25+'] == 0
    assert math.isnan(m['au/F1yaw_25+'])
