"""Head pose in OpenFace's convention from meshes rotated by known angles."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoconv_mm.face import (
    HeadPoseEstimator,
    euler_to_matrix,
    frontal_reference,
    matrix_to_euler,
    mesh_rotation,
)
from geoconv_mm.face.head_pose import default_camera, fit_similarity
from tests.fixtures.tools import load_tool

pytest.importorskip('mediapipe')


def rx(a):
    return np.array(
        [[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]]
    )


def ry(a):
    return np.array(
        [[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]]
    )


def rz(a):
    return np.array(
        [[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]]
    )


FLIP = np.diag([1.0, 1.0, -1.0])


@pytest.fixture(scope='module')
def reference():
    from geoconv_mm.face.head_pose import mediapipe_reference

    return mediapipe_reference()


@pytest.fixture(scope='module')
def base_face():
    from geoconv_mm.datasets.synthau.face_model import reconstruct_base_face

    return reconstruct_base_face()


def _posed(ref, R_mesh, scale=3.0, offset=(320.0, 240.0, 0.0)):
    return scale * ref @ R_mesh.T + np.asarray(offset)


@settings(max_examples=100, deadline=None)
@given(
    st.floats(-np.pi / 2 + 0.01, np.pi / 2 - 0.01),
    st.floats(-np.pi / 2 + 0.01, np.pi / 2 - 0.01),
    st.floats(-np.pi, np.pi),
)
def test_euler_round_trip(a, b, c):
    R = euler_to_matrix(a, b, c)
    np.testing.assert_allclose(R, rx(a) @ ry(b) @ rz(c), atol=1e-12)
    np.testing.assert_allclose(matrix_to_euler(R), (a, b, c), atol=1e-9)


def test_reference_is_frontal_and_metric(reference, base_face):
    from geoconv_mm.datasets.synthau.face_model import hole_loops

    mouth, (eye_l, eye_r) = hole_loops(base_face.vertices, base_face.faces)
    le, re, mo = (reference[i].mean(0) for i in (eye_l, eye_r, mouth))
    np.testing.assert_allclose(np.linalg.norm(re - le), 63.0)
    np.testing.assert_allclose((re - le)[1:], 0, atol=1e-9)  # no roll/yaw
    down = mo - (le + re) / 2  # eyes-to-mouth in the image plane: no pitch
    assert abs(down[2]) < 1e-9 and abs(down[0]) < 2 and down[1] > 40
    np.testing.assert_allclose(reference.mean(0), 0, atol=1e-9)
    # Nose tip nearest the camera (largest z), face about 13-15 cm wide.
    assert 120 < np.ptp(reference[:, 0]) < 160
    nose = np.argmax(reference[:, 2])
    assert abs(reference[nose, 0]) < 5


def test_signs_seen_in_the_image(reference):
    est = HeadPoseEstimator(reference)
    nose = np.argmax(reference[:, 2])
    right_side = np.argmax(reference[:, 0])
    front = _posed(reference, np.eye(3))
    for angle, axis in ((0.3, 'rx'), (0.3, 'ry'), (0.3, 'rz')):
        args = dict(rx=0.0, ry=0.0, rz=0.0)
        args[axis] = angle
        v = _posed(reference, mesh_rotation(**args))
        pose = est(v, (480, 640))
        assert getattr(pose, axis) == pytest.approx(angle, abs=1e-9)
        if axis == 'rx':  # pitch > 0: nose moves down the image
            assert v[nose, 1] > front[nose, 1] + 5
        elif axis == 'ry':  # yaw > 0: nose moves to smaller x
            assert v[nose, 0] < front[nose, 0] - 5
        else:  # roll > 0: clockwise, the image-right side moves down
            assert v[right_side, 1] > front[right_side, 1] + 5


@settings(max_examples=60, deadline=None)
@given(
    st.floats(-60, 60),
    st.floats(-60, 60),
    st.floats(-45, 45),
    st.floats(1.0, 8.0),
    st.integers(0, 2**31 - 1),
)
def test_recovers_known_angles(reference, pitch, yaw, roll, scale, seed):
    # The mesh-frame rotation built by hand: OpenFace's Rx Ry Rz in the
    # camera frame (z away), conjugated by the z flip to the mesh frame.
    a, b, c = np.radians([pitch, yaw, roll])
    R_mesh = FLIP @ rx(a) @ ry(b) @ rz(c) @ FLIP
    rng = np.random.default_rng(seed)
    # Orthographic, so centred on the optical axis (off it, perspective
    # shears the relief: see the pinhole test).
    v = _posed(reference, R_mesh, scale, (320.0, 240.0, 7.0))
    v += rng.normal(0, 0.5, v.shape)  # half a pixel of landmark noise
    pose = HeadPoseEstimator(reference)(v, (480, 640))
    np.testing.assert_allclose(
        np.degrees([pose.rx, pose.ry, pose.rz]), [pitch, yaw, roll], atol=0.5
    )
    assert pose.scale == pytest.approx(scale, rel=0.01)
    assert pose.rms < 1.5


def test_synthau_poses_recover_the_generator_angles(base_face):
    # SynthAU renders with R = Rz(roll) Ry(yaw) Rx(pitch) in the mesh frame
    # (z toward the camera); about one axis at a time the OpenFace angle is
    # the generator's with the sign of an axis that the z flip reverses:
    # pose_Rx = -pitch, pose_Ry = -yaw, pose_Rz = roll.
    from geoconv_mm.datasets.synthau.generator import _rotation

    centred = base_face.vertices - base_face.vertices.mean(0)
    est = HeadPoseEstimator(reference=centred)
    for yaw, pitch, roll in ((25, 0, 0), (0, 15, 0), (0, 0, -12), (-40, 0, 0)):
        R = _rotation(yaw, pitch, roll)
        v = centred @ R.T * 300 + [128, 128, 0]
        p = est(v, (256, 256))
        np.testing.assert_allclose(
            np.degrees([p.rx, p.ry, p.rz]), [-pitch, -yaw, roll], atol=1e-6
        )


@pytest.mark.parametrize(
    'T', [(0.0, 0.0, 600.0), (80.0, -40.0, 600.0), (250.0, 150.0, 500.0)]
)
def test_pose_under_a_pinhole_camera(reference, T):
    # A head seen by OpenFace's default camera for 640x480 (f = 500), up to
    # 30 degrees off the optical axis: x and y are perspective projections,
    # z the relief in pixels (as MediaPipe gives it). The rotation is the
    # camera-frame one (not the apparent one, off by the view angle), and
    # weak perspective gets the position to within the head's relief.
    f, cx, cy = default_camera((480, 640))
    assert (f, cx, cy) == (500.0, 320.0, 240.0)
    T = np.array(T)
    R = rx(0.1) @ ry(-0.3) @ rz(0.05)
    cam = (FLIP @ reference.T).T @ R.T + T  # camera frame, z away
    x = f * cam[:, 0] / cam[:, 2] + cx
    y = f * cam[:, 1] / cam[:, 2] + cy
    z = -f * (cam[:, 2] - T[2]) / T[2]  # depth toward the camera, pixels
    pose = HeadPoseEstimator(reference)(np.stack([x, y, z], 1), (480, 640))
    np.testing.assert_allclose(
        [pose.tx, pose.ty, pose.tz], T, rtol=0.05, atol=3
    )
    np.testing.assert_allclose(
        [pose.rx, pose.ry, pose.rz], [0.1, -0.3, 0.05], atol=0.015
    )
    assert set(pose.to_dict()) == {
        'pose_Tx',
        'pose_Ty',
        'pose_Tz',
        'pose_Rx',
        'pose_Ry',
        'pose_Rz',
    }


def test_bad_meshes(reference):
    est = HeadPoseEstimator(reference)
    with pytest.raises(ValueError, match='reference'):
        est(np.zeros((10, 3)), (100, 100))
    with pytest.raises(ValueError, match='degenerate'):
        est(np.zeros_like(reference), (100, 100))
    with pytest.raises(ValueError, match='coincide'):
        frontal_reference(np.zeros((5, 3)), [0], [1], [2])
    s, R, t = fit_similarity(reference, 2 * reference + 1)
    assert s == pytest.approx(2) and np.allclose(R, np.eye(3))


def test_synthau_renders_with_identity_and_expression(base_face):
    # Rendered SynthAU frames: a new identity and an expression on every
    # frame, posed by the generator. Their camera is orthographic (a huge
    # focal length turns the perspective correction off).
    from geoconv_mm.datasets.synthau.generator import (
        SubjectRenderer,
        SynthAUSpec,
        _rotation,
    )

    spec = SynthAUSpec(image_size=128, max_yaw=40, max_pitch=20, max_roll=15)
    centred = base_face.vertices - base_face.vertices.mean(0)
    est = HeadPoseEstimator(reference=centred, camera=(1e12, 64.0, 64.0))
    errors = []
    for index in range(3):
        renderer = SubjectRenderer(base_face, spec, index)
        for _ in range(4):
            frame = renderer.frame()
            expected = matrix_to_euler(FLIP @ _rotation(*frame['pose']) @ FLIP)
            pose = est(frame['vertices'], (128, 128))
            errors.append(
                np.degrees(np.subtract([pose.rx, pose.ry, pose.rz], expected))
            )
    errors = np.abs(errors)
    assert errors.max() < 4.0 and errors.mean() < 1.5, errors


def test_the_reference_asset_is_what_its_script_computes():
    """The stored reference equals a fresh computation from the SynthAU base
    face, up to the last bit of float64 (numpy's reductions round
    differently on another instruction set, AVX-512 against AVX2; a change
    of MediaPipe's mesh or of the script moves it by far more)."""
    from geoconv_mm.face.head_pose import mediapipe_reference

    tool = load_tool('tools/misc/make_head_pose_reference.py')
    np.testing.assert_allclose(
        mediapipe_reference(), tool.compute_reference(), rtol=1e-13, atol=0
    )
