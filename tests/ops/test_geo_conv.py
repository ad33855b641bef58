import pytest
import torch
import torch.nn.functional as F

from geoconv_mm.ops import GeoConv2d, build_info, geo_conv2d, geo_weight_shape
from geoconv_mm.ops.reference import geo_conv2d_loop, geo_conv2d_unfold

# (N, C, O, H, W, kernel, stride, padding, dilation, groups)
CASES = [
    (2, 4, 6, 9, 11, (3, 3), (1, 1), (1, 1), (1, 1), 1),
    (3, 6, 4, 10, 7, (3, 2), (2, 1), (1, 0), (2, 1), 2),
    (1, 3, 5, 8, 8, (4, 4), (1, 1), (2, 2), (1, 1), 1),
    (2, 4, 4, 12, 12, (5, 5), (3, 3), (0, 0), (1, 1), 4),
    (2, 8, 8, 7, 9, (1, 1), (2, 2), (0, 0), (1, 1), 1),
    (2, 3, 2, 6, 6, (2, 3), (1, 2), (1, 3), (3, 2), 1),
]


def make(case, dtype=torch.float64, device='cpu', seed=0):
    n, c, o, h, w, k, s, p, d, groups = case
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, h, w, generator=gen, dtype=dtype)
    weight = torch.randn(o, c // groups, *k, generator=gen, dtype=dtype)
    bias = torch.randn(o, generator=gen, dtype=dtype)
    shape = geo_weight_shape(x, weight, s, p, d)
    geo = torch.rand(shape, generator=gen, dtype=dtype) * 2
    return [t.to(device).requires_grad_() for t in (x, weight, geo, bias)] + [
        s,
        p,
        d,
        groups,
    ]


@pytest.mark.parametrize('case', CASES)
def test_all_one_weights_equal_conv2d(case):
    x, weight, geo, bias, s, p, d, groups = make(case)
    ones = torch.ones_like(geo)
    out = geo_conv2d(x, weight, ones, bias, s, p, d, groups)
    ref = F.conv2d(x, weight, bias, s, p, d, groups)
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize('case', CASES)
def test_forward_and_gradients_match_unfold_reference(case):
    x, weight, geo, bias, s, p, d, groups = make(case)
    out = geo_conv2d(x, weight, geo, bias, s, p, d, groups)
    ref = geo_conv2d_unfold(x, weight, geo, bias, s, p, d, groups)
    torch.testing.assert_close(out, ref)
    grad = torch.randn_like(out)
    got = torch.autograd.grad(out, (x, weight, geo, bias), grad)
    want = torch.autograd.grad(ref, (x, weight, geo, bias), grad)
    for name, a, b in zip(
        ('input', 'weight', 'geo_weight', 'bias'), got, want
    ):
        torch.testing.assert_close(a, b, msg=lambda m: f'grad of {name}: {m}')


@pytest.mark.parametrize('case', CASES[:3])
def test_forward_matches_plain_loop(case):
    x, weight, geo, bias, s, p, d, groups = make(case)
    out = geo_conv2d(x, weight, geo, bias, s, p, d, groups)
    torch.testing.assert_close(
        out, geo_conv2d_loop(x, weight, geo, bias, s, p, d, groups)
    )


@pytest.mark.parametrize('case', CASES[:4])
def test_gradcheck_float64(case):
    n, c, o, h, w, *rest = case
    small = (min(n, 2), c, o, min(h, 7), min(w, 7), *rest)
    x, weight, geo, bias, s, p, d, groups = make(small)
    assert torch.autograd.gradcheck(
        lambda *t: geo_conv2d(*t, s, p, d, groups), (x, weight, geo, bias)
    )


def test_float32_matches_float64():
    x, weight, geo, bias, s, p, d, groups = make(CASES[0])
    out32 = geo_conv2d(
        *(t.float() for t in (x, weight, geo, bias)), s, p, d, groups
    )
    torch.testing.assert_close(
        out32.double(),
        geo_conv2d(x, weight, geo, bias, s, p, d, groups),
        rtol=1e-5,
        atol=1e-5,
    )


def test_large_input_spans_several_tiles():
    # 64x64 outputs with 32 channels exceed one cache tile: checks the tile
    # seams.
    case = (3, 32, 16, 64, 64, (3, 3), (1, 1), (1, 1), (1, 1), 1)
    x, weight, geo, bias, s, p, d, groups = make(case, dtype=torch.float32)
    out = geo_conv2d(x, weight, geo, bias, s, p, d, groups)
    ref = geo_conv2d_unfold(x, weight, geo, bias, s, p, d, groups)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-3)
    grad = torch.randn_like(out)
    got = torch.autograd.grad(out, (x, weight, geo), grad)
    want = torch.autograd.grad(ref, (x, weight, geo), grad)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-2)


