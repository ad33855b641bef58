"""AUPredictionDump writes what a study needs to recompute any AU score
later: scores, labels, masks and subjects, and intensities when the model
has them."""

import numpy as np
import pytest
import torch

from geoconv_mm.evaluation.metrics import AUPredictionDump, load_predictions


def _sample(subject, score, gt, mask=None, intensity=None, codes=None):
    s = dict(
        subject=subject,
        pred_score=torch.tensor(score),
        gt_au=torch.tensor(gt),
    )
    if mask is not None:
        s['au_mask'] = torch.tensor(mask)
    if intensity is not None:
        s['pred_intensity'] = torch.tensor(intensity)
        s['au_intensities'] = torch.tensor(codes)
    return s


def _dump(tmp_path, samples):
    out = tmp_path / 'pred.npz'
    metric = AUPredictionDump(str(out))
    metric.dataset_meta = dict(classes=['AU1', 'AU2'])
    metric.process({}, samples)
    assert metric.compute_metrics(metric.results) == {}
    return load_predictions(str(out))


def test_occurrence_round_trip(tmp_path):
    d = _dump(
        tmp_path,
        [
            _sample('S2', [0.9, 0.1], [1, 0], [True, False]),
            _sample('S1', [0.2, 0.7], [0, 1]),
        ],
    )
    np.testing.assert_allclose(d['scores'], [[0.9, 0.1], [0.2, 0.7]])
    np.testing.assert_array_equal(d['gt'], [[1, 0], [0, 1]])
    np.testing.assert_array_equal(d['mask'], [[1, 0], [1, 1]])
    assert d['subjects'].tolist() == ['S2', 'S1']
    assert d['au_names'].tolist() == ['AU1', 'AU2']
    assert 'intensity' not in d


def test_intensities_kept_with_their_uncoded_labels(tmp_path):
    d = _dump(
        tmp_path,
        [
            _sample('S1', [0.9, 0.1], [1, 0], None, [3.2, 0.1], [3, 9]),
            _sample('S2', [0.2, 0.7], [0, 1], None, [0.4, 4.5], [0, 5]),
        ],
    )
    np.testing.assert_allclose(d['intensity'], [[3.2, 0.1], [0.4, 4.5]])
    np.testing.assert_array_equal(d['intensity_codes'], [[3, 9], [0, 5]])
    assert d['intensity_codes'].dtype == np.uint8


def test_a_dump_without_samples_or_scores_is_an_error(tmp_path):
    metric = AUPredictionDump(str(tmp_path / 'p.npz'))
    with pytest.raises(ValueError, match='no samples'):
        metric.compute_metrics([])
    with pytest.raises(KeyError, match='pred_score'):
        metric.process({}, [dict(gt_au=torch.zeros(2), subject='S1')])
    with pytest.raises(ValueError, match='must end in .npz'):
        AUPredictionDump(str(tmp_path / 'p.json'))
    with pytest.raises(ValueError, match='not an AU prediction dump'):
        load_predictions(str(tmp_path / 'missing.npz'))
