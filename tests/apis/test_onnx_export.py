"""Export of the SynthAU demo GeoCNN to ONNX: the graph's contract, its
metadata, and onnxruntime against PyTorch on random inputs and on real
faces (skimage's astronaut through the face pipeline, nothing
downloaded)."""

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from geoconv_mm.apis import export_model_onnx, export_onnx, verify_onnx
from geoconv_mm.apis.au_front_end import face_inputs
from geoconv_mm.engine import save_model_weights
from geoconv_mm.ops import model_geo_specs
from geoconv_mm.ops.onnx_runtime import ONNXAUModel

onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

CONFIG = 'configs/geocnn_synthau_demo.py'
# Largest |onnxruntime - PyTorch| of an AU probability allowed.
TOLERANCE = 1e-5


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """The demo model with spread-out outputs (its head re-drawn at unit
    scale, so that probabilities span (0, 1) rather than sit at 0.5),
    saved as a checkpoint and exported."""
    cfg = Config.fromfile(CONFIG)
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        model.head.fc.weight.normal_(0, 1)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    root = tmp_path_factory.mktemp('export')
    ckpt = save_model_weights(
        model, str(root / 'demo.pth'), cfg.test_dataloader.dataset.au_ids
    )
    out = root / 'demo.onnx'
    wrapper, _ = export_onnx(CONFIG, ckpt, str(out))
    assert verify_onnx(wrapper, str(out)) <= TOLERANCE
    return cfg, model, out


def test_graph_inputs_outputs_and_operators(exported):
    cfg, model, out = exported
    proto = onnx.load(str(out))
    onnx.checker.check_model(proto, full_check=True)
    keys = [s.key for s in model_geo_specs(model, 112)]
    inputs = {
        i.name: [
            d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim
        ]
        for i in proto.graph.input
    }
    assert list(inputs) == ['crop', *keys]
    assert inputs['crop'] == ['batch', 3, 112, 112]
    assert inputs[keys[0]] == ['batch', 9, 112, 112]
    assert inputs[keys[-1]] == ['batch', 9, 7, 7]
    (output,) = proto.graph.output
    assert output.name == 'probabilities'
    assert {n.domain for n in proto.graph.node} <= {'', 'ai.onnx'}


def test_metadata_makes_the_config_unnecessary(exported):
    cfg, model, out = exported
    meta = ONNXAUModel(str(out)).meta
    assert meta.au_ids == list(cfg.test_dataloader.dataset.au_ids)
    assert meta.au_names[:3] == ['AU01', 'AU02', 'AU04']
    assert meta.threshold == model.head.threshold == 0.5
    assert meta.input_size == (112, 112)
    pre = cfg.model.data_preprocessor
    assert (meta.mean, meta.std, meta.to_rgb) == (
        list(pre.mean),
        list(pre.std),
        pre.to_rgb,
    )
    assert meta.geo_specs == [s.key for s in model_geo_specs(model, 112)]
    assert [t['type'] for t in meta.pipeline] == [
        'GenerateGeodesicWeights',
        'PackAUInputs',
    ]
    assert meta.pipeline[0]['specs'] == meta.geo_specs
    assert 'geoconv-mm' in meta.producer


@pytest.fixture(scope='module')
def real_faces():
    """Three crops of the astronaut's face: the photo, its mirror image and
    a smaller copy, through the face pipeline at the demo's 112 pixels."""
    pytest.importorskip('mediapipe')
    from skimage import data

    from geoconv_mm.face import FacePipeline

    photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    pipeline = FacePipeline(crop_size=112)
    images = [photo, cv2.flip(photo, 1), cv2.resize(photo, (400, 400))]
    return [
        pipeline.process(img, name=f'face{i}') for i, img in enumerate(images)
    ]


def _samples(runtime, faces):
    """The faces through the pipeline stored in the file (not the
    config's): crop and geodesic weights, packed."""
    init_default_scope('mmpretrain')
    pipeline = Compose(runtime.meta.pipeline)
    return [
        pipeline(face_inputs(face, f'face{i}', i))
        for i, face in enumerate(faces)
    ]


def test_onnxruntime_matches_pytorch_on_real_faces(exported, real_faces):
    cfg, model, out = exported
    runtime = ONNXAUModel(str(out))
    samples = _samples(runtime, real_faces)
    got = runtime.predict(samples)
    with torch.no_grad():
        data = model.data_preprocessor(pseudo_collate(samples), False)
        outputs = model(**data, mode='predict')
    want = torch.stack([o.pred_score for o in outputs]).numpy()
    assert got.shape == want.shape == (3, 15)
    assert want.min() < 0.2 and want.max() > 0.8  # a test that can fail
    difference = np.abs(got - want).max()
    print(f'max |onnxruntime - PyTorch| on real faces: {difference:.2e}')
    assert difference <= TOLERANCE, difference


def test_a_missing_checkpoint_is_named(tmp_path):
    out = tmp_path / 'x.onnx'
    with pytest.raises(FileNotFoundError, match='nothing.pth'):
        export_onnx(CONFIG, str(tmp_path / 'nothing.pth'), str(out))
    assert not out.exists()


