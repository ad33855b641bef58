"""The detection benchmark's set builder and matching rule."""

import os.path as osp

import numpy as np
import pytest
import skimage.data

from tests.fixtures.paths import REPO_ROOT as ROOT
from tests.fixtures.tools import load_tool

TOOL = osp.join(ROOT, 'tools', 'benchmarks', 'benchmark_face_detection.py')


@pytest.fixture(scope='module')
def tool():
    return load_tool(TOOL)


def test_match_hand_cases(tool):
    truth = np.array([[0, 0, 100, 100], [300, 300, 340, 340]], float)
    boxes = np.array(
        [
            [10, 5, 105, 100],  # face 0
            [0, 0, 100, 100],  # face 0 again: a false positive
            [305, 300, 345, 338],  # face 1
            [600, 600, 650, 650],  # nothing there
            [0, 0, 400, 400],
        ]
    )  # too large for either
    found, false = tool.match(truth, boxes, [0.9, 0.8, 0.7, 0.6, 0.95])
    assert found.tolist() == [True, True] and false == 3
    found, false = tool.match(truth, np.zeros((0, 4)), [])
    assert found.tolist() == [False, False] and false == 0


def test_paste_face_box_follows_scale_and_rotation(tool):
    src = np.zeros((200, 200, 3), np.uint8)
    pts = np.array(
        [[50.0, 60.0], [150.0, 60.0], [150.0, 160.0], [50.0, 160.0]]
    )
    canvas = np.zeros((500, 500, 3), np.uint8)
    box = tool.paste_face(canvas, src, pts, 50.0, (250, 250), 0.0)
    np.testing.assert_allclose(box, [225, 225, 275, 275], atol=1e-6)
    box = tool.paste_face(canvas, src, pts, 50.0, (250, 250), 45.0)
    half = 25 * np.sqrt(2)
    np.testing.assert_allclose(
        box, [250 - half, 250 - half, 250 + half, 250 + half], atol=1e-6
    )


def test_set_is_deterministic_and_faces_fit(tool):
    face = np.ascontiguousarray(skimage.data.astronaut()[..., ::-1])
    pts = np.array(
        [[175.0, 70.0], [280.0, 70.0], [280.0, 180.0], [175.0, 180.0]]
    )
    a = tool.build_eval_set(2, 700, 5, seed=3, sources=[(face, pts)])
    b = tool.build_eval_set(2, 700, 5, seed=3, sources=[(face, pts)])
    for (ia, ta), (ib, tb) in zip(a, b):
        assert np.array_equal(ia, ib) and np.array_equal(ta, tb)
        assert ia.shape == (700, 700, 3) and len(ta) >= 1
        assert (ta >= -1).all() and (ta <= 701).all()
        sizes = (ta[:, 2:] - ta[:, :2]).max(1)
        assert (sizes > 0.99 * tool.SIZE_EDGES[0]).all()


def test_match_against_given_sizes(tool):
    # A turned face: a narrow true box; the detector's box is as high.
    truth = np.array([[100, 90, 120, 210]], float)
    boxes = np.array([[35, 75, 185, 225]], float)
    found, false = tool.match(truth, boxes, [0.9])
    assert not found[0] and false == 1  # 150 px against a mean side of 70
    sizes = tool._box_sizes(truth)
    assert sizes.tolist() == [120.0]
    found, false = tool.match(truth, boxes, [0.9], sizes)
    assert found[0] and false == 0


@pytest.fixture(scope='module')
def subject():
    pytest.importorskip('mediapipe')
    return load_tool(TOOL).synthau_subjects(1)[0]


def test_a_turned_face_is_narrower_and_keeps_its_height(tool, subject):
    rng = np.random.default_rng(0)
    frontal = tool.render_at_yaw(subject, 0.0, 90, rng)
    turned = tool.render_at_yaw(subject, 90.0, 90, rng)
    for face, alpha, pts in (frontal, turned):
        assert face.shape[:2] == alpha.shape
        assert 0 <= alpha.min() and alpha.max() <= 1
        inside = (pts >= 0) & (pts < alpha.shape[0])
        assert inside.all()
        # The face is drawn where its mesh is.
        assert alpha[tuple(np.round(pts[:, ::-1]).astype(int).T)].mean() > 0.8
    width = np.ptp(frontal[2][:, 0])
    assert width == pytest.approx(90, rel=1e-6)
    assert np.ptp(turned[2][:, 0]) < 0.8 * width
    assert np.ptp(turned[2][:, 1]) == pytest.approx(
        np.ptp(frontal[2][:, 1]), rel=0.05
    )
    # Wider than RENDER_WIDTH: drawn smaller, then scaled to the width.
    big = tool.render_at_yaw(subject, 30.0, 300, rng)
    assert big[0].shape[0] == round(
        np.ceil(1.6 * tool.RENDER_WIDTH) * 300 / tool.RENDER_WIDTH
    )


def test_yaw_set_is_deterministic(tool, subject):
    kw = dict(
        image_size=500,
        yaws=(0, 60),
        sizes=(60, 100),
        subjects=[subject, subject],
    )
    a = tool.build_yaw_set(**kw)
    b = tool.build_yaw_set(**kw)
    assert [d['yaw'] for d in a] == [0.0, -0.0, 60.0, -60.0]
    for da, db in zip(a, b):
        assert np.array_equal(da['image'], db['image'])
        assert np.array_equal(da['boxes'], db['boxes'])
        assert da['image'].shape == (500, 500, 3)
        assert (da['boxes'] >= 0).all() and (da['boxes'] <= 500).all()


def test_union_keeps_the_first_detectors_faces(tool):
    from geoconv_mm.face import FaceDetection

    def det(box, score):
        return FaceDetection(np.array(box, float), score, np.zeros((0, 2)), ())

    first = [det([0, 0, 100, 100], 0.6)]
    second = [det([5, 5, 100, 100], 0.99), det([300, 300, 360, 360], 0.7)]
    kept = tool.union_detections(first, second)
    assert [d.score for d in kept] == [0.6, 0.7]
    assert tool.union_detections([], []) == []
    assert [d.score for d in tool.union_detections([], second)] == [0.99, 0.7]
