"""Eq. 4 weights: hand-computed cases, invariants, backends, off-surface
rule.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoconv_mm.geodesic import (
    FaceSurface,
    compute_geodesic_weights,
    flip_geodesic_weights,
)
from geoconv_mm.geodesic import _ext as ext_mod
from geoconv_mm.ops.geo_spec import GeoSpec
from tests.fixtures.meshes import grid_mesh, wavy_sheet

BACKENDS = ['fast', 'numpy', 'heat']
SPECS = [GeoSpec(s) for s in (1, 2, 4, 8)]


def plane(size=(32, 32), slope=0.0, x_max=None):
    """Plane z = slope * x covering the image (or x <= x_max), facing the
    camera.
    """
    h, w = size
    v, f = grid_mesh(
        -2,
        (w + 1) if x_max is None else x_max,
        -2,
        h + 1,
        1.0,
        height=lambda x, y: slope * x,
    )
    return FaceSurface(v, f, size)


@pytest.mark.parametrize('backend', BACKENDS)
def test_flat_surface_gives_plain_convolution(backend):
    w = compute_geodesic_weights(plane(), SPECS, backend=backend)
    for spec in SPECS:
        np.testing.assert_allclose(w[spec.key], 1.0, atol=1e-5)


@pytest.mark.parametrize('backend', BACKENDS)
def test_without_hc_on_a_plane(backend):
    # w/o HC: ratio = D_geo / 1 = S (axial) or S*sqrt(2) (diagonal), by hand.
    w = compute_geodesic_weights(
        plane(), SPECS, backend=backend, hierarchy_compensation=False
    )
    for spec in SPECS:
        s = spec.in_stride
        ea, ed = np.exp(-s), np.exp(-s * np.sqrt(2))
        axial, diag = 8 * ea / (4 * ea + 4 * ed), 8 * ed / (4 * ea + 4 * ed)
        g = w[spec.key][:, 2:-2, 2:-2]  # away from the padding
        np.testing.assert_allclose(g[[1, 3, 5, 7]], axial, rtol=1e-4)
        np.testing.assert_allclose(g[[0, 2, 6, 8]], diag, rtol=1e-4)
        np.testing.assert_allclose(g[4], 1.0)


@pytest.mark.parametrize('backend', BACKENDS)
def test_tilted_plane_and_off_surface_taps(backend):
    # z = 0.75 x covers x <= 20: on-surface ratios are 1.25 (horizontal), 1
    # (vertical), sqrt(1 + 1.5625 / 2)... by hand; a tap beyond x = 20 has no
    # surface: ratio 1.
    slope = 0.75
    surf = plane((32, 32), slope, x_max=20)
    spec = GeoSpec(1)
    g = compute_geodesic_weights(surf, [spec], backend=backend)[spec.key]
    rh = np.sqrt(1 + slope**2)
    rd = np.sqrt(2 + slope**2) / np.sqrt(2)
    logits = -np.array([rd, 1, rd, rh, 0, rh, rd, 1, rd])
    others = np.arange(9) != 4
    e = np.exp(logits[others])
    expected = np.ones(9)
    expected[others] = 8 * e / e.sum()
    np.testing.assert_allclose(g[:, 10, 10], expected, rtol=1e-4)
    # Cell at x = 20: its right column of taps (x = 21) is off the surface.
    logits[[2, 5, 8]] = -1.0
    e = np.exp(logits[others])
    expected[others] = 8 * e / e.sum()
    np.testing.assert_allclose(g[:, 10, 20], expected, rtol=1e-4)
    # Cells whose centre is off the surface: plain convolution.
    np.testing.assert_array_equal(g[:, :, 21:], 1.0)


def test_invariants_on_a_real_face(astronaut, face_specs):
    w = compute_geodesic_weights(astronaut.surface, face_specs)
    for spec in face_specs:
        g = w[spec.key]
        assert g.dtype == np.float32
        assert g.shape == (9, *spec.output_size((224, 224)))
        np.testing.assert_array_equal(g[4], 1.0)
        np.testing.assert_allclose(g.sum(0) - 1, 8.0, rtol=1e-5)
        assert (g >= 0).all()
        # Not trivially flat: the face is curved.
        assert np.abs(g - 1).max() > 0.3
    # Cells whose centre pixel is off the face are plain convolution.
    g1 = w[GeoSpec(1).key]
    np.testing.assert_array_equal(g1[:, ~astronaut.mask], 1.0)


def test_flip_gives_mirrored_weights(astronaut, face_specs):
    w = compute_geodesic_weights(astronaut.surface, face_specs)
    wf = compute_geodesic_weights(
        astronaut.surface.flip_horizontal(), face_specs
    )
    for spec in face_specs:
        np.testing.assert_allclose(
            wf[spec.key], flip_geodesic_weights(w[spec.key], 3), atol=2e-4
        )


def test_flip_geodesic_weights_by_hand():
    w = np.arange(9 * 2 * 3, dtype=np.float32).reshape(9, 2, 3)
    f = flip_geodesic_weights(w, 3)
    # tap (i, j) -> (i, 2 - j), x -> 2 - x
    for i in range(3):
        for j in range(3):
            np.testing.assert_array_equal(
                f[i * 3 + j], w[i * 3 + 2 - j][:, ::-1]
            )
    np.testing.assert_array_equal(flip_geodesic_weights(f, (3, 3)), w)
    batch = np.stack([w, 2 * w])
    np.testing.assert_array_equal(flip_geodesic_weights(batch, 3)[1], 2 * f)
    with pytest.raises(ValueError, match='taps'):
        flip_geodesic_weights(w, 5)


@pytest.mark.parametrize('hc', [True, False])
@pytest.mark.parametrize('close_holes', [False, True])
def test_fast_kernel_matches_numpy_twin(
    astronaut, face_specs, hc, close_holes
):
    kw = dict(hierarchy_compensation=hc, close_holes=close_holes)
    a = compute_geodesic_weights(
        astronaut.surface, face_specs, backend='fast', **kw
    )
    b = compute_geodesic_weights(
        astronaut.surface, face_specs, backend='numpy', **kw
    )
    for spec in face_specs:
        np.testing.assert_allclose(a[spec.key], b[spec.key], atol=1e-3)


@settings(max_examples=40, deadline=None)
@given(
    in_stride=st.sampled_from([1, 2, 4]),
    kernel=st.sampled_from([1, 3, 5]),
    stride=st.integers(1, 2),
    dilation=st.integers(1, 3),
    padding=st.integers(0, 2),
    step=st.floats(1.0, 4.0),
    hole=st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(2, 12)),
    amplitude=st.floats(0, 6),
    seed=st.integers(0, 2**16),
)
def test_any_layer_matches_the_numpy_twin(
    in_stride, kernel, stride, dilation, padding, step, hole, amplitude, seed
):
    """The fast kernel's distances and weights against the numpy twin for a
    layer of any shape, on irregular triangles of any size with a hole
    anywhere: the kernel's shared rasters, step tables, link rule and
    row-by-row Eq. 4 must not depend on the layer being the usual one."""
    from geoconv_mm.geodesic import compute_geodesic_distances

    if not ext_mod.geometry_ext_available():
        pytest.skip('fast backend not built')
    size, (x0, y0, n) = 48, hole
    v, f = grid_mesh(
        -2,
        size + 1,
        -2,
        size + 1,
        step,
        hole=(x0, x0 + n, y0, y0 + n),
        height=lambda x, y: amplitude * np.sin(x / 5) * np.cos(y / 7),
    )
    # A corner and its opposite edge approach each other by at most
    # 2 * 0.2 * sqrt(2) = 0.57 steps, less than the 0.71 between them: no
    # triangle flips, so the sheet still faces the camera everywhere.
    rng = np.random.default_rng(seed)
    v[:, :2] += rng.uniform(-0.2, 0.2, (len(v), 2)) * step
    surface = FaceSurface(v, f, (size, size))
    spec = GeoSpec(in_stride, kernel, stride, padding, dilation)
    try:
        spec.output_size(surface.image_size)
    except ValueError:
        return  # no output at this size
    fast = compute_geodesic_distances(surface, [spec], backend='fast')
    twin = compute_geodesic_distances(surface, [spec], backend='numpy')
    a, b = fast[spec.key], twin[spec.key]
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_array_equal(np.isinf(a), np.isinf(b))
    both = np.isfinite(a)
    np.testing.assert_allclose(a[both], b[both], rtol=1e-6)
    wa = compute_geodesic_weights(surface, [spec], backend='fast')[spec.key]
    wb = compute_geodesic_weights(surface, [spec], backend='numpy')[spec.key]
    np.testing.assert_allclose(wa, wb, atol=1e-5)


def test_fast_agrees_with_heat_reference(astronaut, face_specs):
    a = compute_geodesic_weights(astronaut.surface, face_specs, backend='fast')
    b = compute_geodesic_weights(astronaut.surface, face_specs, backend='heat')
    diff = np.concatenate(
        [np.abs(a[s.key] - b[s.key]).ravel() for s in face_specs]
    )
    assert diff.mean() < 0.005 and np.percentile(diff, 99) < 0.05


def test_open_mouth_weights_respect_the_hole_and_close_holes_connects():
    # Two "lips" separated by a hole narrower than a stride-16 step: with the
    # hole open the tap across it is far (weight ~ 0); closed, the sheet is
    # flat (1).
    v, f = grid_mesh(0, 63, 0, 63, 1.0, hole=(26, 37, 18, 29))
    surf = FaceSurface(v, f, (64, 64))
    spec = GeoSpec(16)
    for backend in BACKENDS:
        open_ = compute_geodesic_weights(surf, [spec], backend=backend)[
            spec.key
        ]
        closed = compute_geodesic_weights(
            surf, [spec], backend=backend, close_holes=True
        )[spec.key]
        assert open_[5, 1, 1] < 0.75 * open_[7, 1, 1]
        np.testing.assert_allclose(closed[:, 1, 1], 1.0, atol=1e-5)


def test_bad_arguments():
    surf = plane()
    with pytest.raises(ValueError, match='even'):
        compute_geodesic_weights(surf, [GeoSpec(1, kernel_size=2, padding=0)])
    with pytest.raises(ValueError, match='backend'):
        compute_geodesic_weights(surf, [GeoSpec(1)], backend='exact')
    with pytest.raises(ValueError, match='divisible'):
        compute_geodesic_weights(
            FaceSurface(surf.vertices, surf.faces, (30, 30)), [GeoSpec(4)]
        )


def test_missing_extension_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(ext_mod, '_import', lambda: None)
    with pytest.raises(
        ext_mod.GeometryExtensionMissing, match='pip install -e'
    ):
        compute_geodesic_weights(plane(), [GeoSpec(1)], backend='fast')
    # The numpy twin still works without the build.
    w = compute_geodesic_weights(plane(), [GeoSpec(1)], backend='numpy')
    np.testing.assert_allclose(w[GeoSpec(1).key], 1.0, atol=1e-5)


@pytest.mark.parametrize(
    'spec',
    [
        GeoSpec(3, kernel_size=3, stride=1, padding=1),
        GeoSpec(2, kernel_size=5, stride=2, padding=2, dilation=2),
        GeoSpec(4, kernel_size=(3, 5), stride=(1, 2), padding=(1, 2)),
    ],
)
def test_general_specs_fast_matches_numpy_and_flat(spec):
    from tests.fixtures.meshes import hemisphere

    size = (96, 96)
    surf = hemisphere(40.0, size, n_rings=12, n_seg=40)
    a = compute_geodesic_weights(surf, [spec], backend='fast')[spec.key]
    b = compute_geodesic_weights(surf, [spec], backend='numpy')[spec.key]
    assert a.shape == (spec.num_taps, *spec.output_size(size))
    np.testing.assert_allclose(a, b, atol=1e-4)
    np.testing.assert_allclose(a.sum(0) - 1, spec.num_taps - 1, rtol=1e-5)
    flat = compute_geodesic_weights(plane(size), [spec], backend='fast')[
        spec.key
    ]
    np.testing.assert_allclose(flat, 1.0, atol=1e-5)


_BASELINE_CHILD = """
import sys
import numpy as np
from geoconv_mm.geodesic import FaceSurface, compute_geodesic_distances
from geoconv_mm.geodesic import compute_geodesic_weights
from geoconv_mm.ops.geo_spec import GeoSpec
surface = FaceSurface.load(sys.argv[1])
specs = [GeoSpec(s) for s in (1, 2, 4, 8, 16)]
out = {}
for closed in (False, True):
    w = compute_geodesic_weights(surface, specs, close_holes=closed)
    d = compute_geodesic_distances(surface, specs, close_holes=closed)
    for s in specs:
        out[f'w{closed}{s.key}'] = w[s.key]
        out[f'd{closed}{s.key}'] = d[s.key]
