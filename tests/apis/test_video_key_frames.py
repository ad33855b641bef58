"""Videos: full detection on key frames, faces tracked between them."""

import cv2
import numpy as np
import pytest

pytest.importorskip('mediapipe')
skimage_data = pytest.importorskip('skimage.data')

from geoconv_mm.apis import AUInferencer, Frame  # noqa: E402
from geoconv_mm.face import box_iou  # noqa: E402
from geoconv_mm.face.schedule import DEFAULT_DETECT_EVERY  # noqa: E402
from tests.fixtures.group_photo import group_photo  # noqa: E402

FRAMES = 8
ENTERS = 4  # the second face's first frame
EVERY = 3  # key frames 0, 3, 6


def spots(t):
    moving = (60 + 12 * t, 100 + 4 * t, 200)
    return [moving] + ([(520, 120, 200)] if t >= ENTERS else [])


@pytest.fixture(scope='module')
def video():
    face = cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR)
    return [
        Frame(t, t / 30.0, group_photo(face, spots(t), (480, 800)), f'v:{t}')
        for t in range(FRAMES)
    ]


class CountingDetector:
    def __init__(self, detector):
        self.detector, self.frames = detector, []

    def __call__(self, image):
        self.frames.append(image)
        return self.detector(image)


@pytest.fixture(scope='module')
def runs(model_files, video):
    config, checkpoint = model_files
    inf = AUInferencer(
        config, checkpoint, device='cpu', batch_size=4, detect_every=EVERY
    )
    counter = CountingDetector(inf.face_pipeline.detector)
    inf.face_pipeline.detector = counter
    tracked = list(inf.iter_predictions(video, sequence=True))
    detected = len(counter.frames)
    full = list(inf.iter_predictions(video, sequence=False))
    return tracked, full, detected


def by_frame(preds):
    out = {}
    for p in preds:
        out.setdefault(p.frame, {})[p.face_id] = p
    return out


def test_detector_runs_on_key_frames_only(runs):
    assert runs[2] == len(range(0, FRAMES, EVERY))


def test_ids_stay_and_entering_face_is_found_at_next_key_frame(runs):
    frames = by_frame(runs[0])
    first_key_after = -(-ENTERS // EVERY) * EVERY
    for t in range(FRAMES):
        expected = {0, 1} if t >= first_key_after else {0}
        assert set(frames[t]) == expected, t
        for face_id, p in frames[t].items():
            assert p.success
            x, y, s = spots(t)[face_id]
            truth = np.array([[x, y, x + s, y + s]], np.float64)
            # The pasted patch holds the face in its inner part.
            assert box_iou(p.box[None], truth)[0, 0] > 0.2, (t, face_id)


def test_key_frames_equal_the_full_path(runs):
    tracked, full = by_frame(runs[0]), by_frame(runs[1])
    for t in range(0, FRAMES, EVERY):
        assert set(tracked[t]) == set(full[t])
        for face_id, a in tracked[t].items():
            b = full[t][face_id]
            np.testing.assert_array_equal(a.box, b.box)
            assert a.confidence == b.confidence
            np.testing.assert_allclose(
                a.probabilities, b.probabilities, atol=1e-6
            )


def test_tracked_frames_agree_with_the_full_path(runs):
    tracked, full = by_frame(runs[0]), by_frame(runs[1])
    for t in range(FRAMES):
        for face_id, a in tracked[t].items():
            b = full[t][face_id]
            assert box_iou(a.box[None], b.box[None])[0, 0] > 0.7, t
            for key in ('pose_Rx', 'pose_Ry', 'pose_Rz'):
                assert abs(a.pose[key] - b.pose[key]) < 0.1, (t, key)


def test_images_always_get_the_full_detection(model_files, video):
    config, checkpoint = model_files
    inf = AUInferencer(config, checkpoint, device='cpu', detect_every=EVERY)
    counter = CountingDetector(inf.face_pipeline.detector)
    inf.face_pipeline.detector = counter
    list(inf.iter_predictions(video))  # a list of frames: photos
    assert len(counter.frames) == FRAMES


def test_cli_rejects_a_bad_key_frame_interval(model_files, capsys):
    from tools.infer import parse_args

    config, checkpoint = model_files
    argv = ['clip.avi', '--config', config, '--checkpoint', checkpoint]
    argv += ['--out', 'x.csv']
    assert parse_args(argv + ['--detect-every', '4']).detect_every == 4
    assert parse_args(argv).detect_every == DEFAULT_DETECT_EVERY
    with pytest.raises(SystemExit):
        parse_args(argv + ['--detect-every', '0'])
    assert '--detect-every' in capsys.readouterr().err
