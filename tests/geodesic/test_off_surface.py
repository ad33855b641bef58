"""Off-surface rules on delivered weights against Eq. 4 recomputed from
distances.
"""

import numpy as np
import pytest

from geoconv_mm.geodesic import (
    compute_geodesic_distances,
    compute_geodesic_weights,
)
from geoconv_mm.geodesic.off_surface import (
    apply_off_surface_rule,
    off_surface_taps,
)
from geoconv_mm.geodesic.weights import RATIO_CAP
from geoconv_mm.ops import GeoSpec
from tests.fixtures.meshes import grid_mesh, surface

SPECS = [
    GeoSpec.from_key(k)
    for k in (
        'S1_k3x3_s1x1_p1x1_d1x1',
        'S2_k3x3_s1x1_p1x1_d1x1',
        'S4_k3x3_s1x1_p1x1_d1x1',
    )
]


@pytest.fixture(scope='module')
def bumpy_face():
    """A wavy patch with a hole, smaller than the image: every kind of tap."""
    v, f = grid_mesh(
        6,
        40,
        5,
        42,
        2.0,
        height=lambda x, y: 4 * np.sin(x / 5.0) * np.cos(y / 7.0),
        hole=(18, 28, 20, 26),
    )
    return surface(v, f, (48, 48))


def _eq4_by_rule(dist, spec, rule):
    """Eq. 4 by loops from D_geo with the given rule for NaN (off-surface)
    taps.
    """
    k, h, w = dist.shape
    c = spec.centre_index
    d_eu = spec.euclidean_distances()
    out = np.ones((k, h, w))
    for y in range(h):
        for x in range(w):
            if np.isnan(dist[c, y, x]):
                continue
            taps = [j for j in range(k) if j != c]
            on = [j for j in taps if not np.isnan(dist[j, y, x])]
            r = {j: min(dist[j, y, x] / d_eu[j], RATIO_CAP) for j in on}
            if rule == 'flat':
                r.update({j: 1.0 for j in taps if j not in r})
            elif rule == 'cap' and on:
                r.update({j: max(r.values()) for j in taps if j not in r})
            if not on or len(r) == 0:
                r = {
                    j: 1.0
                    if np.isnan(dist[j, y, x])
                    else min(dist[j, y, x] / d_eu[j], RATIO_CAP)
                    for j in taps
                }
            m = min(r.values())
            e = {j: np.exp(-(v - m)) for j, v in r.items()}
            s = sum(e.values())
            for j in taps:
                out[j, y, x] = (k - 1) * e.get(j, 0.0) / s
    return out


@pytest.mark.parametrize('backend', ['numpy', 'fast'])
def test_mask_is_where_distances_are_nan(bumpy_face, backend):
    dist = compute_geodesic_distances(bumpy_face, SPECS, backend=backend)
    off = off_surface_taps(bumpy_face, SPECS)
    for s in SPECS:
        # A cell whose centre is off has no distances at all.
        centre_on = ~off[s.key][s.centre_index]
        np.testing.assert_array_equal(
            off[s.key][:, centre_on], np.isnan(dist[s.key])[:, centre_on]
        )
        assert np.isnan(dist[s.key][:, ~centre_on]).all()
        assert off[s.key][:, centre_on].any() and centre_on.any()


@pytest.mark.parametrize('rule', ['flat', 'zero', 'cap'])
def test_rules_match_eq4_from_distances(bumpy_face, rule):
    dist = compute_geodesic_distances(bumpy_face, SPECS, backend='numpy')
    delivered = compute_geodesic_weights(bumpy_face, SPECS, backend='numpy')
    off = off_surface_taps(bumpy_face, SPECS)
    for s in SPECS:
        got = apply_off_surface_rule(
            delivered[s.key], off[s.key], s.centre_index, rule
        )
        want = _eq4_by_rule(dist[s.key], s, rule)
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)
        centre_on = ~off[s.key][s.centre_index]
        others = np.arange(s.num_taps) != s.centre_index
        np.testing.assert_allclose(
            got[others].sum(0)[centre_on], s.num_taps - 1, rtol=1e-5
        )
        if rule == 'zero':
            assert np.all(got[off[s.key] & centre_on[None]] == 0)


def test_transform_option(bumpy_face):
    from geoconv_mm.datasets.transforms.geodesic import GenerateGeodesicWeights

    img = np.zeros((48, 48, 3), np.uint8)
    base = GenerateGeodesicWeights(SPECS)(
        dict(img=img, face_surface=bumpy_face)
    )
    cap = GenerateGeodesicWeights(SPECS, off_surface='cap')(
        dict(img=img, face_surface=bumpy_face)
    )
    off = off_surface_taps(bumpy_face, SPECS)
    for s in SPECS:
        want = apply_off_surface_rule(
            base['geo_weights'][s.key], off[s.key], s.centre_index, 'cap'
        )
        np.testing.assert_array_equal(cap['geo_weights'][s.key], want)
    with pytest.raises(ValueError, match='off_surface must be one of'):
        GenerateGeodesicWeights(SPECS, off_surface='far')
