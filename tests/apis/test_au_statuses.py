"""Rows of faces that were detected but could not be analysed: the status,
the reason, the detector's box and score, and the head pose when the mesh
gives one; the CSV's per-AU column groups."""

import csv

import numpy as np
import pytest

pytest.importorskip('mediapipe')

from geoconv_mm.apis import (  # noqa: E402
    AUCsvWriter,
    AUInferencer,
    AUPrediction,
    au_csv_columns,
)
from geoconv_mm.apis.au_csv import OCCURRENCE_GROUPS, AUColumnGroup  # noqa
from geoconv_mm.face import FaceDetection, RawFace  # noqa: E402
from geoconv_mm.utils.frame_io import Frame  # noqa: E402

BOX = np.array([10.0, 20.0, 110.0, 140.0])


def one_face(image):
    return [FaceDetection(BOX.copy(), 0.83, np.zeros((0, 2)), ())]


def inferencer(model_files, reconstructor):
    config, checkpoint = model_files
    return AUInferencer(
        config,
        checkpoint,
        device='cpu',
        face_pipeline=dict(detector=one_face, reconstructor=reconstructor),
    )


def test_a_detected_face_without_a_mesh_is_a_no_mesh_row(model_files):
    inf = inferencer(model_files, lambda image, meta=None: None)
    frame = Frame(3, 0.1, np.zeros((200, 200, 3), np.uint8), 'v.mp4:3')
    (p,) = inf.iter_predictions([frame])
    assert not p.success and p.status == 'no_mesh'
    assert 'v.mp4:3' in p.reason and 'detected' in p.reason
    assert p.confidence == pytest.approx(0.83)
    np.testing.assert_array_equal(p.box, BOX)
    assert p.pose is None and p.face_id is None


def test_an_unusable_mesh_keeps_its_head_pose(model_files, astronaut):
    """A real mesh whose alignment keypoints are lost: the face cannot be
    analysed, but its pose is the one the whole face gives."""
    full = inferencer(model_files, dict(type='MediaPipeFaceMesh'))
    image = np.zeros((600, 600, 3), np.uint8)
    pose = full.front_end._pose(astronaut.mesh_vertices, image.shape[:2])

    def lost_keypoints(img, meta=None):
        nan = np.full(2, np.nan)
        return RawFace(
            astronaut.mesh_vertices,
            astronaut.surface.faces,
            dict(left_eye=nan, right_eye=nan, mouth=nan),
        )

    config, checkpoint = model_files
    inf = AUInferencer(
        config,
        checkpoint,
        device='cpu',
        face_pipeline=dict(
            detector=dict(type='WholeImageDetector'),
            reconstructor=lost_keypoints,
        ),
    )
    (p,) = inf.iter_predictions([Frame(0, 0.0, image, 'still.png')])
    assert p.status == 'degenerate_mesh' and 'not finite' in p.reason
    assert set(p.pose) == set(pose)
    for key, value in pose.items():
        assert p.pose[key] == pytest.approx(value)


def test_the_csv_writes_each_column_group(tmp_path):
    names = ['AU01', 'AU12']
    doubled = AUColumnGroup(
        'x',
        'twice the probability',
        lambda p: [f'{2 * v:.2f}' for v in p.probabilities],
    )
    groups = OCCURRENCE_GROUPS + (doubled,)
    assert au_csv_columns(names, groups)[-4:] == [
        'AU01_p',
        'AU12_p',
        'AU01_x',
        'AU12_x',
    ]
    p = np.array([0.25, 0.75])
    preds = [
        AUPrediction(0, 0.0, True, 0.9, p, (p >= 0.5).astype(int), face_id=0),
        AUPrediction(
            1,
            0.1,
            False,
            status='no_mesh',
            reason='a face\nwas seen',
            confidence=0.4,
            box=BOX,
        ),
    ]
    path = tmp_path / 'rows.csv'
    with AUCsvWriter(str(path), names, groups) as writer:
        for pred in preds:
            writer.write(pred)
    with open(path, newline='') as f:
        rows = list(csv.DictReader(f))
    assert (rows[0]['AU12_c'], rows[0]['AU12_p'], rows[0]['AU12_x']) == (
        '1',
        '0.7500',
        '1.50',
    )
    assert (
        rows[1]['status'] == 'no_mesh'
        and rows[1]['reason'] == 'a face was seen'
    )
    assert rows[1]['confidence'] == '0.400'
    assert all(rows[1][f'{n}_{g.suffix}'] == '' for n in names for g in groups)
    bad = AUColumnGroup('y', 'one value only', lambda p: ['1'])
    with AUCsvWriter(str(tmp_path / 'bad.csv'), names, [bad]) as writer:
        with pytest.raises(ValueError, match='1 AUy values for 2 AUs'):
            writer.write(preds[0])
