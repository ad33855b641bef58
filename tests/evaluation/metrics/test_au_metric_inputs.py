"""What the AU metrics read: a sample's arrays, the columns' names."""

import numpy as np
import pytest
import torch

from geoconv_mm.evaluation.metrics.au_metric_inputs import (
    au_sample_arrays,
    metric_au_names,
)


def test_au_names_come_from_the_metric_then_the_data_set():
    meta = dict(classes=('AU1', 'AU2'))
    assert metric_au_names(['a', 'b'], meta, 2, 'M') == ['a', 'b']
    assert metric_au_names(None, meta, 2, 'M') == ['AU1', 'AU2']
    assert metric_au_names(None, None, 3, 'M') == ['AU0', 'AU1', 'AU2']
    with pytest.raises(
        ValueError, match=r"M: 2 AU names from the data set's classes .* for 3"
    ):
        metric_au_names(None, meta, 3, 'M')
    with pytest.raises(ValueError, match='M: 1 AU names from its au_names'):
        metric_au_names(['a'], meta, 2, 'M')


def test_sample_arrays_flatten_and_default_the_mask():
    sample = dict(
        pred_score=torch.tensor([[0.2, 0.9]], dtype=torch.float64),
        gt_au=torch.tensor([0, 1]),
    )
    score, gt, mask = au_sample_arrays(sample, 0, 'M')
    assert score.dtype == np.float64 and score.tolist() == [0.2, 0.9]
    assert gt.tolist() == [0, 1] and mask.tolist() == [True, True]
    sample['au_mask'] = [1, 0]
    assert au_sample_arrays(sample, 0, 'M')[2].tolist() == [True, False]
    with pytest.raises(KeyError, match=r"M: data sample 3 has no \['gt_au'\]"):
        au_sample_arrays(dict(pred_score=[0.5]), 3, 'M')


def test_bfloat16_scores_are_read_as_float32():
    sample = dict(
        pred_score=torch.tensor([0.25, 0.75], dtype=torch.bfloat16),
        gt_au=torch.tensor([0, 1]),
    )
    score, _, _ = au_sample_arrays(sample, 0, 'M')
    assert score.dtype == np.float32 and score.tolist() == [0.25, 0.75]
