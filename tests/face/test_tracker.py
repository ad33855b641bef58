"""FaceTracker: ids kept over frames, new faces, retirement, determinism."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoconv_mm.face import FaceTracker


def box(cx, cy, side=60.0):
    return [cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2]


def test_two_faces_moving_keep_their_ids():
    tr = FaceTracker()
    ids = []
    for t in range(20):
        a, b = box(100 + 5 * t, 200), box(500 - 5 * t, 220)
        order = [a, b] if t % 2 == 0 else [b, a]  # input order must not matter
        got = tr.update(order)
        ids.append(got if t % 2 == 0 else got[::-1])
    assert ids == [[0, 1]] * 20


def test_new_face_gets_the_next_id_and_empty_frames_age_tracks():
    tr = FaceTracker(max_missed=2)
    assert tr.update([box(100, 100)]) == [0]
    assert tr.update([box(102, 100), box(400, 100)]) == [0, 1]
    assert tr.update([]) == []
    assert tr.update(np.zeros((0, 4))) == []
    # Missed 2 frames: still alive.
    assert tr.update([box(104, 100)]) == [0]
    # Face 1 has now been missed 3 frames: retired; it comes back as id 2.
    assert tr.update([box(104, 100), box(400, 100)]) == [0, 2]
    tr.reset()
    assert tr.update([box(400, 100)]) == [0]


def test_fast_motion_matches_on_landmarks():
    lm = np.array([[[-15.0, -10.0], [15.0, -10.0], [0.0, 5.0], [0.0, 18.0]]])
    tr = FaceTracker(min_iou=0.3, max_landmark_dist=0.7)
    assert tr.update([box(100, 100)], lm + [100, 100]) == [0]
    # Moved 36 px of a 60 px face: IoU 1440 / 5760 = 0.25 < 0.3, landmark
    # distance 36 / 60 = 0.6 <= 0.7 ...
    assert tr.update([box(136, 100)], lm + [136, 100]) == [0]
    # ... but without landmarks the same jump starts a new face.
    tr2 = FaceTracker(min_iou=0.3, max_landmark_dist=0.7)
    tr2.update([box(100, 100)])
    assert tr2.update([box(136, 100)]) == [1]
    with pytest.raises(ValueError, match='landmarks'):
        tr.update([box(0, 0)], np.zeros((2, 4, 2)))


def test_assignment_is_global_not_greedy():
    # Face A moves onto B's old place while B moves away: greedy matching
    # by best IoU would give B's id to A.
    tr = FaceTracker(min_iou=0.05)
    tr.update([box(100, 100), box(150, 100)])
    got = tr.update([box(130, 100), box(185, 100)])
    assert got == [0, 1]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_ids_follow_faces_whatever_the_order(n, seed):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 2000, (n, 2))
    centres = centres[np.argsort(centres[:, 0])]
    # Keep faces apart so that the truth is unambiguous.
    centres[:, 0] = np.arange(n) * 200 + 100
    vel = rng.uniform(-8, 8, (n, 2))
    tr_a, tr_b = FaceTracker(), FaceTracker()
    for t in range(8):
        boxes = [box(*(c + t * v)) for c, v in zip(centres, vel)]
        perm = rng.permutation(n)
        ids_a = tr_a.update(boxes)
        ids_b = tr_b.update([boxes[i] for i in perm])
        assert ids_a == list(range(n))
        if t == 0:
            first_b = {int(perm[k]): ids_b[k] for k in range(n)}
        else:  # each face keeps the id it got on frame 0
            assert {int(perm[k]): ids_b[k] for k in range(n)} == first_b
