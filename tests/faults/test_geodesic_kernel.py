"""The geodesic kernel on input it cannot rasterise, and on input that runs
long: it refuses the first by itself, whoever calls it, and lets Ctrl-C (any
Python signal handler that raises) end the second. Each case runs in a forked
child with a deadline (conftest.py): a kernel that hangs, or crashes, fails
its test."""

import signal

import numpy as np
import pytest
import torch

from geoconv_mm.geodesic import (
    DegenerateMeshError,
    FaceSurface,
    compute_geodesic_weights,
)
from geoconv_mm.geodesic._ext import geometry_ext_available, load_geometry_ext
from geoconv_mm.geodesic.surface import MAX_COORDINATE, MAX_IMAGE_SIDE
from geoconv_mm.ops.geo_spec import GeoSpec

pytestmark = [
    pytest.mark.skipif(
        not geometry_ext_available(), reason='needs the compiled kernel'
    ),
    # A fault ends in milliseconds; a hang is killed at this deadline.
    pytest.mark.deadline(60),
]

# The triangle of the report, at three to four and a half billion pixels.
FAR = np.array([[3e9, 3e9, 0], [4.5e9, 3e9, 0], [3e9, 4.5e9, 0]])


def _weights(vertices, faces, h=32, w=32, offset_rows=None):
    """The kernel's own entry point, no FaceSurface in front of it."""
    row = torch.tensor([[1, 3, 3, 1, 1, 1, 1, 1, 1]], dtype=torch.int64)
    return load_geometry_ext().geodesic_weights(
        torch.as_tensor(np.asarray(vertices, np.float64)),
        torch.as_tensor(np.asarray(faces, np.int32)),
        h,
        w,
        row,
        True,
        30.0,
        torch.zeros(0, dtype=torch.float64),
        False,
        torch.zeros(0, dtype=torch.int32),
        torch.zeros(0, dtype=torch.int32),
    )


def _raster(vertices, faces, h=32, w=32, offset=0.0):
    return load_geometry_ext().rasterize_mesh(
        torch.as_tensor(np.asarray(vertices, np.float64)),
        torch.as_tensor(np.asarray(faces, np.int32)),
        h,
        w,
        offset,
    )


def test_the_kernels_bounds_are_the_surfaces():
    ext = load_geometry_ext()
    assert ext.max_coordinate == MAX_COORDINATE
    assert ext.max_image_side == MAX_IMAGE_SIDE


def test_the_reported_triangle_is_refused_by_every_backend():
    surface = FaceSurface(FAR, [[0, 1, 2]], (224, 224))
    for backend in ('fast', 'numpy'):
        with pytest.raises(DegenerateMeshError, match='beyond'):
            compute_geodesic_weights(surface, [GeoSpec(1)], backend=backend)


@pytest.mark.parametrize('call', [_weights, _raster])
def test_the_kernel_refuses_what_it_cannot_rasterise(call):
    tri = [[0, 1, 2]]
    ok = np.array([[1.0, 1, 0], [20, 2, 0], [3, 25, 1]])
    call(ok, tri)  # the reference: a plain triangle passes
    for bad in (FAR, ok + [MAX_COORDINATE, 0, 0]):
        with pytest.raises(RuntimeError, match='not finite or beyond'):
            call(bad, tri)
    for value in (np.nan, np.inf, -np.inf):
        v = ok.copy()
        v[1, 2] = value
        with pytest.raises(RuntimeError, match='of vertex 1 is not finite'):
            call(v, tri)
    for h, w in ((0, 8), (8, MAX_IMAGE_SIDE + 1), (2**31 + 8, 8)):
        with pytest.raises(RuntimeError, match=r'image size .* must lie'):
            call(ok, tri, h, w)
    with pytest.raises(RuntimeError, match='face index out of range'):
        call(ok, [[0, 1, 3]])


def test_a_raster_offset_that_is_not_finite_is_refused():
    ok = np.array([[1.0, 1, 0], [20, 2, 0], [3, 25, 1]])
    with pytest.raises(RuntimeError, match='offset nan'):
        _raster(ok, [[0, 1, 2]], offset=float('nan'))


def _hours_of_work():
    """Valid input that keeps the raster busy for hours: 200000 copies of a
    triangle over most of a 2048 x 2048 image."""
    v = np.array([[-5.0, -5, 0], [4000, -5, 1], [-5, 4000, 2]])
    return v, np.zeros((200000, 3), np.int32) + [0, 1, 2], 2048


class Interrupted(Exception):
    pass


def _interrupt_after(seconds):
    def handler(signum, frame):
        raise Interrupted

    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)


@pytest.mark.parametrize('entry', ['weights', 'raster'])
def test_a_long_kernel_call_ends_on_a_signal(entry):
    # Without the kernel's checks the handler would run only at the end of
    # the call, hours later, and the deadline would fail the test.
    v, f, side = _hours_of_work()
    _interrupt_after(1.0)
    with pytest.raises(Interrupted):
        if entry == 'weights':
            compute_geodesic_weights(
                FaceSurface(v, f, (side, side)), [GeoSpec(1)]
            )
        else:
            _raster(v, f, side, side)
