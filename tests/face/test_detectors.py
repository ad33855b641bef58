"""The face detector stage: tiling, MediaPipe on real photos, crops."""

import cv2
import numpy as np
import pytest
import skimage.data
from hypothesis import given, settings
from hypothesis import strategies as st

from geoconv_mm.face import (
    FACE_DETECTORS,
    FaceDetection,
    WholeImageDetector,
    build_face_detector,
    face_crop,
    largest_face,
    mesh_in_detection,
)
from geoconv_mm.face.detectors import pyramid_tiles, tile_grid

pytest.importorskip('mediapipe')


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 900),
    st.integers(1, 900),
    st.integers(8, 400),
    st.floats(0, 0.6),
)
def test_tiles_cover_the_image_with_the_overlap(h, w, tile, overlap):
    tiles = tile_grid(h, w, tile, overlap)
    covered = np.zeros((h, w), int)
    for x0, y0, x1, y1 in tiles:
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
        assert x1 - x0 == min(tile, w) and y1 - y0 == min(tile, h)
        covered[y0:y1, x0:x1] += 1
    assert covered.min() >= 1
    xs = sorted({t[0] for t in tiles})
    for a, b in zip(xs, xs[1:]):  # neighbours share >= overlap * tile
        assert a + tile - b >= overlap * tile - 1


def test_pyramid_ends_with_the_whole_image():
    tiles = pyramid_tiles(2500, 2000, 40, 0.1, 3.0, 0.35)
    assert tiles[-1] == (0, 0, 2000, 2500)
    sides = sorted({t[2] - t[0] for t in tiles[:-1]})
    assert sides == [400, 1200]
    assert pyramid_tiles(300, 300, 40, 0.1, 3.0, 0.35) == [(0, 0, 300, 300)]
    assert pyramid_tiles(3000, 3000, None, 0.1, 3.0, 0.35) == [
        (0, 0, 3000, 3000)
    ]


@pytest.fixture(scope='module')
def astronaut():
    return np.ascontiguousarray(skimage.data.astronaut()[..., ::-1])


@pytest.fixture(scope='module')
def detector():
    return FACE_DETECTORS.build(dict(type='MediaPipeFaceDetector'))


def test_astronaut_face(detector, astronaut):
    dets = detector(astronaut)
    assert len(dets) == 1
    d = dets[0]
    assert d.score > 0.8
    # The face in the photograph: about 100 px, around (226, 120).
    assert 85 < d.size < 125 and np.abs(d.center - [226, 120]).max() < 15
    kp = dict(zip(d.keypoint_names, d.keypoints))
    b = d.box
    for name in ('right_eye', 'left_eye', 'nose_tip', 'mouth_center'):
        assert b[0] < kp[name][0] < b[2] and b[1] < kp[name][1] < b[3]
    # The subject's right eye is at the smaller x; the mouth below the eyes.
    assert kp['right_eye'][0] < kp['left_eye'][0]
    assert kp['mouth_center'][1] > kp['right_eye'][1]


def _paste(canvas, face, x, y, side):
    patch = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
    canvas[y : y + side, x : x + side] = patch


def test_small_and_large_faces_in_a_large_image(detector, astronaut):
    # The astronaut's face region (face about 0.45 of the patch side).
    face = astronaut[0:230, 110:340]
    canvas = np.full((1500, 1800, 3), 100, np.uint8)
    truth = {(200, 300, 100): 45, (1100, 200, 600): 270, (900, 1200, 200): 90}
    for x, y, side in truth:
        _paste(canvas, face, x, y, side)
    dets = detector(canvas)
    assert len(dets) == 3
    for (x, y, side), size in truth.items():
        centre = np.array([x + side * 0.5, y + side * 0.52])
        near = [
            d for d in dets if np.linalg.norm(d.center - centre) < 0.3 * size
        ]
        assert len(near) == 1 and 0.6 < near[0].size / size < 1.5
    # One pass over the whole image, as before, loses the 45 px face.
    whole = build_face_detector(
        dict(type='MediaPipeFaceDetector', min_face_size=None)
    )
    assert len(whole(canvas)) < 3
    best = build_face_detector(dict(type='MediaPipeFaceDetector', max_faces=1))
    assert len(best(canvas)) == 1
    assert largest_face(dets).size > 200


def test_no_face_and_bad_input(detector):
    rng = np.random.default_rng(0)
    assert detector(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)) == []
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'):
        detector(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match='model'):
        FACE_DETECTORS.build(dict(type='MediaPipeFaceDetector', model='far'))


def test_whole_image_detector():
    (d,) = WholeImageDetector()(np.zeros((20, 30, 3), np.uint8))
    assert d.box.tolist() == [0, 0, 30, 20] and d.score == 1.0


