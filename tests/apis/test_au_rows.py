"""``tools/infer.py`` and ``AUInferencer`` rows: every face of a frame with
its id and head pose, and bad input that loses no row (tools run in a
subprocess, as a user runs them)."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip('mediapipe')
pytest.importorskip('skimage.data')

from geoconv_mm.apis import AUInferencer, au_csv_columns  # noqa: E402
from geoconv_mm.face import POSE_KEYS  # noqa: E402
from geoconv_mm.utils.frame_io import Frame  # noqa: E402
from geoconv_mm.visualization import face_colour  # noqa: E402
from tests.fixtures.au_model import AU_IDS  # noqa: E402
from tests.fixtures.group_photo import group_photo  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NAMES = [f'AU{a:02d}' for a in AU_IDS]
SPOTS = [(50, 100, 300), (500, 150, 220), (900, 400, 400)]


def run_infer(args, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')
    cmd = [sys.executable, str(ROOT / 'tools' / 'infer.py'), *map(str, args)]
    return subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=600, **kwargs
    )


def model_args(model_files, out):
    config, checkpoint = model_files
    return [
        '--config',
        config,
        '--checkpoint',
        checkpoint,
        '--out',
        out,
        '--device',
        'cpu',
    ]


def read_rows(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def owner(box):
    """Index of the pasted face that holds the box's centre."""
    c = (np.asarray(box[:2], float) + np.asarray(box[2:], float)) / 2
    hits = [
        i
        for i, (x, y, s) in enumerate(SPOTS)
        if x < c[0] < x + s and y < c[1] < y + s
    ]
    assert len(hits) == 1, (box, hits)
    return hits[0]


@pytest.fixture(scope='module')
def group(astronaut_bgr):
    return group_photo(astronaut_bgr, SPOTS)


def test_every_face_gets_a_row_an_id_and_a_pose(model_files, group):
    config, checkpoint = model_files
    inferencer = AUInferencer(config, checkpoint, device='cpu', batch_size=2)
    shifted = np.roll(group, 12, axis=1)  # the people move a little
    frames = [group, shifted, np.full_like(group, 90)]
    preds = list(
        inferencer.iter_predictions(
            Frame(i, i / 30, img, f'f{i}') for i, img in enumerate(frames)
        )
    )
    assert [p.frame for p in preds] == [0, 0, 0, 1, 1, 1, 2]
    first, second, empty = preds[:3], preds[3:6], preds[6]
    for faces in (first, second):
        assert all(p.success and p.status == 'ok' for p in faces)
        sizes = [p.box[2] - p.box[0] for p in faces]
        assert sizes == sorted(sizes, reverse=True)
        assert sorted(owner(p.box) for p in faces) == [0, 1, 2]
        for p in faces:
            assert p.probabilities.shape == (len(AU_IDS),)
            assert set(p.pose) == set(POSE_KEYS)
    # Ids in order of appearance, kept by the same person in the next frame.
    assert sorted(p.face_id for p in first) == [0, 1, 2]
    id_of = {owner(p.box): p.face_id for p in first}
    assert {owner(p.box): p.face_id for p in second} == id_of
    # The same face pasted three sizes: the larger copy (a closer head
    # under one camera) has the smaller depth.
    tz = {owner(p.box): p.pose['pose_Tz'] for p in first}
    assert tz[2] < tz[0] < tz[1]
    assert not empty.success and empty.status == 'no_face'
    assert empty.face_id is None and empty.pose is None
    # Each face alone, at the same place of the same canvas, gives the pose
    # and AUs it gives in the group: faces do not leak into each other.
    by_owner = {owner(p.box): p for p in first}
    for i, (x, y, s) in enumerate(SPOTS):
        alone = np.full_like(group, 90)
        alone[y : y + s, x : x + s] = group[y : y + s, x : x + s]
        (p,) = inferencer.iter_predictions([Frame(0, 0.0, alone, 'alone')])
        np.testing.assert_allclose(
            p.probabilities, by_owner[i].probabilities, atol=0.02
        )
        for k in POSE_KEYS[3:]:
            assert abs(p.pose[k] - by_owner[i].pose[k]) < 0.02, k


