"""GeoConv in standard ONNX operators, run by onnxruntime, and the runtime
class of exported AU models (metadata, checks, batches)."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn

from geoconv_mm.ops import GeoSpec, geo_conv2d, geo_weight_shape
from geoconv_mm.ops.onnx_runtime import (
    CROP_INPUT,
    OUTPUT,
    ONNXAUModel,
    ONNXModelMeta,
    write_metadata,
)

onnx = pytest.importorskip('onnx')
ort = pytest.importorskip('onnxruntime')

# Operators a lowered GeoConv layer may use (all in the default domain).
LOWERED_OPS = {
    'Pad',
    'Slice',
    'Mul',
    'Unsqueeze',
    'Concat',
    'Reshape',
    'Conv',
    'Constant',
    'Shape',
    'Gather',
    'Cast',
    'Add',
    'Sub',
    'Div',
    'ConstantOfShape',
    'Identity',
    'Transpose',
}


class OneLayer(nn.Module):
    def __init__(self, weight, bias, args):
        super().__init__()
        self.weight = nn.Parameter(weight)
        self.bias = None if bias is None else nn.Parameter(bias)
        self.args = args

    def forward(self, x, g):
        return geo_conv2d(x, self.weight, g, self.bias, *self.args)


def export(module, inputs, names, path, output='out'):
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(
            module,
            inputs,
            str(path),
            dynamo=False,
            input_names=names,
            output_names=[output],
            dynamic_axes={n: {0: 'batch'} for n in names + [output]},
            opset_version=17,
        )
    return onnx.load(str(path))


# (C, O, H, W, kernel, stride, padding, dilation, groups, bias)
LAYERS = [
    (4, 6, 9, 11, (3, 3), (1, 1), (1, 1), (1, 1), 1, True),
    (6, 4, 10, 7, (3, 2), (2, 1), (1, 0), (2, 1), 2, False),
    (3, 5, 8, 8, (5, 5), (2, 2), (2, 2), (1, 1), 1, True),
    (4, 4, 12, 12, (1, 1), (3, 3), (0, 0), (1, 1), 4, True),
]


@pytest.mark.parametrize('layer', LAYERS, ids=lambda c: str(c[4:9]))
def test_a_geoconv_layer_lowers_to_standard_operators(layer, tmp_path):
    c, o, h, w, k, s, p, d, groups, bias = layer
    gen = torch.Generator().manual_seed(0)
    weight = torch.randn(o, c // groups, *k, generator=gen)
    b = torch.randn(o, generator=gen) if bias else None
    module = OneLayer(weight, b, (s, p, d, groups)).eval()

    def inputs(n):
        x = torch.randn(n, c, h, w, generator=gen)
        g = 2 * torch.rand(geo_weight_shape(x, weight, s, p, d), generator=gen)
        return x, g

    proto = export(module, inputs(2), ['x', 'g'], tmp_path / 'layer.onnx')
    onnx.checker.check_model(proto, full_check=True)
    assert {n.domain for n in proto.graph.node} <= {'', 'ai.onnx'}
    assert {n.op_type for n in proto.graph.node} <= LOWERED_OPS
    session = ort.InferenceSession(str(tmp_path / 'layer.onnx'))
    for n in (1, 3):  # the batch is dynamic
        x, g = inputs(n)
        (got,) = session.run(None, {'x': x.numpy(), 'g': g.numpy()})
        with torch.no_grad():
            want = module(x, g).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def meta_of(**changes):
    values = dict(
        au_ids=[1, 2, 12],
        threshold=0.4,
        input_size=(16, 16),
        mean=[10.0, 20.0, 30.0],
        std=[2.0, 4.0, 8.0],
        to_rgb=True,
        geo_specs=[GeoSpec(1).key, GeoSpec(2).key],
        pipeline=[dict(type='PackAUInputs')],
        producer='test',
    )
    values.update(changes)
    return ONNXModelMeta(**values)


def test_metadata_round_trip_and_names():
    meta = meta_of()
    props = meta.to_props()
    assert props['geoconv_mm.au_names'] == '["AU01", "AU02", "AU12"]'
    assert ONNXModelMeta.from_props(props) == meta
    assert meta.input_names == [CROP_INPUT, *meta.geo_specs]
    assert meta.geo_weight_shape(GeoSpec(2).key, 5) == (5, 9, 8, 8)


@pytest.mark.parametrize(
    'edit, match',
    [
        (lambda p: p.clear(), 'has no geoconv_mm metadata'),
        (lambda p: p.update({'geoconv_mm.format': '7'}), 'format 7'),
        (lambda p: p.pop('geoconv_mm.threshold'), 'threshold.* missing'),
        (lambda p: p.update({'geoconv_mm.std': '[1,'}), 'std.* not JSON'),
        (
            lambda p: p.update({'geoconv_mm.geo_specs': '["S1_k3"]'}),
            'not a GeoSpec key',
        ),
    ],
)
def test_bad_metadata_is_a_clear_error(edit, match):
    props = meta_of().to_props()
    edit(props)
    with pytest.raises(ValueError, match=match):
        ONNXModelMeta.from_props(props, 'x.onnx')


class TinyAUNet(nn.Module):
    """Normalisation, two GeoConv layers (strides 1 and 2 of the image), a
    pooled linear head and a sigmoid: the graph contract of an export."""

    def __init__(self, meta):
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        self.meta = meta
        self.w1 = nn.Parameter(torch.randn(4, 3, 3, 3, generator=gen) / 5)
        self.w2 = nn.Parameter(torch.randn(5, 4, 3, 3, generator=gen) / 6)
        self.fc = nn.Linear(5, len(meta.au_ids))
        self.register_buffer('mean', torch.tensor(meta.mean).view(-1, 1, 1))
        self.register_buffer('std', torch.tensor(meta.std).view(-1, 1, 1))

    def forward(self, crop, g1, g2):
        x = (crop[:, [2, 1, 0]] - self.mean) / self.std
        x = torch.relu(geo_conv2d(x, self.w1, g1, None, 1, 1))
        x = nn.functional.max_pool2d(x, 2)
        x = torch.relu(geo_conv2d(x, self.w2, g2, None, 1, 1))
        return torch.sigmoid(self.fc(x.mean((2, 3))))


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    meta = meta_of()
    net = TinyAUNet(meta).eval()
    path = tmp_path_factory.mktemp('onnx') / 'tiny.onnx'
    crops, weights = random_batch(meta, 2)
    proto = export(
        net,
        (crops, *[weights[k] for k in meta.geo_specs]),
        meta.input_names,
        path,
        OUTPUT,
    )
    write_metadata(proto, meta)
    onnx.save(proto, str(path))
    return net, ONNXAUModel(str(path)), meta


def random_batch(meta, n, seed=0):
    gen = torch.Generator().manual_seed(seed)
    crops = torch.randint(0, 256, (n, 3, *meta.input_size), generator=gen)
    weights = {
        k: 0.5 + torch.rand(meta.geo_weight_shape(k, n), generator=gen)
        for k in meta.geo_specs
    }
    return crops.float(), weights


def test_runtime_reads_the_metadata_and_matches_pytorch(tiny):
    net, model, meta = tiny
    assert model.meta == meta
    assert model.au_ids == [1, 2, 12] and model.num_aus == 3
    assert model.threshold == 0.4
    assert [s.key for s in model.geo_specs(16)] == meta.geo_specs
    with pytest.raises(ValueError, match='exported for'):
        model.geo_specs(32)
    crops, weights = random_batch(meta, 3, seed=1)
    got = model(crops.to(torch.uint8).numpy(), weights)
    with torch.no_grad():
        want = net(crops, *[weights[k] for k in meta.geo_specs]).numpy()
    np.testing.assert_allclose(got, want, atol=1e-6)
    samples = [
        dict(inputs=crops[i], data_samples=_Sample(weights, i))
        for i in range(3)
    ]
    np.testing.assert_allclose(model.predict(samples), got, atol=1e-7)
    assert model.predict([]).shape == (0, 3)


class _Sample:
    def __init__(self, weights, i):
        self.geo_weights = {k: v[i].numpy() for k, v in weights.items()}


def test_runtime_names_what_is_wrong(tiny):
    _, model, meta = tiny
    crops, weights = random_batch(meta, 2)
    with pytest.raises(ValueError, match=r'crops must be \(N, 3, 16, 16\)'):
        model(crops[:, :, :8], weights)
    missing = dict(weights)
    missing.pop(meta.geo_specs[1])
    with pytest.raises(KeyError, match=meta.geo_specs[1]):
        model(crops, missing)
    wrong = dict(weights)
    wrong[meta.geo_specs[0]] = wrong[meta.geo_specs[0]][:, :, :8]
    with pytest.raises(ValueError, match=r'must be \(2, 9, 16, 16\)'):
        model(crops, wrong)


def test_a_file_without_metadata_is_refused(tmp_path):
    module = OneLayer(torch.randn(2, 3, 3, 3), None, (1, 1, 1, 1)).eval()
    x, g = torch.randn(1, 3, 5, 5), torch.rand(1, 9, 5, 5)
    path = tmp_path / 'bare.onnx'
    export(module, (x, g), ['x', 'g'], path)
    with pytest.raises(ValueError, match='bare.onnx has no geoconv_mm'):
        ONNXAUModel(str(path))