def test_face_crop_maps_back_to_the_image(astronaut):
    det = FaceDetection(
        np.array([170.0, 60.0, 280.0, 180.0]), 0.9, np.zeros((0, 2))
    )
    crop = face_crop(astronaut, det, margin=2.0, size=256)
    assert crop.image.shape == (256, 256, 3)
    side = 240.0
    np.testing.assert_allclose(
        crop.region,
        [225 - side / 2, 120 - side / 2, 225 + side / 2, 120 + side / 2],
    )
    # Crop pixel (u, v) shows image pixel region[:2] + (u, v) / scale.
    uv = np.array([[30.0, 40.0], [200.0, 128.0]])
    xy = crop.points_to_image(uv)
    for (u, v), (x, y) in zip(uv, xy):
        assert (
            np.abs(
                crop.image[int(v), int(u)].astype(int)
                - astronaut[int(round(y)), int(round(x))]
            ).max()
            < 40
        )
    mesh = np.array([[128.0, 128.0, 10.0], [64.0, 100.0, -4.0]])
    back = crop.points_to_image(mesh)
    np.testing.assert_allclose(back[:, 2], mesh[:, 2] / crop.scale)
    # A crop of a face at the image's corner is padded with black.
    corner = FaceDetection(
        np.array([0.0, 0.0, 50.0, 50.0]), 1.0, np.zeros((0, 2))
    )
    c = face_crop(astronaut, corner, size=None)
    assert c.image.shape == (100, 100, 3) and c.image[:20, :20].max() == 0
    ring = np.stack(
        [
            np.cos(np.linspace(0, 6, 20)),
            np.sin(np.linspace(0, 6, 20)),
            np.zeros(20),
        ],
        1,
    )
    assert mesh_in_detection(ring * 50 + [225, 120, 0], det)
    assert not mesh_in_detection(ring * 50 + [400, 120, 0], det)


def test_mtcnn_finds_the_face_with_named_points(astronaut, pipeline):
    det = FACE_DETECTORS.build(dict(type='MTCNNFaceDetector'))
    (face,) = det(astronaut)
    mesh = pipeline.process(astronaut)
    truth = np.concatenate(
        [mesh.mesh_vertices[:, :2].min(0), mesh.mesh_vertices[:, :2].max(0)]
    )
    from geoconv_mm.face import box_iou

    assert box_iou(face.box[None], truth[None])[0, 0] > 0.5
    assert 0.7 <= face.score <= 1
    points = dict(zip(face.keypoint_names, face.keypoints))
    # The subject's right eye is on the image's left.
    assert points['right_eye'][0] < points['left_eye'][0]
    assert points['mouth_right'][0] < points['mouth_left'][0]
    assert (
        points['right_eye'][1]
        < points['nose_tip'][1]
        < points['mouth_left'][1]
    )
    # Smaller than the smallest face: nothing, not an error.
    assert det(astronaut[:30, :30].copy()) == []
    with pytest.raises(ValueError, match='min_face_size'):
        FACE_DETECTORS.build(dict(type='MTCNNFaceDetector', min_face_size=8))


def test_union_keeps_earlier_detectors_faces():
    def fixed(*faces):
        return lambda image: [
            FaceDetection(np.array(b, float), s, np.zeros((0, 2)), ())
            for b, s in faces
        ]

    union = FACE_DETECTORS.build(
        dict(
            type='UnionFaceDetector',
            detectors=[
                fixed(([0, 0, 100, 100], 0.55)),
                fixed(([4, 2, 98, 104], 0.99), ([300, 0, 360, 60], 0.8)),
                fixed(([301, 1, 359, 61], 0.9), ([0, 200, 50, 250], 0.1)),
            ],
        )
    )
    image = np.zeros((400, 400, 3), np.uint8)
    kept = union(image)
    assert [d.score for d in kept] == [0.55, 0.8, 0.1]
    union.max_faces = 2
    assert len(union(image)) == 2
    with pytest.raises(ValueError, match='at least one'):
        FACE_DETECTORS.build(dict(type='UnionFaceDetector', detectors=[]))


def test_the_default_detector_is_mediapipe_then_mtcnn(astronaut):
    from geoconv_mm.face import (
        MediaPipeFaceDetector,
        MTCNNFaceDetector,
        UnionFaceDetector,
        default_detector_config,
    )

    det = build_face_detector(default_detector_config())
    assert isinstance(det, UnionFaceDetector)
    assert [type(d) for d in det.detectors] == [
        MediaPipeFaceDetector,
        MTCNNFaceDetector,
    ]
    (face,) = det(astronaut)  # one face, MediaPipe's
    (mp,) = det.detectors[0](astronaut)
    np.testing.assert_array_equal(face.box, mp.box)
