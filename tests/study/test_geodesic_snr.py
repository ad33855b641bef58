import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoconv_mm.study.geodesic_snr import (
    mean_squared_change,
    weight_snr,
)


def _maps(rng, n):
    return [rng.uniform(0.5, 1.5, (9, 4, 4)) for _ in range(n)]


def test_au_that_moves_nothing_has_snr_zero():
    rng = np.random.default_rng(0)
    off = _maps(rng, 3)
    pairs = list(zip(_maps(rng, 3), _maps(rng, 3)))
    out = weight_snr(off, [w.copy() for w in off], pairs, pairs)
    assert out['au'] == 0.0
    assert out['snr_pose'] == 0.0 and out['snr_identity'] == 0.0


@settings(max_examples=25, deadline=None)
@given(st.floats(0.01, 1.0), st.integers(0, 1000))
def test_doubling_the_change_quadruples_the_au_term(amp, seed):
    rng = np.random.default_rng(seed)
    off = _maps(rng, 2)
    delta = [rng.normal(0, 1, w.shape) for w in off]
    pairs = list(zip(_maps(rng, 2), _maps(rng, 2)))
    one = weight_snr(
        [w + amp * d for w, d in zip(off, delta)], off, pairs, pairs
    )
    two = weight_snr(
        [w + 2 * amp * d for w, d in zip(off, delta)], off, pairs, pairs
    )
    assert two['au'] == pytest.approx(4 * one['au'], rel=1e-9)
    assert two['snr_pose'] > one['snr_pose']


def test_mean_squared_change_matches_direct_formula():
    a = [np.array([1.0, 2.0]), np.array([[0.0, 0.0]])]
    b = [np.array([1.0, 4.0]), np.array([[3.0, 0.0]])]
    assert mean_squared_change(a, b) == pytest.approx((4 + 9) / 4)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match='pair 0'):
        mean_squared_change([np.zeros(2)], [np.zeros(3)])
    with pytest.raises(ValueError, match='no weight-map'):
        mean_squared_change([], [])


def test_synthau_depth_dose_and_depthless_au():
    from mmengine.config import Config

    from geoconv_mm.ops import GeoSpec
    from geoconv_mm.study.geodesic_snr import synthau_weight_snr

    gen = Config.fromfile('configs/geocnn_synthau_demo.py').synthau
    specs = [GeoSpec(4, 3, 1, 1, 1)]
    key = specs[0].key
    one = synthau_weight_snr('default', gen, specs, 2)
    four = synthau_weight_snr('depth_x4', gen, specs, 2)
    geo = synthau_weight_snr('geometry_only', gen, specs, 2)
    assert four[6][key]['au'] > one[6][key]['au']
    # AU25 only parts the lips in the image plane: no depth motion
    assert geo[25][key]['au'] == 0.0
    assert one[25][key]['au'] > 0.0
