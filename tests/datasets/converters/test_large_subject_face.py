"""The default BP4D / DISFA pipeline (full-range detector, then a mesh on a
crop) finds a subject face that fills most of the frame."""

import cv2
import numpy as np
import pytest

pytest.importorskip('mediapipe')
skimage_data = pytest.importorskip('skimage.data')

from geoconv_mm.datasets.converters.common import DEFAULT_PIPELINE  # noqa: E402
from geoconv_mm.face import FacePipeline, MediaPipeFaceMesh, mesh_box  # noqa: E402

#: The largest face side (over the frame's shorter side) preparation must
#: handle: BP4D's subjects fill about 40-60 % of the side, DISFA's similar.
LARGEST = 0.8


@pytest.fixture(scope='module')
def astronaut():
    bgr = cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR)
    box = mesh_box(MediaPipeFaceMesh()(bgr).vertices)
    return bgr, box


@pytest.mark.parametrize('size', [(1040, 1392), (1024, 768)])  # BP4D, DISFA
def test_face_filling_most_of_the_frame_is_the_one_subject(astronaut, size):
    bgr, box = astronaut
    w, h = size
    side, centre = np.max(box[2:] - box[:2]), (box[:2] + box[2:]) / 2
    s = LARGEST * min(w, h) / side
    affine = np.array(
        [[s, 0, w / 2 - s * centre[0]], [0, s, h / 2 - s * centre[1]]]
    )
    frame = cv2.warpAffine(
        bgr, affine, (w, h), borderMode=cv2.BORDER_REPLICATE
    )
    faces = FacePipeline(**DEFAULT_PIPELINE).process_all(frame)
    assert len(faces) == 1
    found = mesh_box(faces[0].mesh_vertices)
    expected = np.concatenate(
        [affine[:, :2] @ box[:2], affine[:, :2] @ box[2:]]
    )
    expected += np.tile(affine[:, 2], 2)
    # The mesh lands where the scaled whole-image mesh is, within 5 % of the
    # face's side.
    np.testing.assert_allclose(found, expected, atol=0.05 * s * side)
