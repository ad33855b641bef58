"""The onnxruntime network backend: the SynthAU demo models exported to
ONNX give the rows of the PyTorch backend (statuses, face ids, pose, AU
probabilities and intensities) with no config or checkpoint; wrong
combinations of sources are errors that say what to pass."""

import numpy as np
import pytest

pytest.importorskip('mediapipe')
pytest.importorskip('onnxruntime')
pytest.importorskip('onnx')

from geoconv_mm.apis import AUInferencer, ONNXAUNetwork  # noqa: E402
from geoconv_mm.utils.frame_io import Frame  # noqa: E402
from tests.fixtures.demo_models import (  # noqa: E402
    DEMO,
    JOINT_DEMO,
    export_demo_model,
    save_demo_model,
)

# Largest |onnxruntime - PyTorch| allowed of a probability and of an
# intensity (0-5) of one face (float32 rounding in other operator orders).
PROBABILITY_TOLERANCE = 1e-5
INTENSITY_TOLERANCE = 5e-5


@pytest.fixture(
    scope='module', params=[DEMO, JOINT_DEMO], ids=['occ', 'joint']
)
def models(request, tmp_path_factory):
    root = tmp_path_factory.mktemp('demo')
    config, checkpoint = save_demo_model(request.param, root)
    onnx = export_demo_model(config, checkpoint, str(root / 'model.onnx'))
    return config, checkpoint, onnx


def frames(image):
    """A face, its mirror image, a blank frame, a smaller face."""
    import cv2

    blank = np.full_like(image, 90)
    small = cv2.resize(image, (256, 256))
    images = [image, np.ascontiguousarray(image[:, ::-1]), blank, small]
    return [Frame(i, i / 30, img, f'f{i}') for i, img in enumerate(images)]


def test_onnxruntime_gives_the_pytorch_rows(models, astronaut_bgr):
    config, checkpoint, onnx = models
    torch_inf = AUInferencer(config, checkpoint, device='cpu', batch_size=3)
    onnx_inf = AUInferencer(
        backend='onnxruntime', model=onnx, device='cpu', batch_size=3
    )
    assert onnx_inf.cfg is None  # no config read
    assert onnx_inf.au_names == torch_inf.au_names
    assert onnx_inf.threshold == torch_inf.threshold
    assert onnx_inf.predicts_intensity == torch_inf.predicts_intensity
    assert [g.suffix for g in onnx_inf.column_groups] == [
        g.suffix for g in torch_inf.column_groups
    ]
    want = list(torch_inf.iter_predictions(frames(astronaut_bgr)))
    got = list(onnx_inf.iter_predictions(frames(astronaut_bgr)))
    assert [p.status for p in got] == ['ok', 'ok', 'no_face', 'ok']
    assert [(p.frame, p.status, p.face_id) for p in got] == [
        (p.frame, p.status, p.face_id) for p in want
    ]
    probs = np.stack([p.probabilities for p in want if p.success])
    assert probs.min() < 0.2 and probs.max() > 0.8  # spread: can fail
    for a, b in zip(want, got):
        assert a.pose == b.pose
        if not a.success:
            assert b.probabilities is None and b.intensities is None
            continue
        diff = np.abs(a.probabilities - b.probabilities).max()
        assert diff <= PROBABILITY_TOLERANCE, diff
        np.testing.assert_array_equal(b.presence, b.probabilities >= 0.5)
        if torch_inf.predicts_intensity:
            diff = np.abs(a.intensities - b.intensities).max()
            assert diff <= INTENSITY_TOLERANCE, diff
        else:
            assert a.intensities is None and b.intensities is None


def test_the_file_replaces_config_and_checkpoint(models):
    config, checkpoint, onnx = models
    network = ONNXAUNetwork(onnx, device='cpu', threads=1)
    assert network.au_ids[:3] == [1, 2, 4] and network.num_aus == 15
    assert network.input_size == (112, 112)
    assert [t['type'] for t in network.test_pipeline] == [
        'GenerateGeodesicWeights',
        'PackAUInputs',
    ]
    empty = network.predict([])
    assert empty.probabilities.shape == (0, 15)
    assert (empty.intensities is None) != network.predicts_intensity
    with pytest.raises(ValueError, match='exported for'):
        network.geo_specs(224)


def test_sources_that_do_not_fit_the_backend_are_named(models, tmp_path):
    config, checkpoint, onnx = models
    with pytest.raises(ValueError, match='needs the exported model'):
        AUInferencer(backend='onnxruntime')
    with pytest.raises(ValueError, match='replaces the config'):
        AUInferencer(config, backend='onnxruntime', model=onnx)
    with pytest.raises(ValueError, match='holds all its weights'):
        AUInferencer(backend='onnxruntime', model=onnx, strict=False)
    with pytest.raises(ValueError, match="backend='onnxruntime'"):
        AUInferencer(config, checkpoint, model=onnx)
    with pytest.raises(ValueError, match="needs the model's config"):
        AUInferencer()
    with pytest.raises(ValueError, match="runs on cpu or cuda, not 'mps'"):
        AUInferencer(backend='onnxruntime', model=onnx, device='mps')
    import onnxruntime

    if 'CUDAExecutionProvider' not in onnxruntime.get_available_providers():
        with pytest.raises(ValueError, match='no CUDA provider'):
            AUInferencer(backend='onnxruntime', model=onnx, device='cuda')
    with pytest.raises(FileNotFoundError, match='missing.onnx'):
        AUInferencer(
            backend='onnxruntime', model=str(tmp_path / 'missing.onnx')
        )
    broken = tmp_path / 'broken.onnx'
    broken.write_bytes(b'not a model' * 10)
    with pytest.raises(ValueError, match='broken.onnx: onnxruntime cannot'):
        AUInferencer(backend='onnxruntime', model=str(broken))
