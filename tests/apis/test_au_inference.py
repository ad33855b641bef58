"""AU inference end to end on real face frames (skimage's astronaut) and
no-face frames.
"""

import csv

import cv2
import numpy as np
import pytest

pytest.importorskip('mediapipe')
skimage_data = pytest.importorskip('skimage.data')

from geoconv_mm.apis import AUInferencer, au_csv_columns  # noqa: E402
from tests.fixtures.au_model import AU_IDS  # noqa: E402


def face_frames():
    face = cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR)
    face = cv2.resize(face, (320, 320))
    rng = np.random.default_rng(0)
    blank = np.full_like(face, 90)
    noise = rng.integers(0, 255, face.shape, dtype=np.uint8)
    # face / no face alternating; the flipped face is a different real frame
    return [face, blank, face[:, ::-1].copy(), noise, face, blank], [
        1,
        0,
        1,
        0,
        1,
        0,
    ]


@pytest.fixture(scope='module')
def clip(tmp_path_factory):
    frames, has_face = face_frames()
    path = str(tmp_path_factory.mktemp('clip') / 'clip.avi')
    writer = cv2.VideoWriter(
        path,
        cv2.VideoWriter_fourcc(*'MJPG'),
        25.0,
        (frames[0].shape[1], frames[0].shape[0]),
    )
    for f in frames:
        writer.write(f)
    writer.release()
    return path, has_face


def test_api_one_prediction_per_frame_and_no_face_flagged(model_files, clip):
    config, checkpoint = model_files
    path, has_face = clip
    inferencer = AUInferencer(config, checkpoint, device='cpu', batch_size=2)
    assert inferencer.au_names == [
        'AU01',
        'AU02',
        'AU04',
        'AU06',
        'AU12',
        'AU25',
    ]
    preds = inferencer(path)
    assert [p.frame for p in preds] == list(range(len(has_face)))
    assert [int(p.success) for p in preds] == has_face
    np.testing.assert_allclose(
        [p.timestamp for p in preds], np.arange(6) / 25.0, atol=1e-3
    )
    for p in preds:
        if p.success:
            assert p.probabilities.shape == (len(AU_IDS),)
            assert ((p.probabilities >= 0) & (p.probabilities <= 1)).all()
            np.testing.assert_array_equal(p.presence, p.probabilities >= 0.5)
            assert 0 < p.confidence <= 1
        else:
            assert p.probabilities is None and p.reason == 'no_face'


def test_batching_does_not_change_predictions(model_files, clip):
    config, checkpoint = model_files
    one = AUInferencer(config, checkpoint, device='cpu', batch_size=1)(clip[0])
    many = AUInferencer(config, checkpoint, device='cpu', batch_size=4)(
        clip[0]
    )
    for a, b in zip(one, many):
        if a.success:
            np.testing.assert_allclose(
                a.probabilities, b.probabilities, atol=1e-5
            )


def test_cli_csv_matches_api_and_writes_pictures(model_files, clip, tmp_path):
    from tools.infer import main

    config, checkpoint = model_files
    path, has_face = clip
    out = tmp_path / 'preds.csv'
    main(
        [
            path,
            '--config',
            config,
            '--checkpoint',
            checkpoint,
            '--out',
            str(out),
            '--device',
            'cpu',
            '--batch-size',
            '3',
            '--show-out',
            str(tmp_path / 'ann.avi'),
            '--plot-out',
            str(tmp_path / 'aus.png'),
        ]
    )
    with open(out) as f:
        rows = list(csv.DictReader(f))
    names = [f'AU{a:02d}' for a in AU_IDS]
    assert list(rows[0].keys()) == au_csv_columns(names)
    assert len(rows) == len(has_face)
    assert [int(r['success']) for r in rows] == has_face
    api = AUInferencer(config, checkpoint, device='cpu')(path)
    for row, pred in zip(rows, api):
        if pred.success:
            probs = np.array([float(row[f'{n}_p']) for n in names])
            np.testing.assert_allclose(probs, pred.probabilities, atol=1e-4)
            assert [int(row[f'{n}_c']) for n in names] == list(pred.presence)
        else:
            assert all(
                row[f'{n}_p'] == '' and row[f'{n}_c'] == '' for n in names
            )
    cap = cv2.VideoCapture(str(tmp_path / 'ann.avi'))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == len(has_face)
    cap.release()
    assert cv2.imread(str(tmp_path / 'aus.png')) is not None


def test_image_folder_and_single_image(model_files, tmp_path):
    config, checkpoint = model_files
    frames, has_face = face_frames()
    for i, f in enumerate(frames):
        cv2.imwrite(
            str(tmp_path / f'{i + 1}.png'), f
        )  # 10.png must sort after 2.png
    inferencer = AUInferencer(config, checkpoint, device='cpu')
    preds = inferencer(str(tmp_path))
    assert [int(p.success) for p in preds] == has_face
    np.testing.assert_allclose(
        [p.timestamp for p in preds], np.arange(6) / 30.0
    )
    assert len(inferencer(str(tmp_path / '1.png'))) == 1


def test_corrupt_inputs_are_clear_errors_or_rows(model_files, tmp_path):
    config, checkpoint = model_files
    inferencer = AUInferencer(config, checkpoint, device='cpu')
    bad_video = tmp_path / 'broken.avi'
    bad_video.write_bytes(b'not a video at all' * 100)
    with pytest.raises(ValueError, match='broken.avi'):
        inferencer(str(bad_video))
    folder = tmp_path / 'imgs'
    folder.mkdir()
    cv2.imwrite(str(folder / '1.png'), face_frames()[0][0])
    (folder / '2.png').write_bytes(b'\x89PNG garbage')
    good, bad = inferencer(str(folder))
    assert good.success and good.status == 'ok'
    assert not bad.success and bad.status == 'unreadable'
    assert '2.png: cannot decode' in bad.reason
    with pytest.raises(FileNotFoundError, match='missing.mp4'):
        inferencer(str(tmp_path / 'missing.mp4'))
