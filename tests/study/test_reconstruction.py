"""Reconstruction measures against meshes moved and deformed by hand."""

import numpy as np
import pytest

from geoconv_mm.face.head_pose import mediapipe_reference, mesh_rotation
from geoconv_mm.study.reconstruction import (
    aligned_error_mm,
    displacement_agreement,
)


@pytest.fixture(scope='module')
def face():
    """The frontal reference in millimetres drawn at 3 px per mm, and its
    topology."""
    pytest.importorskip('mediapipe')
    from geoconv_mm.face import facemesh_faces

    return mediapipe_reference() * 3.0 + [100.0, 120.0, 0.0], facemesh_faces()


def test_a_similar_copy_has_no_error(face):
    v, f = face
    moved = 0.7 * v @ mesh_rotation(0.2, -0.3, 0.1).T + [5.0, -3.0, 2.0]
    assert aligned_error_mm(moved, v, f) == pytest.approx(0.0, abs=1e-9)


def test_a_deformation_of_known_size_in_millimetres(face):
    """Push every vertex 2 mm along z and back by turns: the similarity
    cannot absorb it, so the error is 2 mm."""
    v, f = face
    bumped = v.copy()
    bumped[:, 2] += np.where(np.arange(len(v)) % 2 == 0, 6.0, -6.0)
    err = aligned_error_mm(bumped, v, f)
    assert err == pytest.approx(2.0, rel=0.02)


def test_displacement_captured_in_full_in_part_and_not(face):
    v, f = face
    rng = np.random.default_rng(0)
    au = rng.normal(0, 1.0, v.shape)
    true = displacement_agreement(v + au, v, v + au, v, f)
    assert true['cosine'] == pytest.approx(1.0)
    assert true['gain'] == pytest.approx(1.0)
    assert true['error_mm'] == pytest.approx(0.0, abs=1e-12)
    # Half the deformation, shifted as a whole: the shift changes nothing.
    half = displacement_agreement(v + 0.5 * au + 7.0, v, v + au, v, f)
    assert half['gain'] == pytest.approx(0.5)
    assert half['cosine'] == pytest.approx(1.0)
    centred = au - au.mean(0)
    assert half['true_mm'] == pytest.approx(
        np.sqrt((centred**2).sum(1).mean()) / 3.0
    )
    assert half['error_mm'] == pytest.approx(half['true_mm'] / 2)
    missed = displacement_agreement(v, v, v + au, v, f)
    assert missed['gain'] == 0.0 and np.isnan(missed['cosine'])