def test_non_contiguous_inputs():
    x, weight, geo, bias, s, p, d, groups = make(CASES[0])
    xt = (
        x.detach().transpose(2, 3).contiguous().transpose(2, 3)
    )  # same values, other strides
    geo_t = geo.detach().permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    assert not xt.is_contiguous() and not geo_t.is_contiguous()
    torch.testing.assert_close(
        geo_conv2d(xt, weight, geo_t, bias, s, p, d, groups),
        geo_conv2d(x, weight, geo, bias, s, p, d, groups),
    )


def test_batch_size_zero():
    x = torch.randn(0, 4, 8, 8, requires_grad=True)
    weight = torch.randn(6, 4, 3, 3, requires_grad=True)
    geo = torch.rand(0, 9, 8, 8, requires_grad=True)
    out = geo_conv2d(x, weight, geo, None, 1, 1)
    assert out.shape == (0, 6, 8, 8)
    out.sum().backward()
    assert weight.grad is not None and torch.count_nonzero(weight.grad) == 0


def test_none_geo_weight_is_plain_conv():
    x, weight, _, bias, s, p, d, groups = make(CASES[1])
    torch.testing.assert_close(
        geo_conv2d(x, weight, None, bias, s, p, d, groups),
        F.conv2d(x, weight, bias, s, p, d, groups),
    )


def test_wrong_geo_weight_shape_names_expected_shape():
    x = torch.randn(2, 4, 8, 8)
    weight = torch.randn(6, 4, 3, 3)
    with pytest.raises(ValueError, match=r'\(2, 9, 8, 8\)'):
        geo_conv2d(x, weight, torch.rand(2, 9, 7, 8), None, 1, 1)


def test_wrong_geo_weight_dtype_and_device():
    x = torch.randn(2, 4, 8, 8)
    weight = torch.randn(6, 4, 3, 3)
    with pytest.raises(TypeError, match='geo_weight has dtype torch.float64'):
        geo_conv2d(
            x, weight, torch.rand(2, 9, 8, 8, dtype=torch.float64), None, 1, 1
        )
    with pytest.raises(ValueError, match='geo_weight is on meta'):
        geo_conv2d(
            x, weight, torch.rand(2, 9, 8, 8, device='meta'), None, 1, 1
        )


def test_unsupported_cpu_dtype_is_an_error():
    x = torch.randn(1, 2, 4, 4).half()
    with pytest.raises(TypeError, match='float32 and float64'):
        geo_conv2d(
            x,
            torch.randn(2, 2, 3, 3).half(),
            torch.rand(1, 9, 4, 4).half(),
            None,
            1,
            1,
        )


def test_cpu_autocast_runs_in_float32():
    x, weight, geo, bias, s, p, d, groups = make(CASES[0], dtype=torch.float32)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = geo_conv2d(x, weight, geo, bias, s, p, d, groups)
    assert out.dtype == torch.float32
    torch.testing.assert_close(
        out, geo_conv2d(x, weight, geo, bias, s, p, d, groups)
    )


def test_build_info_reports_compiled_extension():
    info = build_info()
    assert info['compiled'] is True
    assert info['torch'].split('+')[0] == torch.__version__.split('+')[0]


def test_module_is_constructor_compatible_with_conv2d():
    torch.manual_seed(0)
    geo = GeoConv2d(
        4,
        6,
        3,
        stride=2,
        padding=1,
        dilation=1,
        groups=2,
        bias=False,
        fallback='conv',
    )
    conv = torch.nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2, bias=False)
    conv.load_state_dict(geo.state_dict())
    x = torch.randn(2, 4, 9, 9)
    torch.testing.assert_close(geo(x), conv(x))
    assert GeoConv2d(3, 3, 3, padding='same').padding == (1, 1)
    with pytest.raises(ValueError, match='padding'):
        GeoConv2d(3, 3, 2, padding='same')
    with pytest.raises(ValueError, match='zeros'):
        GeoConv2d(3, 3, 3, padding_mode='reflect')


def test_package_imports_without_compiled_op_and_says_how_to_build(tmp_path):
    # Forced native without the extension: the build command. (The default
    # backend falls back to the portable one: tests/ops/test_backends.py.)
    import subprocess
    import sys

    code = (
        'import os, sys\n'
        "sys.modules['geoconv_mm.ops._C'] = None  # as if it had never been "
        "compiled\n"
        "os.environ['GEOCONV_BACKEND'] = 'native'\n"
        'import torch, geoconv_mm\n'
        'from geoconv_mm.ops import ExtensionNotBuiltError, build_info, '
        'geo_conv2d\n'
        'info = build_info()\n'
        "assert {k: info[k] for k in ('compiled', 'cuda', 'torch')} == dict("
        "compiled=False, cuda=None, torch=None)\n"
        'try:\n'
        '    geo_conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 3, 3), '
        'torch.ones(1, 9, 1, 1))\n'
        'except ExtensionNotBuiltError as e:\n'
        "    assert 'pip install -e . --no-build-isolation' in str(e), e\n"
        'else:\n'
        "    raise SystemExit('no error without the extension')\n"
    )
    root = __file__.rsplit('/tests/', 1)[0]
    result = subprocess.run(
        [sys.executable, '-c', code], cwd=root, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