np.savez(sys.argv[2], **out)
"""


def test_vector_and_baseline_loops_agree_bit_for_bit(astronaut, tmp_path):
    # The kernel picks wider vector loops at run time where the CPU has them;
    # GEOCONV_NO_AVX2 forces the baseline ones. Same operations in the same
    # order: the two must give the same bits, not just close values.
    import os
    import subprocess
    import sys

    if not ext_mod.geometry_ext_available():
        pytest.skip('fast backend not built')
    from geoconv_mm.geodesic import compute_geodesic_distances

    record, result = tmp_path / 'face.npz', tmp_path / 'baseline.npz'
    astronaut.surface.save(str(record))
    surface = FaceSurface.load(str(record))
    env = dict(os.environ, GEOCONV_NO_AVX2='1')
    subprocess.run(
        [sys.executable, '-c', _BASELINE_CHILD, str(record), str(result)],
        env=env,
        check=True,
    )
    baseline = np.load(result)
    specs = [GeoSpec(s) for s in (1, 2, 4, 8, 16)]
    for closed in (False, True):
        w = compute_geodesic_weights(surface, specs, close_holes=closed)
        d = compute_geodesic_distances(surface, specs, close_holes=closed)
        for s in specs:
            assert np.array_equal(w[s.key], baseline[f'w{closed}{s.key}'])
            assert np.array_equal(
                d[s.key], baseline[f'd{closed}{s.key}'], equal_nan=True
            )


@settings(max_examples=25, deadline=None)
@given(
    in_stride=st.sampled_from([1, 2, 3, 4]),
    kernel=st.sampled_from([1, 3, 5]),
    stride=st.integers(1, 2),
    dilation=st.integers(1, 2),
    padding=st.integers(0, 2),
    hole=st.tuples(st.integers(4, 30), st.integers(4, 30), st.integers(2, 9)),
    amplitude=st.floats(0, 4),
)
def test_weights_do_not_depend_on_the_previous_call(
    in_stride, kernel, stride, dilation, padding, hole, amplitude
):
    """Weights alone reuse per-thread distance buffers across calls: each
    must equal the weights of a call that returns fresh distances, right
    after a call on another surface has filled those buffers."""
    from geoconv_mm.geodesic.weights import _compute

    if not ext_mod.geometry_ext_available():
        pytest.skip('fast backend not built')
    x0, y0, n = hole
    surface = wavy_sheet(
        48, (x0, x0 + n, y0, y0 + n), amplitude, periods=(5, 7)
    )
    spec = GeoSpec(in_stride, kernel, stride, padding, dilation)
    try:
        spec.output_size(surface.image_size)
    except ValueError:
        return  # no output at this size
    specs = [spec, GeoSpec(1)]
    fresh, _ = _compute(surface, specs, True, 'fast', False, True)
    # Before: a surface everywhere (finite distances) and one almost nowhere
    # (NaN): an entry the kernel failed to write would differ between them.
    for other in (plane((48, 48), slope=0.5), plane((48, 48), x_max=3)):
        compute_geodesic_weights(other, specs)
        reused = compute_geodesic_weights(surface, specs)
        for s in specs:
            assert np.array_equal(reused[s.key], fresh[s.key])
