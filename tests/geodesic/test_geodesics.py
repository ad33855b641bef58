"""Both backends against exact geodesics on meshes where the answer is
known.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoconv_mm.geodesic import FaceSurface, compute_geodesic_distances
from geoconv_mm.geodesic.vertex_geodesics import (
    graph_geodesics,
    heat_geodesics,
)
from geoconv_mm.ops.geo_spec import GeoSpec
from tests.fixtures.meshes import cylinder, grid_mesh, hemisphere, wavy_sheet

BACKENDS = ['fast', 'numpy', 'heat']


@pytest.mark.parametrize(
    'solver,mean_tol,max_tol',
    [(graph_geodesics, 0.06, 0.09), (heat_geodesics, 0.02, 0.05)],
)
def test_vertex_geodesics_on_a_plane(solver, mean_tol, max_tol):
    # Exact geodesic on a plane: the straight line. The refined graph (edges
    # plus unfolded diagonals) is an upper bound; the heat method errs both
    # ways.
    v, f = grid_mesh(0, 30, 0, 30, 1.0)
    src = [0, 480, 960]
    g = solver(v, f, src)
    exact = np.linalg.norm(v[src][:, None] - v[None], axis=2)
    far = exact > 5
    rel = g[far] / exact[far] - 1
    assert abs(rel.mean()) < mean_tol and np.abs(rel).max() < max_tol
    if solver is graph_geodesics:
        assert rel.min() >= -1e-9  # every graph path lies on the surface


@pytest.mark.parametrize('backend', BACKENDS)
def test_cylinder_taps_are_arcs(backend):
    # Vertical axis, seen from the front: a horizontal tap pair is an arc
    # R*dtheta, a vertical one a straight line, a diagonal one a helix.
    r, cx, size = 40.0, 47.5, (96, 96)
    surf = cylinder(r, size, step=2.0)
    for s in (2, 8):
        spec = GeoSpec(s)
        d = compute_geodesic_distances(surf, [spec], backend=backend)[spec.key]
        pts = spec.tap_image_points(size)
        theta = np.arcsin(np.clip((pts[..., 0] - cx) / r, -1, 1))
        inner = np.abs(pts[..., 0] - cx) < 0.7 * r
        ok = (
            inner[4]
            & inner[5]
            & inner[8]
            & np.isfinite(d[[4, 5, 7, 8]]).all(0)
        )
        arc = r * np.abs(theta[5] - theta[4])
        helix = np.hypot(r * np.abs(theta[8] - theta[4]), s)
        np.testing.assert_allclose(d[5][ok], arc[ok], rtol=2e-3)
        np.testing.assert_allclose(d[7][ok], s, rtol=1e-6)
        np.testing.assert_allclose(d[8][ok], helix[ok], rtol=2e-3)


@pytest.mark.parametrize('backend', BACKENDS)
def test_hemisphere_taps_are_great_circle_arcs(backend):
    r, c, size = 40.0, 47.5, (96, 96)
    surf = hemisphere(
        r, size, n_rings=12, n_seg=40
    )  # face-like triangle sizes
    errs = []
    for s in (2, 4, 8):
        spec = GeoSpec(s)
        d = compute_geodesic_distances(surf, [spec], backend=backend)[spec.key]
        p = spec.tap_image_points(size) - c
        r2 = (p**2).sum(-1)
        p3 = np.concatenate(
            [p, np.sqrt(np.clip(r * r - r2, 0, None))[..., None]], -1
        )
        for k in range(9):
            if k == 4:
                continue
            exact = r * np.arccos(
                np.clip((p3[4] * p3[k]).sum(-1) / r**2, -1, 1)
            )
            ok = (r2[4] < (0.7 * r) ** 2) & (r2[k] < (0.7 * r) ** 2)
            assert np.isfinite(d[k][ok]).all()
            errs.append(np.abs(d[k][ok] / exact[ok] - 1))
    errs = np.concatenate(errs)
    # The mesh is a polyhedron inscribed in the sphere: ~0.5% mean, a few %
    # worst.
    assert errs.mean() < 0.015 and errs.max() < 0.05


def _sheet_with_hole():
    # Flat 64x64 sheet, an 11x11 px hole between the tap points (23.5, 23.5)
    # and (39.5, 23.5) of a stride-16 layer.
    v, f = grid_mesh(0, 63, 0, 63, 1.0, hole=(26, 37, 18, 29))
    return FaceSurface(v, f, (64, 64))


@pytest.mark.parametrize(
    'backend,tol', [('fast', 0.05), ('numpy', 0.05), ('heat', 0.06)]
)
def test_geodesic_goes_around_a_hole(backend, tol):
    spec = GeoSpec(16)
    surf = _sheet_with_hole()
    d = compute_geodesic_distances(surf, [spec], backend=backend)[spec.key]
    around = 2 * np.hypot(2.5, 5.5) + 11  # via the two top corners of the hole
    assert d[5, 1, 1] == pytest.approx(around, rel=tol)
    assert d[5, 1, 1] > 1.3 * 16  # never the straight 16 px
    # Pairs that do not cross the hole stay straight.
    assert d[7, 1, 1] == pytest.approx(16.0)
    assert d[5, 0, 1] == pytest.approx(16.0)
    closed = compute_geodesic_distances(
        surf, [spec], backend=backend, close_holes=True
    )[spec.key]
    assert closed[5, 1, 1] == pytest.approx(16.0, rel=1e-6)


def test_tap_inside_a_hole_has_no_surface_point():
    spec = GeoSpec(8)
    d = compute_geodesic_distances(
        _sheet_with_hole(), [spec], backend='numpy'
    )[spec.key]
    pts = spec.tap_image_points((64, 64))
    inside = (
        (pts[..., 0] > 26)
        & (pts[..., 0] < 37)
        & (pts[..., 1] > 18)
        & (pts[..., 1] < 29)
    )
    assert inside.any()
    assert np.isnan(d[inside]).all()
    in_image = (pts >= 0).all(-1) & (pts <= 63).all(-1)
    assert np.isfinite(d[~inside & in_image & np.isfinite(d[4])[None]]).all()


@settings(max_examples=15, deadline=None)
@given(
    x0=st.integers(6, 44),
    y0=st.integers(6, 44),
    width=st.integers(2, 16),
    height=st.integers(2, 16),
    amplitude=st.floats(0, 4),
)
def test_around_hole_paths_match_the_numpy_twin(
    x0, y0, width, height, amplitude
):
    # The fast kernel's bounded A* searches against the numpy twin's own
    # shortest paths, on sheets with a hole anywhere and a curved surface.
    surface = wavy_sheet(
        64, (x0, x0 + width, y0, y0 + height), amplitude, periods=(7, 9)
    )
    specs = [GeoSpec(s) for s in (1, 2, 4, 8, 16)]
    fast = compute_geodesic_distances(surface, specs, backend='fast')
    twin = compute_geodesic_distances(surface, specs, backend='numpy')
    for spec in specs:
        a, b = fast[spec.key], twin[spec.key]
        # No path here is 30 (RATIO_CAP) times its straight distance, so a
        # search pruned too early would show as inf.
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_array_equal(np.isinf(a), np.isinf(b))
        both = np.isfinite(a)
        np.testing.assert_allclose(a[both], b[both], rtol=1e-6)
