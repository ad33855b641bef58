"""Frames with several faces in process_frames and prepare_geodesic.py: one
output per face, and a summary listing each face's box, score and name."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from geoconv_mm.datasets.converters.common import read_geometry_status
from geoconv_mm.datasets.converters.jobs import (
    FrameTask,
    face_out_name,
    process_frames,
    read_summaries,
)
from geoconv_mm.geodesic import FaceSurface
from tests.fixtures.group_photo import group_photo
from tests.fixtures.paths import REPO_ROOT as ROOT

pytest.importorskip('mediapipe')

#: (x, y, side) of the pasted faces; by size: the third, the first, the second.
SPOTS = [(50, 100, 300), (500, 150, 220), (900, 400, 400)]
PIPELINE = dict(detector=dict(type='MediaPipeFaceDetector'), crop_size=96)


def owner(box):
    """Index of the spot holding the box's centre (exactly one must)."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    hits = [
        i
        for i, (x, y, s) in enumerate(SPOTS)
        if x < cx < x + s and y < cy < y + s
    ]
    assert len(hits) == 1, (box, hits)
    return hits[0]


@pytest.fixture(scope='module')
def inputs(tmp_path_factory, astronaut_bgr):
    d = tmp_path_factory.mktemp('multi')
    cv2.imwrite(str(d / 'group.png'), group_photo(astronaut_bgr, SPOTS))
    cv2.imwrite(
        str(d / 'solo.png'), group_photo(astronaut_bgr, [(300, 200, 300)])
    )
    cv2.imwrite(str(d / 'blank.png'), np.full((200, 200, 3), 90, np.uint8))
    return d


def tasks(d):
    return [
        FrameTask(str(d / f'{n}.png'), 0, n)
        for n in ('group', 'solo', 'blank')
    ]


def by_name(summary):
    return {e['out_name']: e for e in summary['frames']}


def test_every_face_is_written_and_listed(inputs, tmp_path):
    out = str(tmp_path / 'out')
    summary = process_frames(
        tasks(inputs), out, pipeline_cfg=PIPELINE, workers=0, progress=False
    )
    entries = by_name(summary)
    group = entries['group']
    assert group['status'] == 'ok'
    faces = group['faces']
    # Largest first: the 400, 300 and 220 px spots.
    assert [owner(f['box']) for f in faces] == [2, 0, 1]
    assert [f['face'] for f in faces] == [0, 1, 2]
    assert [f['out_name'] for f in faces] == [
        'group',
        'group_face1',
        'group_face2',
    ]
    for f in faces:
        assert 0.5 <= f['confidence'] <= 1 and 0 < f['mesh_confidence'] <= 1
        base = os.path.join(out, f['out_name'])
        assert cv2.imread(base + '.jpg').shape == (96, 96, 3)
        surf = FaceSurface.load(base + '.npz')
        assert surf.image_size == (96, 96) and surf.vertices.shape[0] == 468
        side = f['box'][2] - f['box'][0]
        assert 0.3 * SPOTS[owner(f['box'])][2] < side <= 400
    (solo,) = entries['solo']['faces']
    assert solo['out_name'] == 'solo' and not os.path.exists(
        os.path.join(out, 'solo_face1.npz')
    )
    assert entries['blank']['status'] == 'no_face'
    assert entries['blank']['faces'] == []
    assert summary['counts'] == dict(ok=2, no_face=1, error=0)

    # The summary readers see one entry per frame, faces included.
    read = read_summaries(out)
    assert read[(str(inputs / 'group.png'), 0)]['faces'] == faces
    assert set(read_geometry_status(out)) == {'group', 'solo', 'blank'}

    # Resume skips finished frames; a frame missing one face's record is
    # redone.
    stamp = os.stat(os.path.join(out, 'solo.npz')).st_mtime_ns
    os.unlink(os.path.join(out, 'group_face2.npz'))
    again = process_frames(
        tasks(inputs), out, pipeline_cfg=PIPELINE, workers=0, progress=False
    )
    assert os.stat(os.path.join(out, 'solo.npz')).st_mtime_ns == stamp
    assert os.path.isfile(os.path.join(out, 'group_face2.npz'))
    assert [f['box'] for f in by_name(again)['group']['faces']] == [
        f['box'] for f in faces
    ]


def test_max_faces_and_largest_only(inputs, tmp_path):
    two = process_frames(
        tasks(inputs)[:1],
        str(tmp_path / 'two'),
        pipeline_cfg=dict(PIPELINE, max_faces=2),
        workers=0,
        progress=False,
    )
    assert [owner(f['box']) for f in two['frames'][0]['faces']] == [2, 0]
    assert not (tmp_path / 'two' / 'group_face2.npz').exists()

    largest = process_frames(
        tasks(inputs)[:1],
        str(tmp_path / 'largest'),
        pipeline_cfg=PIPELINE,
        workers=0,
        progress=False,
        faces='largest',
    )
    faces = largest['frames'][0]['faces']
    assert [owner(f['box']) for f in faces] == [2, 0, 1]
    assert [f['out_name'] for f in faces] == ['group', None, None]
    written = sorted(os.listdir(tmp_path / 'largest'))
    assert written == ['group.jpg', 'group.npz', 'summary.json']


def test_a_name_that_is_another_frames_face_is_refused(inputs, tmp_path):
    a = str(inputs / 'solo.png')
    clash = [
        FrameTask(a, 0, 'x'),
        FrameTask(a + '2', 0, face_out_name('x', 1)),
    ]
    with pytest.raises(ValueError, match="'x_face1'.*face 1 of the frame 'x'"):
        process_frames(clash, str(tmp_path), progress=False)
    with pytest.raises(ValueError, match='faces must be one of'):
        process_frames(clash[:1], str(tmp_path), faces='first')


def prepare_geodesic(*args: str, timeout: int) -> subprocess.CompletedProcess:
    """Runs tools/dataset_converters/prepare_geodesic.py in a child."""
    tool = os.path.join(
        ROOT, 'tools', 'dataset_converters', 'prepare_geodesic.py'
    )
    return subprocess.run(
        [sys.executable, tool, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1'),
    )


def test_prepare_geodesic_cli_lists_faces(inputs, tmp_path):
    out = tmp_path / 'cli'
    res = prepare_geodesic(
        str(inputs),
        '--out',
        str(out),
        '--max-faces',
        '2',
        '--crop-size',
        '96',
        timeout=240,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert '3 frames: 2 ok (3 faces), 1 no face, 0 errors' in res.stdout
    entries = by_name(json.loads((out / 'summary.json').read_text()))
    assert [f['out_name'] for f in entries['group']['faces']] == [
        'group',
        'group_face1',
    ]
    assert (out / 'group_face1.npz').is_file()
    res = prepare_geodesic(
        str(inputs), '--out', str(out), '--max-faces', '0', timeout=60
    )
    assert res.returncode == 2 and '--max-faces must be >= 1' in res.stderr
