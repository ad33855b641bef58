"""The PyTorch network backend: the layouts give the same probabilities,
strict checkpoints, and the backend registry."""

import numpy as np
import pytest
import torch

pytest.importorskip('mediapipe')

from geoconv_mm.apis import NETWORK_BACKENDS, AUInferencer  # noqa: E402
from geoconv_mm.engine import CheckpointMismatchError  # noqa: E402
from geoconv_mm.utils.frame_io import Frame  # noqa: E402


@pytest.fixture(scope='module')
def samples(model_files, astronaut_bgr):
    config, checkpoint = model_files
    inf = AUInferencer(config, checkpoint, device='cpu')
    frames = [astronaut_bgr, np.ascontiguousarray(astronaut_bgr[:, ::-1])]
    return [
        s
        for i, img in enumerate(frames)
        for _, s in inf.preprocess(Frame(i, 0.0, img, f'a{i}'))
    ]


def test_channels_last_keeps_the_probabilities(model_files, samples):
    config, checkpoint = model_files
    probs = {}
    for layout in (False, True):
        inf = AUInferencer(
            config,
            checkpoint,
            device='cpu',
            network=dict(channels_last=layout, threads=1),
        )
        assert inf.network.channels_last is layout
        probs[layout] = inf.predict_batch(samples).probabilities
    assert probs[True].shape == (2, 6) and probs[True].dtype == np.float32
    np.testing.assert_allclose(probs[True], probs[False], atol=1e-5)
    # The same as the model's own 'predict' mode, face by face.
    model = inf.model
    data = model.data_preprocessor(
        dict(
            inputs=[s['inputs'] for s in samples],
            data_samples=[s['data_samples'] for s in samples],
        ),
        False,
    )
    with torch.no_grad():
        outs = model(**data, mode='predict')
    expected = torch.stack([o.pred_score for o in outs]).numpy()
    np.testing.assert_allclose(probs[True], expected, atol=1e-5)


def test_strict_loading_and_the_registry(model_files, tmp_path):
    config, checkpoint = model_files
    state = torch.load(checkpoint, weights_only=False)
    del state['state_dict']['head.fc.bias']
    partial = tmp_path / 'partial.pth'
    torch.save(state, partial)
    with pytest.raises(CheckpointMismatchError, match='head.fc.bias'):
        AUInferencer(config, str(partial), device='cpu')
    inf = AUInferencer(config, str(partial), device='cpu', strict=False)
    assert inf.au_ids == [1, 2, 4, 6, 12, 25]
    assert 'pytorch' in NETWORK_BACKENDS.module_dict
    assert 'onnxruntime' in NETWORK_BACKENDS.module_dict
    with pytest.raises(KeyError, match='onnx.*registered: onnxruntime'):
        AUInferencer(config, checkpoint, device='cpu', backend='onnx')
    with pytest.raises(FileNotFoundError, match='nothere.pth'):
        AUInferencer(config, str(tmp_path / 'nothere.pth'), device='cpu')
    with pytest.raises(ValueError, match='batch_size'):
        AUInferencer(config, checkpoint, device='cpu', batch_size=0)
