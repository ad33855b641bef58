"""Pieces of the dataset browser: active AU names, sample spread, scales."""

import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from geoconv_mm.ops import GeoSpec
from geoconv_mm.visualization.dataset_browser import (
    active_aus,
    sample_indices,
    spec_at_scale,
    tap_spread,
    weight_overlay,
)


def test_active_aus_skips_absent_and_unknown():
    s = DataSample()
    s.set_field(torch.tensor([1.0, 0.0, 1.0, 1.0]), 'gt_au')
    s.set_field(torch.tensor([True, True, False, True]), 'au_mask')
    assert active_aus(s, ['AU1', 'AU2', 'AU4', 'AU6']) == ['AU1', 'AU6']


def test_sample_indices_spread_and_bounded():
    assert sample_indices(10, 3) == [0, 4, 9]  # (0, 4.5, 9) rounded half-even
    assert sample_indices(3, 8) == [0, 1, 2]
    with pytest.raises(ValueError, match='--num-samples'):
        sample_indices(3, 0)


def test_spec_at_scale_picks_first_in_call_order():
    specs = [GeoSpec(1, 3), GeoSpec(2, 3, stride=2), GeoSpec(2, 3)]
    assert spec_at_scale(specs, 2) is specs[1]
    with pytest.raises(ValueError, match=r'--scale 8.*\[1, 2\]'):
        spec_at_scale(specs, 8)


def test_overlay_follows_weights():
    crop = np.full((8, 8, 3), 128, np.uint8)
    flat = weight_overlay(crop, np.ones((9, 4, 4)))
    assert (flat == flat[0, 0]).all()
    w = np.ones((9, 4, 4))
    w[0, 0, 0] = 2.0  # one output cell whose taps differ
    bumped = weight_overlay(crop, w)
    assert (bumped[:2, :2] != flat[:2, :2]).any()
    assert (bumped[4:, 4:] == flat[4:, 4:]).all()


def test_tap_spread_is_range_over_taps():
    rng = np.random.RandomState(0)
    w = rng.uniform(0.5, 1.5, (9, 3, 5))
    ref = np.array(
        [
            [w[:, i, j].max() - w[:, i, j].min() for j in range(5)]
            for i in range(3)
        ]
    )
    np.testing.assert_allclose(tap_spread(w), ref, rtol=1e-6)
