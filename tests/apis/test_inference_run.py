"""A many-input run's bookkeeping: partial and final CSVs, the summary,
resume, and a failed input that does not stop the others (an inferencer
stand-in that makes rows from the frames' own pixels)."""

import csv

import cv2
import numpy as np
import pytest

from geoconv_mm.apis import AUPrediction, au_column_groups, au_csv_columns
from geoconv_mm.apis.inference_inputs import find_inputs
from geoconv_mm.apis.inference_run import (
    SUMMARY_COLUMNS,
    RunRecorder,
    by_frame,
    count_rows,
    run_in_process,
    summary_path,
)

NAMES = ['AU01', 'AU12']


class PixelInferencer:
    """One face per frame whose AU01 probability is the frame's mean pixel
    over 255; a frame of all zeros has no face; ``fail_on`` raises in the
    middle of that input."""

    au_names = NAMES
    column_groups = au_column_groups()

    def __init__(self, fail_on=None):
        self.fail_on = fail_on

    def iter_predictions(self, frames, sequence):
        for frame in frames:
            if self.fail_on and self.fail_on in frame.name and frame.index:
                raise ValueError(f'{frame.name}: cannot read frame')
            level = float(frame.image.mean()) / 255
            if level == 0:
                yield AUPrediction(
                    frame.index,
                    frame.timestamp,
                    False,
                    reason='no_face',
                    status='no_face',
                )
                continue
            p = np.array([level, 1 - level])
            yield AUPrediction(
                frame.index,
                frame.timestamp,
                True,
                confidence=0.9,
                probabilities=p,
                presence=(p >= 0.5).astype(np.int64),
                face_id=0,
            )


def write_video(path, levels):
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*'MJPG'), 10.0, (32, 32)
    )
    for v in levels:
        writer.write(np.full((32, 32, 3), v, np.uint8))
    writer.release()


@pytest.fixture
def videos(tmp_path):
    root = tmp_path / 'videos'
    root.mkdir()
    write_video(root / 'a.avi', [200, 0, 100])
    write_video(root / 'b.avi', [50, 60])
    write_video(root / 'c.avi', [30, 40, 50, 60])
    (root / 'd.avi').write_bytes(b'not a video' * 20)
    return root


def read(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def test_every_input_its_csv_and_a_summary(videos, tmp_path):
    out = tmp_path / 'out'
    recorder = RunRecorder(
        find_inputs([str(videos)]), str(out), progress=False
    )
    run_in_process(PixelInferencer(fail_on='c.avi'), recorder)
    recorder.close()
    rows = read(summary_path(str(out)))
    assert list(rows[0]) == list(SUMMARY_COLUMNS)
    assert [(r['csv'], r['status']) for r in rows] == [
        ('a.csv', 'done'),
        ('b.csv', 'done'),
        ('c.csv', 'failed'),
        ('d.csv', 'failed'),
    ]
    assert (rows[0]['frames'], rows[0]['faces']) == ('3', '2')
    assert rows[0]['frames_without_face'] == '1'
    assert float(rows[0]['seconds']) >= 0
    assert 'c.avi' in rows[2]['reason'] and rows[2]['frames'] == '1'
    assert 'd.avi' in rows[3]['reason'] and 'cannot open' in rows[3]['reason']
    table = read(out / 'a.csv')
    assert list(table[0]) == au_csv_columns(NAMES)
    assert [r['success'] for r in table] == ['1', '0', '1']
    # MJPG keeps a flat grey within a level or two.
    assert abs(float(table[0]['AU01_p']) - 200 / 255) < 0.02
    # The failed input's rows so far stay in its partial CSV only.
    assert not (out / 'c.csv').exists()
    assert len(read(out / 'c.csv.partial')) == 1
    assert not (out / 'a.csv.partial').exists()


def test_a_rerun_skips_finished_inputs_and_redoes_the_rest(videos, tmp_path):
    out = str(tmp_path / 'out')
    inputs = find_inputs([str(videos)])
    first = RunRecorder(inputs, out, progress=False)
    run_in_process(PixelInferencer(fail_on='c.avi'), first)
    first.close()
    before = (tmp_path / 'out' / 'a.csv').read_bytes()
    again = RunRecorder(inputs, out, progress=False)
    assert [inputs[i].name for i in again.todo] == ['c', 'd']
    run_in_process(PixelInferencer(), again)
    again.close()
    rows = read(summary_path(out))
    assert [r['status'] for r in rows] == [
        'skipped',
        'skipped',
        'done',
        'failed',
    ]
    # A skipped input's figures are read back from its CSV.
    assert (rows[0]['frames'], rows[0]['faces']) == ('3', '2')
    assert (tmp_path / 'out' / 'a.csv').read_bytes() == before
    assert len(read(tmp_path / 'out' / 'c.csv')) == 4


def test_an_interrupted_run_leaves_pending_rows(videos, tmp_path):
    out = str(tmp_path / 'out')
    inputs = find_inputs([str(videos)])
    recorder = RunRecorder(inputs, out, shard=(2, 3), progress=False)
    recorder.au_names = NAMES
    recorder.column_groups = au_column_groups()
    recorder.start(0, 3)
    recorder.write(0, [AUPrediction(0, 0.0, False, status='no_face')])
    recorder.close()  # as on Ctrl-C
    path = summary_path(out, (2, 3))
    assert path.endswith('summary.shard-2-of-3.csv')
    assert {r['status'] for r in read(path)} == {'pending'}
    assert count_rows(out + '/a.csv.partial') == dict(
        frames=1, faces=0, frames_without_face=1
    )


def test_by_frame_groups_consecutive_rows():
    preds = [AUPrediction(f, 0.0, True) for f in (0, 0, 1, 2, 2, 2)]
    assert [len(g) for g in by_frame(preds)] == [2, 1, 3]
    assert list(by_frame([])) == []
