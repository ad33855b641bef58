"""FacePipeline on a real face, the reconstructors, and clear errors."""

import numpy as np
import pytest

from geoconv_mm.face import (
    DEFAULT_TEMPLATE,
    RECONSTRUCTORS,
    FacePipeline,
    NoFaceError,
    RawFace,
    keypoints_from_holes,
)
from geoconv_mm.geodesic import DegenerateMeshError
from geoconv_mm.utils.frame_io import read_image as load_image
from tests.fixtures.group_photo import group_photo


def test_astronaut_is_aligned(astronaut):
    r = astronaut
    assert r.crop.shape == (224, 224, 3) and r.crop.dtype == np.uint8
    assert r.confidence > 0.8
    assert r.surface.image_size == (224, 224)
    assert 0.25 < r.mask.mean() < 0.6
    # The similarity alignment puts eye and mouth centres near the template.
    kp = keypoints_from_holes(r.surface.vertices, r.surface.faces)
    for name, (fx, fy) in DEFAULT_TEMPLATE.items():
        assert np.hypot(kp[name][0] - fx * 224, kp[name][1] - fy * 224) < 6, (
            name
        )
    # The whole mesh sits inside the crop; the nose (max z) is near the middle.
    v = r.surface.vertices
    assert v[:, :2].min() >= 0 and v[:, :2].max() < 224
    nose = v[np.argmax(v[:, 2]), :2]
    assert abs(nose[0] - 112) < 15 and 100 < nose[1] < 160
    # Rotation + uniform scale only.
    a = r.affine[:, :2]
    assert abs(a[0, 0] - a[1, 1]) < 1e-9 and abs(a[0, 1] + a[1, 0]) < 1e-9


def test_flipped_face_gives_a_mirrored_mesh(
    pipeline, astronaut, astronaut_bgr
):
    flipped = pipeline.process(np.ascontiguousarray(astronaut_bgr[:, ::-1]))
    a = astronaut.surface.vertices
    b = flipped.surface.flip_horizontal().vertices
    # Landmark i of the mirror image is the mirror landmark of i, so compare
    # point sets; MediaPipe is not exactly equivariant, they agree within a few
    # pixels.
    from scipy.spatial import cKDTree

    dist, _ = cKDTree(b[:, :2]).query(a[:, :2])
    assert np.median(dist) < 3


def test_no_face_and_corrupt_file(pipeline, tmp_path):
    with pytest.raises(NoFaceError, match='blank'):
        pipeline.process(np.full((240, 320, 3), 127, np.uint8), name='blank')
    bad = tmp_path / 'broken.jpg'
    bad.write_bytes(b'\xff\xd8 this is not a jpeg')
    with pytest.raises(ValueError, match='broken.jpg'):
        load_image(str(bad))
    with pytest.raises(ValueError, match='BGR image'):
        pipeline.process(np.zeros((10, 10), np.uint8), name='gray')


def test_degenerate_mesh_is_rejected(astronaut):
    faces = astronaut.surface.faces

    def nan_mesh(image, meta=None):
        v = np.full((468, 3), np.nan)
        return RawFace(
            v,
            faces,
            dict(left_eye=np.zeros(2), right_eye=np.ones(2), mouth=np.ones(2)),
        )

    with pytest.raises(DegenerateMeshError, match='frame 3.*NaN'):
        FacePipeline(reconstructor=nan_mesh).process(
            np.zeros((64, 64, 3), np.uint8), name='frame 3'
        )


def test_mesh_file_reconstructor(tmp_path, astronaut, astronaut_bgr):
    import trimesh

    v = astronaut.surface.vertices.astype(np.float64)
    f = astronaut.surface.faces
    trimesh.Trimesh(v, f, process=False).export(str(tmp_path / 'img7.obj'))
    np.save(tmp_path / 'img7.npy', v)
    np.save(tmp_path / 'faces.npy', f)
    meta = dict(source='/data/img7.jpg', frame_index=0)
    for cfg in (
        dict(
            type='MeshFileReconstructor', pattern=str(tmp_path / '{stem}.obj')
        ),
        dict(
            type='MeshFileReconstructor',
            pattern=str(tmp_path / '{stem}.npy'),
            faces=str(tmp_path / 'faces.npy'),
        ),
    ):
        # The crop's mesh, read back as a source-image mesh, is already
        # aligned: re-aligning it changes nothing.
        r = FacePipeline(reconstructor=cfg).process(astronaut.crop, meta=meta)
        np.testing.assert_allclose(r.surface.vertices, v, atol=1e-3)
        np.testing.assert_array_equal(r.mask, astronaut.mask)
    rec = RECONSTRUCTORS.build(
        dict(
            type='MeshFileReconstructor', pattern=str(tmp_path / '{stem}.obj')
        )
    )
    with pytest.raises(FileNotFoundError, match='img8.obj'):
        rec(astronaut.crop, dict(source='img8.png'))


