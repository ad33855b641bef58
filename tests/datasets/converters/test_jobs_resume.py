"""Resumed preparation loses nothing: a run killed with SIGKILL at any frame
and run again writes the summary and records of the run never interrupted;
journals cut off mid-line cost only their frames; a second run of the same
shard stops at once."""

import fcntl
import json
import os
import signal

import cv2
import numpy as np
import pytest

from geoconv_mm.datasets.converters.jobs import (
    FrameTask,
    ShardBusyError,
    journal_name,
    process_frames,
    read_summaries,
)
from tests.fixtures.fake_faces import (
    ReconstructorThatCannotStart,
    pipeline_cfg,
)
from tests.fixtures.processes import run_python

# 20 images: a unit of 16 and one of 4, so a kill can fall in either.
N_IMAGES = 20


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp('images')
    rng = np.random.default_rng(0)
    for k in range(N_IMAGES):
        img = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
        assert cv2.imwrite(str(d / f'i{k:02d}.png'), img)
    (d / 'i05.png').write_bytes(b'not an image')  # an error entry
    return d


def tasks(d):
    return [
        FrameTask(str(d / f'i{k:02d}.png'), 0, f'i{k:02d}')
        for k in range(N_IMAGES)
    ]


@pytest.fixture(scope='module')
def reference(images, tmp_path_factory):
    out = tmp_path_factory.mktemp('reference')
    summary = process_frames(
        tasks(images), str(out), pipeline_cfg=pipeline_cfg(), progress=False
    )
    return out, summary


KILLED_RUN = '''
from geoconv_mm.datasets.converters.jobs import FrameTask, process_frames
from tests.fixtures.fake_faces import (
    ReconstructorThatCannotStart,
    pipeline_cfg,
)
tasks = [FrameTask({d!r} + f'/i{{k:02d}}.png', 0, f'i{{k:02d}}')
         for k in range({n})]
process_frames(tasks, {out!r}, progress=False, workers={workers},
               pipeline_cfg=pipeline_cfg(kill_on={kill_on!r},
                                         kill_flag={flag!r}))
'''


def files(out):
    return {
        name: (out / name).read_bytes()
        for name in sorted(os.listdir(out))
        if name.endswith(('.jpg', '.npz'))
    }


@pytest.mark.parametrize(
    'kill_on,workers', [('i03', 0), ('i18', 0), ('i18', 2)]
)
def test_a_run_killed_at_any_frame_resumes_to_the_same_summary(
    images, reference, tmp_path, kill_on, workers
):
    ref_out, ref = reference
    out, flag = tmp_path / 'out', tmp_path / 'kill'
    flag.write_text('')
    code = KILLED_RUN.format(
        d=str(images),
        n=N_IMAGES,
        out=str(out),
        workers=workers,
        kill_on=kill_on,
        flag=str(flag),
    )
    res = run_python(code, timeout=300)
    if workers:
        # The kill hit the worker that held i16..i19: the job went on, each
        # of those sources was retried alone, and the run ended complete.
        assert res.returncode == 0, res.stderr[-3000:]
        assert not flag.exists()
        with open(out / 'summary.json') as fh:
            assert json.load(fh) == ref
    else:
        assert res.returncode == -signal.SIGKILL, res.stderr[-3000:]
        assert not flag.exists()
        journal = out / journal_name((0, 1))
        lines = journal.read_text().splitlines() if journal.exists() else []
        # The first unit's 16 entries are in the journal once it finished.
        assert len(lines) == (16 if kill_on == 'i18' else 0)
    stamps = {p: os.stat(out / p).st_mtime_ns for p in files(out)}
    again = process_frames(
        tasks(images), str(out), pipeline_cfg=pipeline_cfg(), progress=False
    )
    assert again == ref
    with open(out / 'summary.json') as fh:
        assert json.load(fh) == ref
    assert files(out) == files(ref_out)
    assert not (out / journal_name((0, 1))).exists()
    if kill_on == 'i18' and not workers:
        # Frames the journal holds were not made again.
        done = [f'i{k:02d}.npz' for k in range(16) if k != 5]
        assert all(os.stat(out / p).st_mtime_ns == stamps[p] for p in done)


def test_records_without_an_entry_are_made_again(images, reference, tmp_path):
    # Crops and records of a run killed before its journal line: their faces
    # and confidences exist nowhere else, so the frames are processed again
    # (before, they came back as entries without faces or confidence).
    _, ref = reference
    out = tmp_path / 'out'
    process_frames(
        tasks(images), str(out), pipeline_cfg=pipeline_cfg(), progress=False
    )
    os.unlink(out / 'summary.json')
    again = process_frames(
        tasks(images), str(out), pipeline_cfg=pipeline_cfg(), progress=False
    )
    assert again == ref
    assert all(
        'faces' in e and 'confidence' in e
        for e in again['frames']
        if e['status'] == 'ok'
    )


def test_a_journal_line_cut_off_costs_only_its_frame(tmp_path):
    entry = dict(source='a.png', frame_index=0, out_name='a', status='ok')
    other = dict(entry, source='b.png', out_name='b', status='no_face')
    text = json.dumps(entry) + '\n' + json.dumps(other) + '\n'
    (tmp_path / journal_name((1, 2))).write_text(text + '{"source": "c.p')
    with pytest.warns(UserWarning, match=r'summary\.shard-1-of-2\.journal'):
        found = read_summaries(str(tmp_path))
    assert found == {('a.png', 0): entry, ('b.png', 0): other}


def test_a_journal_newer_than_the_summary_wins(tmp_path):
    old = dict(source='a.png', frame_index=0, out_name='a', status='error')
    new = dict(old, status='ok')
    (tmp_path / 'summary.json').write_text(json.dumps(dict(frames=[old])))
    os.utime(tmp_path / 'summary.json', (1000, 1000))
    (tmp_path / journal_name((0, 1))).write_text(json.dumps(new) + '\n')
    assert read_summaries(str(tmp_path)) == {('a.png', 0): new}


def test_a_second_run_of_the_same_shard_stops_at_once(images, tmp_path):
    out = tmp_path / 'out'
    out.mkdir()
    with open(out / journal_name((1, 2)), 'a') as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ShardBusyError, match=r'shard 1/2 of this folder'):
            process_frames(
                tasks(images),
                str(out),
                shard=(1, 2),
                # Were the pipeline started, this would be the error.
                pipeline_cfg=dict(
                    reconstructor=dict(type=ReconstructorThatCannotStart)
                ),
                progress=False,
            )
        # Another shard of the same folder runs meanwhile.
        other = process_frames(
            tasks(images),
            str(out),
            shard=(2, 2),
            pipeline_cfg=pipeline_cfg(),
            progress=False,
        )
    assert len(other['frames']) == N_IMAGES // 2
