"""Box overlap and non-maximum suppression against plain loops."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoconv_mm.face.boxes import box_containment, box_iou, nms


def _iou_loop(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (
        (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    )
    return inter / union if union > 0 else 0.0


def test_iou_hand_values():
    a = [[0, 0, 10, 10]]
    b = [[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10], [2, 2, 4, 4]]
    np.testing.assert_allclose(box_iou(a, b), [[50 / 150, 0, 1, 4 / 100]])
    np.testing.assert_allclose(box_containment(a, b), [[0.5, 0, 1, 1]])
    assert box_iou([], b).shape == (0, 4)
    with pytest.raises(ValueError, match=r'\(N, 4\)'):
        box_iou(np.zeros((2, 3)), b)


boxes_st = st.lists(
    st.tuples(
        st.floats(0, 90), st.floats(0, 90), st.floats(1, 40), st.floats(1, 40)
    ).map(lambda t: (t[0], t[1], t[0] + t[2], t[1] + t[3])),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(boxes_st, st.data())
def test_nms_properties(boxes, data):
    scores = data.draw(
        st.lists(st.floats(0, 1), min_size=len(boxes), max_size=len(boxes))
    )
    b = np.array(boxes)
    iou = np.array([[_iou_loop(x, y) for y in b] for x in b])
    keep = nms(b, scores, 0.3)
    kept = set(keep.tolist())
    # Kept boxes do not overlap each other beyond the threshold ...
    for i in kept:
        for j in kept:
            assert i == j or iou[i, j] <= 0.3 + 1e-12
    # ... and every dropped box overlaps a kept box scoring at least as high.
    for i in set(range(len(b))) - kept:
        assert any(iou[i, j] > 0.3 and scores[j] >= scores[i] for j in kept)
    assert all(
        scores[keep[k]] >= scores[keep[k + 1]] for k in range(len(keep) - 1)
    )


def test_nms_containment_drops_a_box_inside_a_better_one():
    b = [[0, 0, 100, 100], [10, 10, 50, 50], [200, 0, 240, 40]]
    assert nms(b, [0.9, 0.95, 0.5], 0.3).tolist() == [1, 0, 2]
    assert nms(b, [0.9, 0.8, 0.5], 0.3, 0.7).tolist() == [0, 2]
