"""CUDA checks of GeoConv; skipped cleanly on machines without a GPU."""

import pytest
import torch
import torch.nn.functional as F

from geoconv_mm.ops import build_info, geo_conv2d

from .test_geo_conv import CASES, make

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs a CUDA GPU'
)


@pytest.fixture(autouse=True)
def exact_fp32():
    # Compare against true float32 results, not TF32.
    old = (
        torch.backends.cudnn.allow_tf32,
        torch.backends.cuda.matmul.allow_tf32,
    )
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = (
        False
    )
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = (
        old
    )


def test_extension_was_built_with_cuda():
    assert build_info()['cuda'], (
        'torch sees a GPU but geoconv_mm.ops._C was built CPU-only'
    )


@pytest.mark.parametrize('case', CASES)
def test_all_one_weights_equal_conv2d(case):
    x, weight, geo, bias, s, p, d, groups = make(
        case, dtype=torch.float32, device='cuda'
    )
    out = geo_conv2d(x, weight, torch.ones_like(geo), bias, s, p, d, groups)
    torch.testing.assert_close(
        out, F.conv2d(x, weight, bias, s, p, d, groups), rtol=1e-4, atol=1e-4
    )


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
@pytest.mark.parametrize('case', CASES)
def test_cuda_matches_cpu(case, dtype):
    cpu = make(case, dtype=dtype)
    gpu = [t.detach().cuda().requires_grad_() for t in cpu[:4]] + cpu[4:]
    out_cpu, out_gpu = geo_conv2d(*cpu), geo_conv2d(*gpu)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else {}
    torch.testing.assert_close(out_gpu.cpu(), out_cpu, **tol)
    grad = torch.randn_like(out_cpu)
    g_cpu = torch.autograd.grad(out_cpu, cpu[:4], grad)
    g_gpu = torch.autograd.grad(out_gpu, gpu[:4], grad.cuda())
    for a, b in zip(g_gpu, g_cpu):
        torch.testing.assert_close(a.cpu(), b, **tol)


@pytest.mark.parametrize('case', CASES[:3])
def test_gradcheck_float64(case):
    n, c, o, h, w, *rest = case
    x, weight, geo, bias, s, p, d, groups = make(
        (min(n, 2), c, o, min(h, 7), min(w, 7), *rest), device='cuda'
    )
    assert torch.autograd.gradcheck(
        lambda *t: geo_conv2d(*t, s, p, d, groups), (x, weight, geo, bias)
    )


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_reduced_precision_close_to_float32(dtype):
    case = (4, 16, 16, 20, 20, (3, 3), (1, 1), (1, 1), (1, 1), 1)
    x, weight, geo, bias, s, p, d, groups = make(
        case, dtype=torch.float32, device='cuda'
    )
    ref = geo_conv2d(x, weight, geo, bias, s, p, d, groups)
    low = [
        t.detach().to(dtype).requires_grad_() for t in (x, weight, geo, bias)
    ]
    out = geo_conv2d(*low, s, p, d, groups)
    assert out.dtype == dtype
    scale = ref.abs().max().item()
    assert (out.float() - ref).abs().max().item() < 0.03 * scale
    out.float().sum().backward()
    assert all(
        t.grad is not None and torch.isfinite(t.grad).all() for t in low
    )


def test_autocast_runs_in_half():
    x, weight, geo, bias, s, p, d, groups = make(
        CASES[0], dtype=torch.float32, device='cuda'
    )
    with torch.autocast('cuda', dtype=torch.float16):
        out = geo_conv2d(x, weight, geo, bias, s, p, d, groups)
    assert out.dtype == torch.float16
    out.float().sum().backward()
    assert x.grad.dtype == torch.float32 and geo.grad.dtype == torch.float32


def test_batch_size_zero_and_non_contiguous():
    x = torch.randn(0, 4, 8, 8, device='cuda', requires_grad=True)
    weight = torch.randn(6, 4, 3, 3, device='cuda', requires_grad=True)
    out = geo_conv2d(
        x, weight, torch.rand(0, 9, 8, 8, device='cuda'), None, 1, 1
    )
    assert out.shape == (0, 6, 8, 8)
    x, weight, geo, bias, s, p, d, groups = make(CASES[0], device='cuda')
    xt = x.detach().transpose(2, 3).contiguous().transpose(2, 3)
    torch.testing.assert_close(
        geo_conv2d(xt, weight, geo, bias, s, p, d, groups),
        geo_conv2d(x, weight, geo, bias, s, p, d, groups),
    )


# Shapes near the GeoCNN layers: many tiles, several chunks, every kernel path
# at size.
LARGE = [
    (4, 64, 64, 112, 112, (3, 3), (1, 1), (1, 1), (1, 1), 1),
    (3, 256, 128, 28, 28, (3, 3), (1, 1), (1, 1), (1, 1), 1),
    (2, 96, 96, 57, 57, (5, 5), (2, 2), (2, 2), (1, 1), 3),
    (2, 64, 32, 40, 137, (7, 7), (1, 1), (3, 3), (2, 1), 1),
]


