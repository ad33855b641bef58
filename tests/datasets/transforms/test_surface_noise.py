"""PerturbFaceSurface: smooth noise of exactly the asked size, fixed per
frame."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoconv_mm.datasets.transforms import PerturbFaceSurface
from geoconv_mm.datasets.transforms.surface_noise import (
    pixels_per_mm,
    smooth_noise,
)
from geoconv_mm.face.head_pose import INTEROCULAR_MM, mediapipe_reference
from geoconv_mm.geodesic import FaceSurface


@pytest.fixture(scope='module')
def face():
    """The frontal reference (millimetres), drawn at 2 px per mm."""
    pytest.importorskip('mediapipe')
    from geoconv_mm.face import facemesh_faces

    faces = facemesh_faces()
    v = mediapipe_reference() * 2.0
    v[:, :2] += 112.0
    return FaceSurface(v, faces, (224, 224))


def _frame(face, name='images/S001/00000.npz'):
    return dict(face_surface=face, geo_path=f'/data/build/{name}')


def test_scale_from_the_eye_holes(face):
    # The reference's eye-hole centres are INTEROCULAR_MM apart, drawn at
    # 2 px per mm.
    assert pixels_per_mm(face.vertices, face.faces) == pytest.approx(2.0)
    assert pixels_per_mm(
        face.vertices, face.faces, INTEROCULAR_MM / 2
    ) == pytest.approx(4.0)


@settings(max_examples=20, deadline=None)
@given(rms=st.floats(0.1, 8.0), length=st.floats(5.0, 60.0))
def test_noise_has_exactly_the_asked_size(face, rms, length):
    noise = smooth_noise(
        face.vertices, face.faces, rms, length, np.random.default_rng(0)
    )
    scale = pixels_per_mm(face.vertices, face.faces)
    size_mm = np.sqrt((noise**2).sum(1).mean()) / scale
    assert size_mm == pytest.approx(rms, rel=1e-9)


def test_noise_is_smooth_over_the_face(face):
    """Neighbouring vertices move together: the displacement of a vertex
    correlates with that of its nearest neighbour far more than white noise
    would (which gives 0)."""
    v = face.vertices.astype(np.float64)
    d = ((v[:, None] - v[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nearest = d.argmin(1)
    noise = smooth_noise(
        v, face.faces, 2.0, 20.0, np.random.default_rng(1)
    ).ravel()
    near = noise.reshape(-1, 3)[nearest].ravel()
    assert np.corrcoef(noise, near)[0, 1] > 0.9


def test_fixed_per_frame_and_different_between_frames(face):
    t = PerturbFaceSurface(rms_mm=1.0)
    a = t(_frame(face))['face_surface'].vertices
    again = PerturbFaceSurface(rms_mm=1.0)(_frame(face))
    np.testing.assert_array_equal(a, again['face_surface'].vertices)
    other = t(_frame(face, 'images/S001/00001.npz'))['face_surface']
    assert not np.array_equal(a, other.vertices)
    seeded = PerturbFaceSurface(rms_mm=1.0, seed=1)(_frame(face))
    assert not np.array_equal(a, seeded['face_surface'].vertices)
    # The same frame under another data root: the same noise.
    moved = dict(_frame(face), geo_path='/else/images/S001/00000.npz')
    np.testing.assert_array_equal(a, t(moved)['face_surface'].vertices)
    still = PerturbFaceSurface(rms_mm=0.0)(_frame(face))['face_surface']
    np.testing.assert_array_equal(still.vertices, face.vertices)


def test_bad_arguments_and_input_are_named(face):
    with pytest.raises(ValueError, match='rms_mm must be >= 0'):
        PerturbFaceSurface(rms_mm=-1)
    with pytest.raises(ValueError, match='length_mm must be > 0'):
        PerturbFaceSurface(rms_mm=1, length_mm=0)
    with pytest.raises(KeyError, match='after LoadFaceSurface'):
        PerturbFaceSurface(rms_mm=1)(dict(img_path='x.png'))
