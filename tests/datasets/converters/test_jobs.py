"""process_frames and tools/dataset_converters/prepare_geodesic.py on a small
real tree.
"""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from geoconv_mm.datasets.converters.jobs import (
    FrameTask,
    process_frames,
    video_tasks,
)
from geoconv_mm.geodesic import FaceSurface
from tests.fixtures.paths import REPO_ROOT as ROOT

pytest.importorskip('mediapipe')


@pytest.fixture(scope='module')
def inputs(tmp_path_factory, astronaut_bgr):
    d = tmp_path_factory.mktemp('inputs')
    img = astronaut_bgr
    cv2.imwrite(str(d / 'a.jpg'), img)
    os.makedirs(d / 'sub')
    cv2.imwrite(str(d / 'sub' / 'b.png'), np.ascontiguousarray(img[:, ::-1]))
    cv2.imwrite(str(d / 'blank.png'), np.full((160, 160, 3), 90, np.uint8))
    (d / 'corrupt.jpg').write_bytes(b'not an image')
    video = str(d / 'clip.avi')
    w = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'MJPG'), 5, (256, 256))
    small = cv2.resize(img, (256, 256))
    for k in range(3):
        w.write(small if k != 1 else np.zeros_like(small))
    w.release()
    return d


def _tasks(d):
    tasks = [
        FrameTask(str(d / n), 0, os.path.splitext(n)[0])
        for n in ('a.jpg', 'blank.png', 'corrupt.jpg')
    ]
    return tasks + video_tasks(str(d / 'clip.avi'))


def test_process_frames_statuses_records_and_resume(inputs, tmp_path):
    out = str(tmp_path / 'out')
    tasks = _tasks(inputs)
    summary = process_frames(tasks, out, workers=0, progress=False)
    status = {
        (os.path.basename(e['source']), e['frame_index']): e['status']
        for e in summary['frames']
    }
    assert status == {
        ('a.jpg', 0): 'ok',
        ('blank.png', 0): 'no_face',
        ('corrupt.jpg', 0): 'error',
        ('clip.avi', 0): 'ok',
        ('clip.avi', 1): 'no_face',
        ('clip.avi', 2): 'ok',
    }
    reasons = {
        os.path.basename(e['source']): e['reason'] for e in summary['frames']
    }
    assert 'corrupt.jpg' in reasons['corrupt.jpg']
    with open(os.path.join(out, 'summary.json')) as fh:
        assert json.load(fh)['counts'] == dict(ok=3, no_face=2, error=1)
    surf = FaceSurface.load(os.path.join(out, 'clip', '000002.npz'))
    assert surf.image_size == (224, 224) and surf.vertices.shape == (468, 3)
    assert cv2.imread(os.path.join(out, 'a.jpg')).shape == (224, 224, 3)
    assert not [f for _, _, fs in os.walk(out) for f in fs if 'tmp' in f]
    # Resume: finished and no-face frames are skipped, the failed one retried.
    mtime = os.path.getmtime(os.path.join(out, 'a.npz'))
    again = process_frames(tasks, out, workers=0, progress=False)
    assert os.path.getmtime(os.path.join(out, 'a.npz')) == mtime
    assert again['counts'] == dict(ok=3, no_face=2, error=1)


def test_shards_split_the_work_and_a_final_run_merges(inputs, tmp_path):
    out = str(tmp_path / 'out')
    tasks = _tasks(inputs)
    s0 = process_frames(tasks, out, workers=0, shard=(1, 2), progress=False)
    s1 = process_frames(tasks, out, workers=0, shard=(2, 2), progress=False)
    names0 = {e['out_name'] for e in s0['frames']}
    names1 = {e['out_name'] for e in s1['frames']}
    assert not names0 & names1 and len(names0 | names1) == len(tasks)
    # Shards count from 1: shard 1 takes the first task, then every other.
    assert names0 == {t.out_name for t in tasks[::2]}
    assert os.path.exists(os.path.join(out, 'summary.shard-1-of-2.json'))
    merged = process_frames(tasks, out, workers=0, progress=False)
    assert len(merged['frames']) == len(tasks)
    assert merged['counts'] == dict(ok=3, no_face=2, error=1)
    with pytest.raises(ValueError, match='shard'):
        process_frames(tasks, out, shard=(0, 2))


def test_prepare_geodesic_cli_with_workers(inputs, tmp_path):
    out = tmp_path / 'cli'
    cmd = [
        sys.executable,
        os.path.join(
            ROOT, 'tools', 'dataset_converters', 'prepare_geodesic.py'
        ),
        str(inputs),
        '--out',
        str(out),
        '--workers',
        '2',
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert res.returncode == 1  # the corrupt image is an error frame
    summary = json.loads((out / 'summary.json').read_text())
    by_name = {e['out_name']: e['status'] for e in summary['frames']}
    assert by_name['a'] == 'ok' and by_name['sub/b'] == 'ok'
    assert by_name['blank'] == 'no_face' and by_name['corrupt'] == 'error'
    assert by_name['clip/000000'] == 'ok' and len(by_name) == 7
    assert (out / 'sub' / 'b.npz').exists()
    vis = tmp_path / 'vis.png'
    res = subprocess.run(
        [
            sys.executable,
            os.path.join(
                ROOT, 'tools', 'visualization', 'visualize_geodesic.py'
            ),
            str(out / 'a.npz'),
            '--out',
            str(vis),
            '--stride',
            '8',
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert cv2.imread(str(vis)).shape[1] > 1000
