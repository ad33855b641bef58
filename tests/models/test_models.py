"""GeoCNN's parts: branch patterns, weight binding, preprocessing, head."""

import pytest
import torch
import torch.nn as nn
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import geoconv_mm.models  # noqa: F401
from geoconv_mm.ops import GeoConv2d, GeodesicContext, collect_geo_specs

SIZE = 32


def geocnn_cfg(pattern=(1, 1, 1, 1, 1), num_aus=4):
    return dict(
        type='GeoAUClassifier',
        backbone=dict(
            type='GeoCNNBackbone',
            main_branch=dict(type='MultiChannelVGG', depth=11),
            aux_branch=dict(
                type='GeoBranch',
                geo_pattern=pattern,
                channels=(8, 8, 16, 16, 32),
            ),
        ),
        neck=dict(
            type='ConcatFusionNeck', in_channels=(512, 32), out_channels=16
        ),
        head=dict(
            type='AUHead',
            num_aus=num_aus,
            in_channels=16,
            loss=dict(type='AUBalancedBCELoss', use_balanced_weights=False),
        ),
    )


def sample(num_aus=4, geo=None):
    s = DataSample()
    s.set_field(torch.tensor([1.0, 0.0, 1.0, 0.0][:num_aus]), 'gt_au')
    s.set_field(torch.tensor([True, True, False, True][:num_aus]), 'au_mask')
    if geo is not None:
        s.set_field(geo, 'geo_weights')
    return s


