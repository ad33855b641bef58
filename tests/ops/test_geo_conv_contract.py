"""The PyTorch 2 operator contract of GeoConv: fake kernels, autograd on the
op, opcheck, torch.compile, autocast and memory formats."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from geoconv_mm.ops import geo_conv2d, geo_weight_shape
from geoconv_mm.ops.reference import geo_conv2d_taps

OPS = torch.ops.geoconv_mm


def make(
    n=2, c=4, o=6, h=7, w=9, k=(3, 3), dtype=torch.float64, grad=True, seed=0
):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, h, w, generator=gen, dtype=dtype)
    weight = torch.randn(o, c, *k, generator=gen, dtype=dtype)
    geo = (
        torch.rand(
            geo_weight_shape(x, weight, 1, 1, 1), generator=gen, dtype=dtype
        )
        * 2
    )
    bias = torch.randn(o, generator=gen, dtype=dtype)
    return [t.requires_grad_(grad) for t in (x, weight, geo, bias)]


ARGS = ([1, 1], [1, 1], [1, 1], 1)


def test_torch_ops_call_is_differentiable():
    x, w, g, b = make()
    out = OPS.geo_conv2d_forward(x, w, g, b, *ARGS)
    ref = geo_conv2d_taps(x, w, g, b, (1, 1), (1, 1), (1, 1), 1)
    grad = torch.randn_like(out)
    got = torch.autograd.grad(out, (x, w, g, b), grad)
    want = torch.autograd.grad(ref, (x, w, g, b), grad)
    for a, e in zip(got, want):
        torch.testing.assert_close(a, e)


def test_gradcheck_through_torch_ops():
    x, w, g, b = make(n=1, c=2, o=2, h=4, w=5)
    assert torch.autograd.gradcheck(
        lambda *t: OPS.geo_conv2d_forward(*t, *ARGS), (x, w, g, b)
    )


def test_double_backward_raises_a_clear_error():
    x, w, g, b = make(n=1, c=2, o=2, h=4, w=5)
    out = geo_conv2d(x, w, g, b, 1, 1)
    (gx,) = torch.autograd.grad(out.square().sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match='double backward'):
        gx.sum().backward()


def test_backward_returns_none_for_unrequested_gradients():
    x, w, g, _ = make(grad=False)
    gout = torch.randn(2, 6, 7, 9, dtype=torch.float64)
    gi, gw, gg = OPS.geo_conv2d_backward(
        gout, x, w, g, *ARGS, [False, True, False]
    )
    assert gi is None and gg is None and gw.shape == w.shape


def test_backward_checks_grad_output_shape():
    x, w, g, _ = make(grad=False)
    with pytest.raises(RuntimeError, match='grad_output must have shape'):
        OPS.geo_conv2d_backward(
            torch.randn(2, 6, 7, 8, dtype=torch.float64),
            x,
            w,
            g,
            *ARGS,
            [True, True, True],
        )


def test_forward_checks_bias_in_cpp():
    x, w, g, b = make(grad=False)
    with pytest.raises(RuntimeError, match='bias has dtype'):
        OPS.geo_conv2d_forward(x, w, g, b.float(), *ARGS)
    with pytest.raises(RuntimeError, match=r'bias must have shape \(6\)'):
        OPS.geo_conv2d_forward(x, w, g, b[:5], *ARGS)


@pytest.mark.parametrize('channels_last', [False, True])
def test_opcheck_forward(channels_last):
    x, w, g, b = make(dtype=torch.float32)
    if channels_last:
        x = (
            x.detach()
            .contiguous(memory_format=torch.channels_last)
            .requires_grad_()
        )
    torch.library.opcheck(OPS.geo_conv2d_forward.default, (x, w, g, b, *ARGS))
    torch.library.opcheck(
        OPS.geo_conv2d_forward.default, (x, w, g, None, *ARGS)
    )


@pytest.mark.parametrize('mask', [[True, True, True], [False, True, False]])
def test_opcheck_backward(mask):
    x, w, g, _ = make(dtype=torch.float32, grad=False)
    gout = torch.randn(2, 6, 7, 9)
    torch.library.opcheck(
        OPS.geo_conv2d_backward.default, (gout, x, w, g, *ARGS, mask)
    )


class TinyGeoNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 5, 3, padding=1)

    def forward(self, x, geo):
        x = F.relu(
            geo_conv2d(x, self.conv1.weight, geo, self.conv1.bias, 1, 1)
        )
        return geo_conv2d(
            x, self.conv2.weight, geo, self.conv2.bias, 1, 1
        ).mean((2, 3))


@pytest.mark.parametrize('backend', ['aot_eager', 'inductor'])
def test_torch_compile_fullgraph_matches_eager(backend):
    # inductor generates and compiles C++ around the opaque GeoConv calls,
    # so it also checks that the fake kernels give strides it can plan on.
    torch.manual_seed(0)
    model = TinyGeoNet()
    x = torch.randn(2, 3, 6, 6)
    geo = torch.rand(2, 9, 6, 6)
    eager_out = model(x, geo)
    eager_grads = torch.autograd.grad(
        eager_out.sum(), list(model.parameters())
    )
    torch._dynamo.reset()
    compiled = torch.compile(model, fullgraph=True, backend=backend)
    out = compiled(x, geo)
    grads = torch.autograd.grad(out.sum(), list(model.parameters()))
    torch.testing.assert_close(out, eager_out)
    for a, e in zip(grads, eager_grads):
        torch.testing.assert_close(a, e)


def test_cpu_autocast_keeps_float64():
    x, w, g, b = make()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = geo_conv2d(x, w, g, b, 1, 1)
    assert out.dtype == torch.float64
    assert F.conv2d(x, w, b, 1, 1).dtype == torch.float64  # what we follow


def test_cpu_autocast_runs_float32_in_float32():
    x, w, g, b = make(dtype=torch.float32)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = geo_conv2d(x, w, g, b, 1, 1)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, geo_conv2d(x, w, g, b, 1, 1))


def test_channels_last_in_channels_last_out():
    x, w, g, b = make()
    xc = (
        x.detach()
        .contiguous(memory_format=torch.channels_last)
        .requires_grad_()
    )
    out = geo_conv2d(xc, w, g, b, 1, 1)
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, geo_conv2d(x, w, g, b, 1, 1))
    out.sum().backward()
    assert xc.grad.is_contiguous(memory_format=torch.channels_last)
