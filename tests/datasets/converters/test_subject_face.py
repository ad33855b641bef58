"""BP4D / DISFA preparation on frames that hold a second face: the largest
face (the subject) is kept, and the report counts and lists those frames."""

import json
import logging
import os.path as osp

import cv2
import numpy as np
import pytest

from geoconv_mm.datasets.converters import bp4d, disfa
from tests.fixtures.builders import (
    bp4d_rows,
    disfa_video_path,
    write_bp4d_csv,
    write_bp4d_images,
    write_disfa_labels,
    write_disfa_video,
)
from tests.fixtures.group_photo import group_photo

pytest.importorskip('mediapipe')

#: (x, y, side) of the subject and of a smaller face beside it.
SUBJECT, BYSTANDER = (300, 120, 300), (30, 60, 160)
CANVAS = (480, 640)
HEADER = [0, 1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24]


def inside(box, spot):
    x, y, s = spot
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return x < cx < x + s and y < cy < y + s


@pytest.fixture(scope='module')
def frames(astronaut_bgr):
    alone = group_photo(astronaut_bgr, [SUBJECT], CANVAS)
    pair = group_photo(astronaut_bgr, [SUBJECT, BYSTANDER], CANVAS)
    return alone, pair


def check_report(out, source_frame, caplog):
    report = json.loads((out / 'prepare_report.json').read_text())
    assert report['frames_with_several_faces'] == 1
    assert report['problem_counts']['several_faces'] == 1
    (item,) = report['problems']['several_faces']
    assert item['frame'] == source_frame and item['faces'] == 2
    assert inside(item['kept_box'], SUBJECT)
    assert all(
        inside(b, s) for b, s in zip(item['boxes'], (SUBJECT, BYSTANDER))
    )
    assert item['boxes'][0] == item['kept_box']
    logged = [r.getMessage() for r in caplog.records]
    assert any(
        'more than one face' in m
        and '1 frame(s)' in m
        and f'frame {source_frame}' in m
        for m in logged
    ), logged
    return report


def test_bp4d_keeps_the_subject(tmp_path, frames, caplog):
    alone, pair = frames
    root, out = str(tmp_path / 'BP4D'), tmp_path / 'out'
    numbers = [2440, 2441, 2442]
    labels = np.zeros((3, 12), np.int64)
    labels[:, 0] = [1, 0, 1]
    write_bp4d_csv(
        osp.join(root, 'AUCoding/AU_OCC/F001_T1.csv'),
        HEADER,
        bp4d_rows(numbers, labels, HEADER),
    )
    write_bp4d_images(
        root,
        'F001',
        'T1',
        numbers,
        True,
        {2440: alone, 2441: pair, 2442: alone},
    )
    with caplog.at_level(logging.INFO, logger='geoconv_mm.prepare'):
        assert bp4d.main([root, '--out', str(out)]) == 0
    check_report(out, 2441, caplog)
    ann = json.loads((out / 'annotations/bp4d.json').read_text())
    assert [e['frame'] for e in ann['data_list']] == numbers
    crops = {
        e['frame']: cv2.imread(str(out / e['img_path'])).astype(float)
        for e in ann['data_list']
    }
    # The kept face is the subject: its crop is the lone subject's crop.
    assert np.abs(crops[2441] - crops[2440]).mean() < 3
    assert not list((out / 'frames/F001/T1').glob('*_face*'))

    # A resumed run reports the same frame from the job summary.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger='geoconv_mm.prepare'):
        assert bp4d.main([root, '--out', str(out)]) == 0
    check_report(out, 2441, caplog)


def test_disfa_keeps_the_subject(tmp_path, frames, caplog):
    alone, pair = frames
    root, out = str(tmp_path / 'DISFA'), tmp_path / 'out'
    write_disfa_video(disfa_video_path(root, 'SN001'), [alone, alone, pair])
    write_disfa_labels(root, 'SN001', {1: [0, 2, 4], 2: [1, 1, 1]})
    with caplog.at_level(logging.INFO, logger='geoconv_mm.prepare'):
        assert disfa.main([root, '--out', str(out), '--au-ids', '1,2']) == 0
    check_report(out, 2, caplog)
    ann = json.loads((out / 'annotations/disfa.json').read_text())
    assert [e['frame'] for e in ann['data_list']] == [0, 1, 2]