def geo_weights(model, n, fill=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = {}
    for spec in collect_geo_specs(model, (SIZE, SIZE)):
        shape = (n, spec.num_taps, *spec.output_size((SIZE, SIZE)))
        out[spec.key] = (
            torch.full(shape, fill)
            if fill is not None
            else 0.2 + 1.6 * torch.rand(shape, generator=g)
        )
    return out


@pytest.mark.parametrize(
    'pattern', ['10000', (0, 0, 1, 1, 1), '11111', '00000']
)
def test_geo_pattern_selects_geoconv_layers(pattern):
    branch = MODELS.build(dict(type='GeoBranch', geo_pattern=pattern))
    convs = [m.conv for m in branch.layers if hasattr(m, 'conv')]
    assert [int(isinstance(c, GeoConv2d)) for c in convs] == [
        int(c) for c in pattern
    ]
    assert all(isinstance(c, nn.Conv2d) for c in convs)
    assert [c.out_channels for c in convs] == [32, 64, 128, 256, 512]
    specs = collect_geo_specs(branch, (224, 224), forward=lambda m, t: m(t))
    flags = ''.join(str(int(c)) for c in pattern)
    assert [s.key for s in specs] == [
        f'S{s}_k3x3_s1x1_p1x1_d1x1'
        for s, c in zip([1, 2, 4, 8, 16], flags)
        if c == '1'
    ]
    ones = {s.key: torch.ones(1, 9, *s.output_size((224, 224))) for s in specs}
    with torch.no_grad(), GeodesicContext(ones, (224, 224)).bind(branch):
        assert branch(torch.zeros(1, 3, 224, 224))[0].shape == (1, 512, 7, 7)


def test_bad_pattern_is_rejected():
    with pytest.raises(ValueError, match='geo_pattern'):
        MODELS.build(dict(type='GeoBranch', geo_pattern='1101'))
    with pytest.raises(ValueError, match='geo_pattern'):
        MODELS.build(dict(type='GeoBranch', geo_pattern=(1, 2, 0, 0, 0)))


def test_all_one_weights_reduce_geocnn_to_g00000():
    torch.manual_seed(0)
    geo = MODELS.build(geocnn_cfg()).eval()
    plain = MODELS.build(geocnn_cfg(pattern=(0, 0, 0, 0, 0))).eval()
    plain.load_state_dict(geo.state_dict())
    x = torch.randn(2, 3, SIZE, SIZE)
    ones = geo_weights(geo, 2, fill=1.0)
    ref = plain(x)
    torch.testing.assert_close(
        geo(x, geo_weights=ones), ref, rtol=1e-4, atol=1e-5
    )
    # Non-uniform weights reach the GeoConv layers and change the output.
    assert not torch.allclose(
        geo(x, geo_weights=geo_weights(geo, 2)), ref, atol=1e-4
    )


def test_geoconv_without_weights_fails_loudly_and_binding_is_scoped():
    model = MODELS.build(geocnn_cfg()).eval()
    x = torch.randn(1, 3, SIZE, SIZE)
    with pytest.raises(RuntimeError, match='no geodesic weights'):
        model(x)
    model(x, geo_weights=geo_weights(model, 1))
    with pytest.raises(RuntimeError, match='no geodesic weights'):
        model(x)  # the previous batch's weights were unbound
    missing = geo_weights(model, 1)
    missing.pop('S4_k3x3_s1x1_p1x1_d1x1')
    with pytest.raises(KeyError, match='S4_k3x3_s1x1_p1x1_d1x1'):
        model(x, geo_weights=missing)


def test_train_step_path_loss_and_predict():
    model = MODELS.build(geocnn_cfg())
    gw = geo_weights(model, 2)
    data = dict(
        inputs=[
            torch.randint(0, 256, (3, SIZE, SIZE), dtype=torch.uint8)
            for _ in range(2)
        ],
        data_samples=[
            sample(geo={k: v[i] for k, v in gw.items()}) for i in range(2)
        ],
    )
    batch = model.data_preprocessor(data, True)
    assert set(batch) == {'inputs', 'data_samples', 'geo_weights'}
    for key, value in gw.items():
        torch.testing.assert_close(batch['geo_weights'][key], value)
    losses = model(**batch, mode='loss')
    losses['loss'].backward()
    aux_grad = model.backbone.aux_branch.layers[0].conv.weight.grad
    assert aux_grad is not None and aux_grad.abs().sum() > 0
    model.eval()
    preds = model(**model.data_preprocessor(data, False), mode='predict')
    logits = model(**model.data_preprocessor(data, False))
    torch.testing.assert_close(preds[0].pred_score, torch.sigmoid(logits[0]))
    assert (
        preds[0].pred_label.tolist()
        == torch.nonzero(torch.sigmoid(logits[0]) >= 0.5).flatten().tolist()
    )


def test_preprocessor_colour_normalisation_and_depth_channel():
    pre = MODELS.build(
        dict(
            type='AUDataPreprocessor',
            mean=[1.0, 2.0, 3.0, 4.0],
            std=[2.0, 2.0, 2.0, 8.0],
            to_rgb=True,
        )
    )
    img = torch.arange(4 * 2 * 2, dtype=torch.float32).view(4, 2, 2)
    out = pre(dict(inputs=[img], data_samples=[sample()]))
    assert out['geo_weights'] is None
    expected = torch.stack(
        [
            (img[2] - 1) / 2,
            (img[1] - 2) / 2,
            (img[0] - 3) / 2,
            (img[3] - 4) / 8,
        ]
    )
    torch.testing.assert_close(out['inputs'][0], expected)


def test_preprocessor_errors():
    pre = MODELS.build(dict(type='AUDataPreprocessor'))
    with pytest.raises(ValueError, match='differ in size'):
        pre(
            dict(
                inputs=[torch.zeros(3, 4, 4), torch.zeros(3, 4, 6)],
                data_samples=None,
            )
        )
    g = {'S1_k3x3_s1x1_p1x1_d1x1': torch.ones(9, 4, 4)}
    with pytest.raises(ValueError, match='only some samples'):
        pre(
            dict(
                inputs=[torch.zeros(3, 4, 4)] * 2,
                data_samples=[sample(geo=g), sample()],
            )
        )
    with pytest.raises(ValueError, match='batch augments'):
        MODELS.build(
            dict(type='AUDataPreprocessor', batch_augments=dict(augments=[]))
        )


def test_backbone_feeds_each_branch_its_channels():
    backbone = MODELS.build(
        dict(
            type='GeoCNNBackbone',
            main_branch=dict(type='MultiChannelVGG', depth=11),
            aux_branch=dict(
                type='GeoBranch', in_channels=1, geo_pattern='00000'
            ),
            aux_channels=(3, 4),
        )
    ).eval()
    x = torch.randn(1, 4, SIZE, SIZE)
    y = x.clone()
    y[:, 3] += 1.0  # change the depth channel only
    (m1, a1), (m2, a2) = backbone(x), backbone(y)
    torch.testing.assert_close(m1, m2)
    assert not torch.allclose(a1, a2)
    with pytest.raises(ValueError, match='input channels 3..3'):
        backbone(torch.randn(1, 3, SIZE, SIZE))


def test_multichannel_vgg_keeps_mmpretrain_names():
    ref = MODELS.build(dict(type='VGG', depth=19))
    ours = MODELS.build(dict(type='MultiChannelVGG', depth=19))
    rgbd = MODELS.build(dict(type='MultiChannelVGG', depth=19, in_channels=4))
    assert (
        list(ref.state_dict())
        == list(ours.state_dict())
        == list(rgbd.state_dict())
    )
    assert rgbd.features[0].conv.weight.shape == (64, 4, 3, 3)
    assert rgbd(torch.zeros(1, 4, SIZE, SIZE))[-1].shape == (1, 512, 1, 1)


def test_neck_checks_channels():
    neck = MODELS.build(
        dict(type='ConcatFusionNeck', in_channels=(4, 2), out_channels=3)
    )
    assert neck((torch.zeros(2, 4, 3, 3), torch.zeros(2, 2, 3, 3)))[
        0
    ].shape == (2, 3)
    with pytest.raises(ValueError, match=r'channels \(4, 2\)'):
        neck((torch.zeros(2, 4, 3, 3),))


def test_head_requires_targets():
    head = MODELS.build(
        dict(
            type='AUHead',
            num_aus=4,
            in_channels=8,
            loss=dict(type='AUBalancedBCELoss', use_balanced_weights=False),
        )
    )
    with pytest.raises(KeyError, match='gt_au'):
        head.loss((torch.zeros(1, 8),), [DataSample()])
    with pytest.raises(ValueError, match='3 AU labels'):
        head.loss((torch.zeros(1, 8),), [sample(num_aus=3)])