@pytest.mark.parametrize('case', LARGE)
def test_cuda_matches_cpu_on_large_shapes(case):
    cpu = make(case, dtype=torch.float32)
    gpu = [t.detach().cuda().requires_grad_() for t in cpu[:4]] + cpu[4:]
    out_cpu, out_gpu = geo_conv2d(*cpu), geo_conv2d(*gpu)
    scale = out_cpu.abs().max().item()
    torch.testing.assert_close(
        out_gpu.cpu(), out_cpu, rtol=1e-4, atol=1e-4 * scale
    )
    grad = torch.randn_like(out_cpu)
    for a, b in zip(
        torch.autograd.grad(out_gpu, gpu[:4], grad.cuda()),
        torch.autograd.grad(out_cpu, cpu[:4], grad),
    ):
        torch.testing.assert_close(
            a.cpu(), b, rtol=1e-4, atol=1e-4 * b.abs().max().item()
        )


def test_non_default_stream_matches_default():
    x, weight, geo, bias, s, p, d, groups = make(
        CASES[1], dtype=torch.float32, device='cuda'
    )
    ref = geo_conv2d(x, weight, geo, bias, s, p, d, groups)
    ref_grads = torch.autograd.grad(ref.sum(), (x, weight, geo, bias))
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        out = geo_conv2d(x, weight, geo, bias, s, p, d, groups)
        grads = torch.autograd.grad(out.sum(), (x, weight, geo, bias))
    torch.cuda.current_stream().wait_stream(stream)
    torch.testing.assert_close(out, ref)
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b)


def test_cuda_graph_capture_and_replay():
    x, weight, geo, bias, s, p, d, groups = make(
        CASES[0], dtype=torch.float32, device='cuda'
    )
    static = [t.detach().clone() for t in (x, weight, geo, bias)]
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(
        side
    ):  # warm-up outside capture, as CUDA graphs require
        geo_conv2d(*static, s, p, d, groups)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_out = geo_conv2d(*static, s, p, d, groups)
        static_grads = torch.ops.geoconv_mm.geo_conv2d_backward(
            torch.ones_like(static_out),
            static[0],
            static[1],
            static[2],
            list(s),
            list(p),
            list(d),
            groups,
            [True, True, True],
        )
    for seed in (1, 2):
        fresh = make(CASES[0], dtype=torch.float32, device='cuda', seed=seed)
        for dst, src in zip(static, fresh[:4]):
            dst.copy_(src.detach())
        graph.replay()
        want = geo_conv2d(*fresh)
        torch.testing.assert_close(static_out, want)
        want_grads = torch.autograd.grad(
            want, fresh[:3], torch.ones_like(want)
        )
        for a, b in zip(static_grads, want_grads):
            torch.testing.assert_close(a, b)


def test_cuda_autocast_keeps_float64():
    x, weight, geo, bias, s, p, d, groups = make(CASES[0], device='cuda')
    with torch.autocast('cuda', dtype=torch.float16):
        out = geo_conv2d(x, weight, geo, bias, s, p, d, groups)
    assert out.dtype == torch.float64


def test_cuda_channels_last_and_opcheck():
    x, weight, geo, bias, s, p, d, groups = make(
        CASES[0], dtype=torch.float32, device='cuda'
    )
    xc = (
        x.detach()
        .contiguous(memory_format=torch.channels_last)
        .requires_grad_()
    )
    out = geo_conv2d(xc, weight, geo, bias, s, p, d, groups)
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.library.opcheck(
        torch.ops.geoconv_mm.geo_conv2d_forward.default,
        (xc, weight, geo, bias, list(s), list(p), list(d), groups),
    )


def test_half_weight_gradient_is_accumulated_in_float32():
    # Many samples: rounding each chunk's partial to float16 would lose the
    # sum.
    case = (64, 16, 16, 12, 12, (3, 3), (1, 1), (1, 1), (1, 1), 1)
    x, weight, geo, bias, s, p, d, groups = make(
        case, dtype=torch.float32, device='cuda'
    )
    ref = torch.autograd.grad(
        geo_conv2d(x, weight, geo, bias, s, p, d, groups).sum(), weight
    )[0]
    low = [t.detach().half().requires_grad_() for t in (x, weight, geo, bias)]
    got = torch.autograd.grad(
        geo_conv2d(*low, s, p, d, groups).float().sum(), low[1]
    )[0]
    assert (
        got.float() - ref
    ).abs().max().item() < 2e-3 * ref.abs().max().item()


def test_cuda_weight_gradient_in_float64_is_exact():
    x, weight, geo, bias, s, p, d, groups = make(CASES[2], device='cuda')
    cpu = [t.detach().cpu().requires_grad_() for t in (x, weight, geo, bias)]
    got = torch.autograd.grad(
        geo_conv2d(x, weight, geo, bias, s, p, d, groups).sum(), weight
    )
    want = torch.autograd.grad(geo_conv2d(*cpu, s, p, d, groups).sum(), cpu[1])
    torch.testing.assert_close(got[0].cpu(), want[0], rtol=1e-12, atol=1e-12)
