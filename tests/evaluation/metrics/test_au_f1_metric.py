"""AUF1Metric against hand-counted F1, precision and recall."""

import math

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.registry import METRICS

import geoconv_mm.evaluation  # noqa: F401
from geoconv_mm.evaluation import au_f1_scores

# 6 frames, 3 AUs. Scores >= 0.5 are predictions of "present" (0.5 itself
# included).
SCORES = np.array(
    [
        [0.9, 0.2, 0.5],
        [0.6, 0.7, 0.1],
        [0.4, 0.8, 0.3],
        [0.1, 0.1, 0.9],
        [0.7, 0.3, 0.2],
        [0.2, 0.9, 0.6],
    ]
)
LABELS = np.array(
    [[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 1, 0], [0, 0, 1]]
)
MASK = np.array(
    [[1, 1, 1], [1, 1, 0], [1, 1, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], bool
)
# Hand counts over known labels:
# AU0: known frames 0,1,2,4,5: pred 1,1,0,1,0; gt 1,0,1,1,0 -> TP 2, FP 1, FN 1
# AU1: known frames 0,1,2,3,5: pred 0,1,1,0,1; gt 0,1,1,0,0 -> TP 2, FP 1, FN 0
# AU2: known frames 0,2,3,4,5: pred 1,0,1,0,1; gt 1,0,1,0,1 -> TP 3, FP 0, FN 0
PRECISION = [2 / 3, 2 / 3, 1.0]
RECALL = [2 / 3, 1.0, 1.0]
F1 = [2 / 3, 0.8, 1.0]


def test_scores_match_hand_counts():
    out = au_f1_scores(SCORES, LABELS, MASK, 0.5)
    np.testing.assert_allclose(out['precision'], PRECISION)
    np.testing.assert_allclose(out['recall'], RECALL)
    np.testing.assert_allclose(out['f1'], F1)
    assert out['num_known'].tolist() == [5, 5, 5]


def test_zero_division_and_no_known_labels():
    scores = np.array([[0.1, 0.9, 0.9], [0.2, 0.8, 0.1]])
    labels = np.array([[0, 0, 1], [0, 0, 1]])
    mask = np.array([[1, 1, 0], [1, 1, 0]], bool)
    out = au_f1_scores(scores, labels, mask)
    # AU0: no positives, none predicted -> 0 (zero_division=0); AU1: 2 FP -> 0.
    assert out['f1'][:2].tolist() == [0.0, 0.0] and out['precision'][1] == 0.0
    assert math.isnan(out['f1'][2])


def _samples(scores, labels, mask):
    return [
        dict(
            pred_score=torch.tensor(s),
            gt_au=torch.tensor(y, dtype=torch.float32),
            au_mask=torch.tensor(m),
        )
        for s, y, m in zip(scores, labels, mask)
    ]


def test_metric_in_an_evaluator_with_au_names(caplog):
    evaluator = Evaluator(METRICS.build(dict(type='AUF1Metric')))
    evaluator.dataset_meta = dict(classes=('AU1', 'AU2', 'AU4'))
    evaluator.process(_samples(SCORES[:3], LABELS[:3], MASK[:3]))
    evaluator.process(_samples(SCORES[3:], LABELS[3:], MASK[3:]))
    metrics = evaluator.evaluate(6)
    assert metrics['au/F1'] == pytest.approx(100 * np.mean(F1))
    assert metrics['au/precision'] == pytest.approx(100 * np.mean(PRECISION))
    assert metrics['au/recall'] == pytest.approx(100 * np.mean(RECALL))
    assert metrics['au/F1_AU2'] == pytest.approx(80.0)
    assert metrics['au/recall_AU1'] == pytest.approx(100 * 2 / 3)


def test_average_skips_aus_without_known_labels():
    evaluator = Evaluator(
        METRICS.build(dict(type='AUF1Metric', au_names=['a', 'b']))
    )
    mask = np.array([[1, 0], [1, 0]], bool)
    evaluator.process(
        _samples(
            np.array([[0.9, 0.9], [0.1, 0.1]]),
            np.array([[1, 1], [0, 1]]),
            mask,
        )
    )
    metrics = evaluator.evaluate(2)
    assert metrics['au/F1'] == pytest.approx(100.0)
    assert math.isnan(metrics['au/F1_b'])


def test_missing_prediction_is_an_error():
    evaluator = Evaluator(METRICS.build(dict(type='AUF1Metric')))
    with pytest.raises(KeyError, match='pred_score'):
        evaluator.process([dict(gt_au=torch.zeros(3))])
