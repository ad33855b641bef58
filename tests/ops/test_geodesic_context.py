import pytest
import torch
from mmcv.cnn import build_conv_layer
from mmpretrain.models import VGG, ResNet

from geoconv_mm.ops import (
    GeoConv2d,
    GeodesicContext,
    GeoSpec,
    collect_geo_specs,
)


def random_weights(specs, batch, image_size, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {
        s.key: 0.2
        + 1.6
        * torch.rand(
            batch, s.num_taps, *s.output_size(image_size), generator=gen
        )
        for s in specs
    }


def ones_weights(specs, batch, image_size):
    return {
        s.key: torch.ones(batch, s.num_taps, *s.output_size(image_size))
        for s in specs
    }


def test_build_conv_layer_makes_geoconv():
    layer = build_conv_layer(dict(type='GeoConv'), 3, 8, 3, padding=1)
    assert isinstance(layer, GeoConv2d)
    layer = build_conv_layer(
        dict(type='GeoConv', fallback='conv'), 3, 8, 3, padding=1
    )
    assert layer.fallback == 'conv'


@pytest.mark.parametrize(
    'make_model',
    [
        lambda: ResNet(
            depth=18, conv_cfg=dict(type='GeoConv'), out_indices=(3,)
        ),
        lambda: VGG(
            depth=11,
            conv_cfg=dict(type='GeoConv'),
            num_classes=-1,
            out_indices=(4,),
        ),
    ],
)
def test_mmpretrain_backbones_take_geoconv_by_conv_cfg(make_model):
    torch.manual_seed(0)
    geo_model = make_model()
    geo_model.eval()  # mmpretrain's train() override returns None
    n_geo = sum(isinstance(m, GeoConv2d) for m in geo_model.modules())
    assert n_geo >= 8
    image_size = (64, 64)
    specs = collect_geo_specs(geo_model, image_size, forward=lambda m, x: m(x))
    assert all(isinstance(s, GeoSpec) for s in specs)
    assert {s.in_stride for s in specs} >= {
        1,
        4,
        8,
    }  # hierarchy: one spec per scale
    plain = make_model()
    plain.eval()
    # Same parameters, plain convolutions: GeoConv2d is an nn.Conv2d subclass.
    plain.load_state_dict(geo_model.state_dict())
    for m in plain.modules():
        if isinstance(m, GeoConv2d):
            m.fallback = 'conv'
    x = torch.randn(2, 3, *image_size)
    with torch.no_grad():
        ref = plain(x)[-1]
        with GeodesicContext(
            ones_weights(specs, 2, image_size), image_size
        ).bind(geo_model):
            same = geo_model(x)[-1]
        with GeodesicContext(
            random_weights(specs, 2, image_size), image_size
        ).bind(geo_model):
            different = geo_model(x)[-1]
    torch.testing.assert_close(same, ref, rtol=1e-4, atol=1e-4)
    assert (different - ref).abs().max() > 1e-2


def test_layer_without_weights_fails_loudly_and_context_unbinds():
    model = torch.nn.Sequential(GeoConv2d(3, 4, 3, padding=1))
    x = torch.randn(1, 3, 8, 8)
    with pytest.raises(RuntimeError, match='no geodesic weights'):
        model(x)
    spec = GeoSpec(1)
    with GeodesicContext(ones_weights([spec], 1, (8, 8)), (8, 8)).bind(model):
        model(x)
    with pytest.raises(RuntimeError, match='no geodesic weights'):
        model(x)  # unbound again after the block


def test_missing_spec_is_named():
    model = torch.nn.Sequential(
        GeoConv2d(3, 4, 3, padding=1),
        torch.nn.MaxPool2d(2),
        GeoConv2d(4, 4, 3, padding=1),
    )
    ctx = GeodesicContext(ones_weights([GeoSpec(1)], 1, (8, 8)), (8, 8))
    with ctx.bind(model), pytest.raises(
        KeyError, match=r"'2'.*S2_k3x3_s1x1_p1x1_d1x1"
    ):
        model(torch.randn(1, 3, 8, 8))


def test_wrong_shape_and_device_are_errors():
    model = torch.nn.Sequential(GeoConv2d(3, 4, 3, padding=1))
    bad = {GeoSpec(1).key: torch.ones(2, 9, 8, 8)}
    with GeodesicContext(bad, (8, 8)).bind(model), pytest.raises(
        ValueError, match='expects'
    ):
        model(torch.randn(1, 3, 8, 8))
    meta = {GeoSpec(1).key: torch.ones(1, 9, 8, 8, device='meta')}
    with GeodesicContext(meta, (8, 8)).bind(model), pytest.raises(
        ValueError, match='meta'
    ):
        model(torch.randn(1, 3, 8, 8))


def test_non_integer_stride_is_an_error():
    model = torch.nn.Sequential(GeoConv2d(3, 4, 3, padding=1))
    with GeodesicContext({}, (10, 10)).bind(model), pytest.raises(
        ValueError, match='stride'
    ):
        model(torch.randn(1, 3, 4, 4))


def test_two_models_keep_their_own_weights():
    torch.manual_seed(0)
    a = torch.nn.Sequential(GeoConv2d(3, 4, 3, padding=1))
    b = torch.nn.Sequential(GeoConv2d(3, 4, 3, padding=1))
    b.load_state_dict(a.state_dict())
    spec, x = GeoSpec(1), torch.randn(1, 3, 8, 8)
    wa = random_weights([spec], 1, (8, 8), seed=1)
    wb = random_weights([spec], 1, (8, 8), seed=2)
    with GeodesicContext(wa, (8, 8)).bind(a), GeodesicContext(wb, (8, 8)).bind(
        b
    ):
        out_a, out_b = a(x), b(x)
    with GeodesicContext(wa, (8, 8)).bind(a):
        again_a = a(x)
        with pytest.raises(RuntimeError, match='no geodesic weights'):
            b(x)
    torch.testing.assert_close(out_a, again_a)
    assert (out_a - out_b).abs().max() > 1e-3


def test_context_weights_follow_network_dtype_and_get_gradients():
    layer = GeoConv2d(2, 2, 3, padding=1).double()
    spec = GeoSpec(1)
    geo = {spec.key: torch.rand(1, 9, 5, 5)}
    with GeodesicContext(geo, (5, 5)).bind(layer):
        out = layer(torch.randn(1, 2, 5, 5, dtype=torch.float64))
    assert out.dtype == torch.float64


def test_geo_spec_geometry():
    spec = GeoSpec(4, 3, 1, 1, 1)
    assert (
        spec.key == 'S4_k3x3_s1x1_p1x1_d1x1'
        and GeoSpec.from_key(spec.key) == spec
    )
    assert spec.output_size((32, 32)) == (8, 8)
    pts = spec.tap_image_points((32, 32))
    # centre tap of cell (0, 0) is the centre of the first 4x4 block:
    # (1.5, 1.5)
    assert pts.shape == (9, 8, 8, 2) and tuple(
        pts[spec.centre_index, 0, 0]
    ) == (1.5, 1.5)
    assert tuple(pts[0, 0, 0]) == (
        -2.5,
        -2.5,
    )  # top-left tap falls in the padding
    deu = spec.euclidean_distances()
    assert (
        deu[spec.centre_index] == 0
        and deu[1] == 4
        and abs(deu[0] - 4 * 2**0.5) < 1e-12
    )
    strided = GeoSpec(2, 3, 2, 1, 1)
    assert strided.output_size((16, 16)) == (4, 4)
    with pytest.raises(ValueError, match='even'):
        GeoSpec(1, 2).centre_index
