"""The preparation tools on the faults of the report: a face pipeline that
cannot start, a worker that crashes, a read-only output folder, an
undecodable video among good inputs, ``--every`` below 1. Each ends at once
with one line naming the cause, or records the bad input as an error entry
and goes on; none hangs (every case is bounded in time)."""

import os
import os.path as osp
import sys

import cv2
import numpy as np
import pytest

from geoconv_mm.datasets.converters.jobs import FrameTask, process_frames
from geoconv_mm.utils.worker_pool import WorkerStartError
from tests.fixtures.fake_faces import (
    ReconstructorThatCannotStart,
    pipeline_cfg,
)
from tests.fixtures.paths import REPO_ROOT
from tests.fixtures.processes import read_only, run_bounded
from tests.fixtures.tools import load_tool

#: Spawned workers import the package (seconds each on a loaded CPU); a
#: hang is killed at this bound and fails its test.
BOUND = 240
TOOLS = osp.join(REPO_ROOT, 'tools', 'dataset_converters')


def _image(path, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    assert cv2.imwrite(str(path), img)
    return str(path)


@pytest.mark.parametrize('workers', ['1', '2'])
def test_a_face_pipeline_that_cannot_start_ends_the_run_in_one_line(
    tmp_path, workers
):
    # The report's case: mediapipe shadowed by a module that raises.
    shadow = tmp_path / 'badmp'
    shadow.mkdir()
    (shadow / 'mediapipe.py').write_text('raise ImportError("x")\n')
    face = _image(tmp_path / 'face.jpg')
    env = dict(os.environ, PYTHONPATH=str(shadow))
    res = run_bounded(
        [
            sys.executable,
            osp.join(TOOLS, 'prepare_geodesic.py'),
            face,
            '--out',
            str(tmp_path / 'o'),
            '--workers',
            workers,
        ],
        BOUND,
        env=env,
    )
    assert res.returncode == 1
    assert 'Traceback' not in res.stderr, res.stderr[-3000:]
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith('prepare_geodesic.py: ')
    # MediaPipeFaceMesh turns the import error into its own advice.
    assert (
        'cannot start: ImportError: MediaPipeFaceMesh needs mediapipe' in last
    )


@pytest.mark.parametrize('workers', [0, 2])
def test_process_frames_raises_the_start_error(tmp_path, workers):
    tasks = [FrameTask(_image(tmp_path / 'a.png'), 0, 'a')]
    cfg = dict(reconstructor=dict(type=ReconstructorThatCannotStart))
    with pytest.raises(WorkerStartError, match='ImportError: no module'):
        process_frames(
            tasks,
            str(tmp_path / 'out'),
            pipeline_cfg=cfg,
            workers=workers,
            progress=False,
        )


def test_a_source_that_crashes_its_worker_is_an_error_entry(tmp_path):
    # A crash in native code (a decoder's, say) takes the worker down: that
    # source becomes error entries naming the signal, the rest is prepared.
    names = [f'i{k}' for k in range(20)] + ['bad']
    tasks = [
        FrameTask(_image(tmp_path / f'{n}.png', k), 0, n)
        for k, n in enumerate(names)
    ]
    summary = process_frames(
        tasks,
        str(tmp_path / 'out'),
        pipeline_cfg=pipeline_cfg(crash_on='bad'),
        workers=2,
        progress=False,
    )
    status = {e['out_name']: e for e in summary['frames']}
    assert status['bad']['status'] == 'error'
    assert 'killed by SIGSEGV' in status['bad']['reason']
    assert all(status[n]['status'] == 'ok' for n in names if n != 'bad')
    assert summary['counts'] == dict(ok=20, no_face=0, error=1)


def test_an_undecodable_video_is_one_error_entry_of_a_folder(tmp_path):
    folder = tmp_path / 'in'
    folder.mkdir()
    _image(folder / 'good.png')
    (folder / 'broken.avi').write_bytes(b'RIFF\0\0\0\0AVI garbage')
    (folder / 'broken.jpg').write_bytes(b'not an image')
    prepare = load_tool('tools/dataset_converters/prepare_geodesic.py')
    tasks = prepare.list_tasks(str(folder), 1)  # no longer raises
    summary = process_frames(
        tasks,
        str(tmp_path / 'out'),
        pipeline_cfg=pipeline_cfg(),
        workers=0,
        progress=False,
    )
    status = {e['out_name']: e for e in summary['frames']}
    assert status['good']['status'] == 'ok'
    assert status['broken/000000']['status'] == 'error'
    assert 'broken.avi' in status['broken/000000']['reason']
    assert status['broken']['status'] == 'error'
    assert 'broken.jpg' in status['broken']['reason']


@pytest.mark.parametrize('every', ['0', '-1'])
def test_every_below_one_is_an_argument_error(tmp_path, capsys, every):
    prepare = load_tool('tools/dataset_converters/prepare_geodesic.py')
    face = _image(tmp_path / 'face.jpg')
    with pytest.raises(SystemExit) as info:
        prepare.main([face, '--out', str(tmp_path / 'o'), '--every', every])
    assert info.value.code == 2
    assert f'--every: must be >= 1, got {every}' in capsys.readouterr().err


@pytest.mark.parametrize(
    'tool,first',
    [
        ('prepare_geodesic.py', 'face.jpg'),
        ('prepare_bp4d.py', 'BP4D'),
        ('prepare_disfa.py', 'DISFA'),
    ],
)
def test_a_read_only_output_folder_fails_before_any_work(
    tmp_path, tool, first
):
    _image(tmp_path / 'face.jpg')
    locked = tmp_path / 'locked'
    locked.mkdir()
    for out in (locked, locked / 'new'):
        cmd = read_only(
            str(locked),
            [
                sys.executable,
                osp.join(TOOLS, tool),
                str(tmp_path / first),
                '--out',
                str(out),
            ],
        )
        if cmd is None:
            pytest.skip('cannot make a folder read-only on this host')
        res = run_bounded(cmd, BOUND)
        assert res.returncode == 2, res.stderr[-3000:]
        assert f'cannot write to the output folder {out}' in res.stderr
        assert os.listdir(locked) == []