def test_cli_rows_per_face_and_max_faces(model_files, group, tmp_path):
    folder = tmp_path / 'imgs'
    folder.mkdir()
    cv2.imwrite(str(folder / '1.png'), group)
    cv2.imwrite(str(folder / '2.png'), np.full_like(group, 90))
    out = tmp_path / 'all.csv'
    ann, plot = tmp_path / 'ann', tmp_path / 'aus.png'
    res = run_infer(
        [
            folder,
            *model_args(model_files, out),
            '--show-out',
            ann,
            '--plot-out',
            plot,
        ]
    )
    assert res.returncode == 0, res.stderr
    rows = read_rows(out)
    # Every face is boxed in its id's colour on the annotated frame; the
    # first frame's ids go largest face first.
    by_size = sorted(SPOTS, key=lambda sp: -sp[2])
    drawn = cv2.imread(str(ann / '000000.jpg'))
    scale = drawn.shape[0] / group.shape[0]
    for r in rows[:3]:
        colour = np.array(face_colour(int(r['face_id'])), int)
        hits = np.abs(drawn.astype(int) - colour).sum(-1) < 60
        x, y, s = (int(v * scale) for v in by_size[int(r['face_id'])])
        assert hits[y - 10 : y + s + 10, x - 10 : x + s + 10].sum() > s
    assert cv2.imread(str(plot)) is not None
    assert list(rows[0]) == au_csv_columns(NAMES)
    assert [(r['frame'], r['success']) for r in rows] == [
        ('0', '1'),
        ('0', '1'),
        ('0', '1'),
        ('1', '0'),
    ]
    assert sorted(r['face_id'] for r in rows[:3]) == ['0', '1', '2']
    assert rows[3]['status'] == 'no_face' and rows[3]['face_id'] == ''
    for r in rows[:3]:
        assert r['status'] == 'ok' and r['reason'] == ''
        assert all(np.isfinite(float(r[k])) for k in POSE_KEYS)
        assert all(0 <= float(r[f'{n}_p']) <= 1 for n in NAMES)
    assert all(rows[3][k] == '' for k in POSE_KEYS)
    two = tmp_path / 'two.csv'
    res = run_infer([folder, *model_args(model_files, two), '--max-faces', 2])
    assert res.returncode == 0, res.stderr
    kept = read_rows(two)
    assert [r['frame'] for r in kept] == ['0', '0', '1']
    # The two largest faces, with the probabilities of the full run.
    for a, b in zip(kept[:2], rows[:2]):
        assert a['face_id'] == b['face_id']
        for n in NAMES:
            assert abs(float(a[f'{n}_p']) - float(b[f'{n}_p'])) < 1e-3


def test_folder_with_a_corrupt_file_keeps_every_row(
    model_files, astronaut_bgr, tmp_path
):
    folder = tmp_path / 'imgs'
    folder.mkdir()
    face = cv2.resize(astronaut_bgr, (320, 320))
    cv2.imwrite(str(folder / '1.png'), face)
    (folder / '2.jpg').write_bytes(b'\xff\xd8\xff\xe0 truncated jpeg')
    cv2.imwrite(str(folder / '3.png'), np.full_like(face, 90))
    cv2.imwrite(str(folder / '4.png'), face[:, ::-1])
    out = tmp_path / 'preds.csv'
    res = run_infer([folder, *model_args(model_files, out)])
    assert res.returncode == 0, res.stderr
    rows = read_rows(out)
    assert [r['frame'] for r in rows] == ['0', '1', '2', '3']
    assert [r['success'] for r in rows] == ['1', '0', '0', '1']
    assert [r['status'] for r in rows] == [
        'ok',
        'unreadable',
        'no_face',
        'ok',
    ]
    assert '2.jpg' in rows[1]['reason'] and 'decode' in rows[1]['reason']
    log = [ln for ln in res.stderr.splitlines() if '2.jpg' in ln]
    assert len(log) == 1 and 'success 0' in log[0]
    assert all(rows[1][f'{n}_p'] == '' for n in NAMES)


@pytest.mark.parametrize('kind', ['missing', 'corrupt_image', 'corrupt_video'])
def test_an_input_that_cannot_be_opened_is_one_line(
    model_files, tmp_path, kind
):
    path = {
        'missing': tmp_path / 'missing.mp4',
        'corrupt_image': tmp_path / 'broken.png',
        'corrupt_video': tmp_path / 'broken.avi',
    }[kind]
    if kind != 'missing':
        path.write_bytes(b'not a picture at all' * 50)
    res = run_infer([path, *model_args(model_files, tmp_path / 'p.csv')])
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith('error: ') and path.name in lines[0]


def test_an_interrupted_run_keeps_its_rows(
    model_files, astronaut_bgr, tmp_path
):
    folder = tmp_path / 'imgs'
    folder.mkdir()
    face = cv2.resize(astronaut_bgr, (320, 320))
    n = 60
    for i in range(n):
        cv2.imwrite(str(folder / f'{i}.png'), np.roll(face, i, axis=1))
    out = tmp_path / 'preds.csv'
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')
    cmd = [
        sys.executable,
        str(ROOT / 'tools' / 'infer.py'),
        str(folder),
        *map(str, model_args(model_files, out)),
        '--batch-size',
        '1',
    ]
    child = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and child.poll() is None:
            if out.exists() and len(out.read_text().splitlines()) > 3:
                break
            time.sleep(0.05)
        assert child.poll() is None, 'the run ended before it was killed'
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    rows = read_rows(out)
    assert 3 <= len(rows) < n
    # Every row kept is whole, in frame order, from the first frame on.
    assert [int(r['frame']) for r in rows] == list(range(len(rows)))
    for r in rows:
        assert None not in r.values() and r['success'] == '1'
        assert all(0 <= float(r[f'{k}_p']) <= 1 for k in NAMES)


def test_a_degenerate_mesh_is_a_row_with_its_reason(model_files, astronaut):
    from geoconv_mm.face import RawFace

    def nan_mesh(image, meta=None):
        return RawFace(
            np.full((468, 3), np.nan),
            astronaut.surface.faces,
            dict(left_eye=np.zeros(2), right_eye=np.ones(2), mouth=np.ones(2)),
        )

    config, checkpoint = model_files
    inferencer = AUInferencer(
        config,
        checkpoint,
        device='cpu',
        face_pipeline=dict(
            reconstructor=nan_mesh, detector=dict(type='WholeImageDetector')
        ),
    )
    frame = Frame(5, 0.2, np.zeros((64, 64, 3), np.uint8), 'clip.mp4:5')
    (p,) = inferencer.iter_predictions([frame])
    assert not p.success and p.status == 'degenerate_mesh'
    assert 'clip.mp4:5' in p.reason and 'NaN' in p.reason
