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