def test_au_ids_that_do_not_match_the_head_are_refused(exported, tmp_path):
    cfg, model, _ = exported
    out = tmp_path / 'x.onnx'
    with pytest.raises(ValueError, match='predicts 15 AUs but 2 AU ids'):
        export_model_onnx(model, cfg, [1, 2], str(out))
    assert not out.exists()


def test_a_checkpoint_of_another_model_is_refused(exported, tmp_path):
    """Strict loading: a checkpoint without the head's weights would export
    a random head."""
    from geoconv_mm.engine import CheckpointMismatchError

    _, model, _ = exported
    state = {
        k: v for k, v in model.state_dict().items() if not k.startswith('head')
    }
    ckpt = tmp_path / 'headless.pth'
    torch.save(dict(state_dict=state), ckpt)
    out = tmp_path / 'x.onnx'
    with pytest.raises(CheckpointMismatchError, match='head'):
        export_onnx(CONFIG, str(ckpt), str(out))
    assert not out.exists()


def test_a_preprocessor_without_normalisation_is_named(exported, tmp_path):
    cfg, model, _ = exported
    plain = MODELS.build(
        dict(cfg.model, data_preprocessor=dict(type='AUDataPreprocessor'))
    )
    plain.load_state_dict(model.state_dict())
    out = tmp_path / 'x.onnx'
    au_ids = cfg.test_dataloader.dataset.au_ids
    with pytest.raises(ValueError, match='AUDataPreprocessor with mean'):
        export_model_onnx(plain, cfg, au_ids, str(out))
    assert not list(tmp_path.iterdir())  # no file, no temporary left


def test_a_built_model_exports_as_its_checkpoint_does(exported, tmp_path):
    """export_model_onnx on the model in memory and export_onnx on its
    checkpoint write graphs that agree, with the same metadata."""
    cfg, model, from_checkpoint = exported
    out = tmp_path / 'in_memory.onnx'
    au_ids = cfg.test_dataloader.dataset.au_ids
    wrapper, meta = export_model_onnx(model, cfg, au_ids, str(out))
    assert meta == ONNXAUModel(str(from_checkpoint)).meta
    assert verify_onnx(wrapper, str(out)) <= TOLERANCE
    assert verify_onnx(wrapper, str(from_checkpoint)) <= TOLERANCE


# Models with the joint occurrence + intensity head: regression and ordinal.
INTENSITY_CONFIGS = (
    'configs/geocnn-int_synthau_demo.py',
    'configs/geocnn-int-ordinal_synthau_demo.py',
)
# Largest |onnxruntime - PyTorch| of an AU intensity (0-5) allowed.
INTENSITY_TOLERANCE = 5e-5


@pytest.fixture(scope='module', params=INTENSITY_CONFIGS)
def exported_joint(request, tmp_path_factory):
    """A joint demo model whose outputs spread over their scales (both
    heads re-drawn at a larger scale), saved and exported."""
    cfg = Config.fromfile(request.param)
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        model.head.occurrence.fc.weight.normal_(0, 1)
        model.head.intensity.fc.weight.normal_(0, 3)
        model.head.intensity.fc.bias.fill_(2.5)
    root = tmp_path_factory.mktemp('export_joint')
    ckpt = root / 'joint.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    out = root / 'joint.onnx'
    wrapper, _ = export_onnx(request.param, str(ckpt), str(out))
    assert verify_onnx(wrapper, str(out)) <= INTENSITY_TOLERANCE
    return model, out


def test_a_joint_model_exports_its_intensities(exported_joint, real_faces):
    """A second graph output, ``intensities``, matches the intensity head's
    pred_intensity on real faces; the probabilities stay the first."""
    model, out = exported_joint
    proto = onnx.load(str(out))
    assert [o.name for o in proto.graph.output] == [
        'probabilities',
        'intensities',
    ]
    runtime = ONNXAUModel(str(out))
    samples = _samples(runtime, real_faces)
    crops = np.stack([s['inputs'].numpy() for s in samples]).astype('f4')
    feeds = {'crop': crops}
    for key in runtime.meta.geo_specs:
        feeds[key] = np.stack(
            [np.asarray(s['data_samples'].geo_weights[key]) for s in samples]
        ).astype('f4')
    probs, levels = runtime.session.run(None, feeds)
    with torch.no_grad():
        data = model.data_preprocessor(pseudo_collate(samples), False)
        outputs = model(**data, mode='predict')
    want = torch.stack([o.pred_intensity for o in outputs]).numpy()
    assert levels.shape == want.shape == (3, 15)
    assert want.max() - want.min() > 1  # spread out: a test that can fail
    assert 0 <= levels.min() and levels.max() <= 5
    difference = np.abs(levels - want).max()
    print(f'max |onnxruntime - PyTorch| of intensities: {difference:.2e}')
    assert difference <= INTENSITY_TOLERANCE, difference
    scores = torch.stack([o.pred_score for o in outputs]).numpy()
    np.testing.assert_allclose(probs, scores, atol=TOLERANCE)