def test_linear_3dmm_is_eq1(tmp_path, astronaut):
    rng = np.random.default_rng(0)
    v = astronaut.surface.vertices.astype(np.float64)
    mean = v - v.mean(0)
    id_basis = rng.normal(size=(v.size, 4))
    exp_basis = rng.normal(size=(v.size, 3))
    np.savez(
        tmp_path / 'model.npz',
        mean=mean,
        id_basis=id_basis,
        exp_basis=exp_basis,
        faces=astronaut.surface.faces,
    )
    alpha_id = np.array([0.1, -0.2, 0.0, 0.05])
    alpha_exp = np.array([0.3, 0.0, -0.1])
    proj = np.array([[1.0, 0, 0, 112], [0, 1.0, 0, 112], [0, 0, 1.0, 0]])
    np.savez(
        tmp_path / 'f_00012.npz',
        alpha_id=alpha_id,
        alpha_exp=alpha_exp,
        projection=proj,
    )
    rec = RECONSTRUCTORS.build(
        dict(
            type='Linear3DMM',
            model=str(tmp_path / 'model.npz'),
            coefficients=str(tmp_path / 'f_{frame_index:05d}.npz'),
        )
    )
    raw = rec(
        np.zeros((224, 224, 3), np.uint8),
        dict(source='clip.mp4', frame_index=12),
    )
    expected = (
        mean.ravel() + id_basis @ alpha_id + exp_basis @ alpha_exp
    ).reshape(-1, 3)
    np.testing.assert_allclose(
        raw.vertices, expected + [112, 112, 0], atol=1e-9
    )
    with pytest.raises(ValueError, match='f_00013.npz'):
        rec(
            np.zeros((8, 8, 3), np.uint8),
            dict(source='clip.mp4', frame_index=13),
        )


def test_every_face_of_a_group_photo(astronaut_bgr):
    spots = [(50, 100, 300), (500, 150, 220), (900, 400, 400)]
    canvas = group_photo(astronaut_bgr, spots)
    multi = FacePipeline(
        detector=dict(type='MediaPipeFaceDetector'), crop_size=112
    )
    faces = multi.process_all(canvas, name='group')
    assert len(faces) == 3
    # Largest first; each mesh lies on its own pasted face.
    sizes = [f.box[2] - f.box[0] for f in faces]
    assert sizes == sorted(sizes, reverse=True)
    for face in faces:
        c = (face.box[:2] + face.box[2:]) / 2
        owners = [
            s
            for s in spots
            if s[0] < c[0] < s[0] + s[2] and s[1] < c[1] < s[1] + s[2]
        ]
        assert len(owners) == 1
        mc = face.mesh_vertices[:, :2].mean(0)
        x, y, side = owners[0]
        assert x < mc[0] < x + side and y < mc[1] < y + side
        assert face.crop.shape == (112, 112, 3) and face.mask.any()
    assert len({tuple(np.round(f.box)) for f in faces}) == 3
    two = FacePipeline(
        detector=dict(type='MediaPipeFaceDetector'),
        crop_size=112,
        max_faces=2,
    )
    kept = two.process_all(canvas, name='group')
    assert len(kept) == 2
    np.testing.assert_allclose(kept[0].box, faces[0].box)
    # The single-face call is the largest of the list.
    np.testing.assert_allclose(multi.process(canvas).box, faces[0].box)
    empty = np.full((400, 400, 3), 90, np.uint8)
    assert multi.process_all(empty) == []
    with pytest.raises(ValueError, match='max_faces'):
        FacePipeline(max_faces=0)


def test_track_follows_a_moving_face_without_the_detector(astronaut_bgr):
    pipe = FacePipeline(detector=dict(type='MediaPipeFaceDetector'))
    assert pipe.can_track
    first = group_photo(astronaut_bgr, [(100, 120, 240)], (480, 640))
    moved = group_photo(astronaut_bgr, [(130, 110, 250)], (480, 640))
    (previous,) = pipe.process_all(first)
    pipe.detector = None  # tracking must not detect
    tracked = pipe.track(moved, previous)
    pipe.detector = FacePipeline(
        detector=dict(type='MediaPipeFaceDetector')
    ).detector
    (full,) = pipe.process_all(moved)
    # Reference: the first frame's mesh carried by the known paste map
    # (patch at (100, 120) side 240 -> (130, 110) side 250).
    k = 250 / 240
    expected = (previous.mesh_vertices[:, :2] - (100, 120)) * k + (130, 110)
    side = 240 * k
    err_tracked = np.linalg.norm(
        tracked.mesh_vertices[:, :2] - expected, axis=1
    )
    err_full = np.linalg.norm(full.mesh_vertices[:, :2] - expected, axis=1)
    # The landmark model on the tracking region lands within 3 % of the
    # face patch's side of the truth (about 1.7 % here; the full path, on
    # the same crop as the first frame's, about 0.1 %).
    assert err_full.mean() < 0.01 * side
    assert err_tracked.mean() < 0.03 * side
    assert tracked.confidence == previous.confidence
    assert tracked.crop.shape == full.crop.shape
    with pytest.raises(NoFaceError):
        pipe.track(np.full_like(moved, 90), previous)


def test_whole_image_pipeline_does_not_track():
    assert not FacePipeline(detector=dict(type='WholeImageDetector')).can_track
