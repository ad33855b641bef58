"""CUDA checks of GeoConv; skipped cleanly on machines without a GPU.

The native kernels are compared with the CPU operator, with float64
references and with the portable backend (the oracle on CUDA), in float32,
float16, bfloat16 and under autocast; the chunk seams run on small batches
through a lowered chunk cap.
"""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings

from geoconv_mm.ops import build_info, geo_conv2d, use_backend
from geoconv_mm.ops.reference import geo_conv2d_taps

from .precision import (
    PRODUCTS_PER_SAMPLE,
    chunk_partials,
    positive_case,
    within_bound,
)
from .test_geo_conv import CASES, make
from .test_geo_conv_properties import cases, make_inputs

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


# Shapes near the GeoCNN layers: every kernel path at size (one chunk each:
# the chunk seams are tested below with a lowered chunk cap).
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


@pytest.fixture
def chunk_cap():
    """Sets the CUDA kernels' samples-per-chunk cap; restored afterwards."""
    from geoconv_mm.ops._ext import load_ext

    ext = load_ext()
    previous = ext._set_chunk_sample_limit(0)
    yield ext._set_chunk_sample_limit
    ext._set_chunk_sample_limit(previous)


def im2col_launches(prof) -> int:
    return sum(
        e.count for e in prof.key_averages() if 'im2col_kernel' in e.key
    )


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_five_samples_in_chunks_of_two_two_and_one(chunk_cap, dtype):
    # Chunk offsets, the weight gradient's accumulation across chunks and a
    # partial last chunk, compared value by value with the CPU operator.
    case = (5, 6, 4, 9, 11, (3, 3), (2, 1), (1, 1), (1, 2), 2)
    cpu = make(case, dtype=dtype)
    gpu = [t.detach().cuda().requires_grad_() for t in cpu[:4]] + cpu[4:]
    out_cpu = geo_conv2d(*cpu)
    grad = torch.randn_like(out_cpu)
    want = [out_cpu, *torch.autograd.grad(out_cpu, cpu[:4], grad)]
    chunk_cap(2)
    with torch.profiler.profile(
        activities=[torch.profiler.ProfilerActivity.CUDA]
    ) as prof:
        out = geo_conv2d(*gpu)
        got = [out, *torch.autograd.grad(out, gpu[:4], grad.cuda())]
        torch.cuda.synchronize()
    assert im2col_launches(prof) == 6  # 3 chunks, forward and backward
    tol = (
        dict(rtol=1e-12, atol=1e-12)
        if dtype == torch.float64
        else dict(rtol=1e-5, atol=1e-5)
    )
    for name, a, e in zip(
        ('output', 'input', 'weight', 'geo_weight', 'bias'), got, want
    ):
        torch.testing.assert_close(
            a.cpu(), e, **tol, msg=lambda m, name=name: f'{name}: {m}'
        )


def test_chunked_equals_one_chunk(chunk_cap):
    x, w, g, b, s, p, d, groups = make(LARGE[1], dtype=torch.float32)
    gpu = [t.detach().cuda().requires_grad_() for t in (x, w, g, b)]
    runs = []
    for cap in (0, 2, 1):
        chunk_cap(cap)
        out = geo_conv2d(*gpu, s, p, d, groups)
        runs.append(
            [out, *torch.autograd.grad(out, gpu, torch.ones_like(out))]
        )
    for other in runs[1:]:
        for a, e in zip(other, runs[0]):
            torch.testing.assert_close(
                a, e, rtol=1e-5, atol=1e-5 * e.abs().max().item()
            )


# The layers of GeoCNN's GeoConv branch at 224 x 224 (GeoBranch): input
# channels, output channels, input size.
GEOCNN_LAYERS = [
    (3, 32, 224),
    (32, 64, 112),
    (64, 128, 56),
    (128, 256, 28),
    (256, 512, 14),
]
# Tolerance against the float64 reference, relative to its largest value.
RTOL = {torch.float32: 1e-5, torch.float16: 1e-2, torch.bfloat16: 6e-2}


def native_and_portable(inputs, args, dtype, amp=False):
    """Output and gradients of both backends and the float64 reference."""
    ref_in = [
        t if t is None else t.detach().double().requires_grad_()
        for t in inputs
    ]
    ref = geo_conv2d_taps(*ref_in, *args)
    grad = torch.randn(
        ref.shape, generator=torch.Generator().manual_seed(1)
    ).to(ref)
    live = [t for t in ref_in if t is not None]
    results = {'reference': [ref, *torch.autograd.grad(ref, live, grad)]}
    for backend in ('native', 'torch'):
        ts = [
            t if t is None else t.detach().to('cuda', dtype).requires_grad_()
            for t in inputs
        ]
        autocast = torch.autocast('cuda', dtype=torch.float16, enabled=amp)
        with use_backend(backend), autocast:
            out = geo_conv2d(*ts, *args)
        live = [t for t in ts if t is not None]
        grads = torch.autograd.grad(out, live, grad.to(out))
        results[backend] = [out, *grads]
    return results


def assert_backends_agree(results, dtype, label):
    for i, ref in enumerate(results['reference']):
        scale = ref.abs().max().item() or 1.0
        for backend in ('native', 'torch'):
            got = results[backend][i]
            error = (got.double().cpu() - ref).abs().max().item()
            assert error <= RTOL[dtype] * scale, (
                f'{label}: {backend} result {i} differs from float64 by '
                f'{error:.3g} at scale {scale:.3g}'
            )
        a, b = results['native'][i], results['torch'][i]
        assert a.dtype == b.dtype and a.shape == b.shape, label
        between = (a.double() - b.double()).abs().max().item()
        assert between <= 2 * RTOL[dtype] * scale, (
            f'{label}: native and portable result {i} differ by {between:.3g}'
        )


@pytest.mark.parametrize(
    'dtype', [torch.float32, torch.float16, torch.bfloat16]
)
@pytest.mark.parametrize(
    'layer', GEOCNN_LAYERS, ids=lambda s: f'{s[0]}-{s[1]}@{s[2]}'
)
def test_native_matches_portable_on_geocnn_layers(layer, dtype):
    cin, cout, size = layer
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, cin, size, size, generator=gen)
    w = torch.randn(cout, cin, 3, 3, generator=gen) / (3 * cin**0.5)
    g = 2 * torch.rand(2, 9, size, size, generator=gen)
    b = torch.randn(cout, generator=gen)
    results = native_and_portable(
        [x, w, g, b], ((1, 1), (1, 1), (1, 1), 1), dtype
    )
    assert_backends_agree(results, dtype, f'{layer} {dtype}')


def test_native_matches_portable_under_autocast():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 64, 56, 56, generator=gen)
    w = torch.randn(128, 64, 3, 3, generator=gen) / 24
    g = 2 * torch.rand(2, 9, 56, 56, generator=gen)
    results = native_and_portable(
        [x, w, g, None], ((1, 1), (1, 1), (1, 1), 1), torch.float32, amp=True
    )
    assert results['native'][0].dtype == torch.float16
    assert results['native'][1].dtype == torch.float32  # grads of leaves
    assert_backends_agree(
        dict(
            reference=results['reference'],
            native=results['native'],
            torch=results['torch'],
        ),
        torch.float16,
        'autocast',
    )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(cases(wide=True))
def test_native_matches_portable_on_random_shapes(case):
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        x, w, g, b, pad = make_inputs(case, torch.float32)
        results = native_and_portable(
            [x, w, g, b],
            (case.stride, pad, case.dilation, case.groups),
            dtype,
        )
        assert_backends_agree(results, dtype, f'{case} {dtype}')


@pytest.fixture
def exact_reductions():
    """cuBLAS without reduced-precision reductions inside one GEMM."""
    matmul = torch.backends.cuda.matmul
    old = (
        matmul.allow_fp16_reduced_precision_reduction,
        matmul.allow_bf16_reduced_precision_reduction,
    )
    matmul.allow_fp16_reduced_precision_reduction = False
    matmul.allow_bf16_reduced_precision_reduction = False
    yield
    (
        matmul.allow_fp16_reduced_precision_reduction,
        matmul.allow_bf16_reduced_precision_reduction,
    ) = old


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_reduced_precision_weight_gradient_against_float64(
    chunk_cap, exact_reductions, dtype
):
    # 64 chunks of one sample: each chunk's partial rounded once, the sum in
    # float32 (tests/ops/precision.py; a sum in the input dtype fails here).
    x, w, g = positive_case(dtype, device='cuda')
    w.requires_grad_()
    chunk_cap(1)
    out = geo_conv2d(x, w, g, None, 1, 1)
    (got,) = torch.autograd.grad(out.float().sum(), w)
    assert got.dtype == dtype
    partials = chunk_partials(x.cpu(), w.detach().cpu(), g.cpu(), 1, 1, dtype)
    assert within_bound(got.cpu(), partials, PRODUCTS_PER_SAMPLE, dtype)


@pytest.mark.parametrize(
    'flag',
    [
        'allow_fp16_accumulation',
        'allow_fp16_reduced_precision_reduction',
        'allow_bf16_reduced_precision_reduction',
    ],
)
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_reduced_precision_weight_gradient_under_every_cublas_flag(
    chunk_cap, flag, dtype
):
    matmul = torch.backends.cuda.matmul
    if not hasattr(matmul, flag):
        pytest.skip(f'this torch has no torch.backends.cuda.matmul.{flag}')
    old = getattr(matmul, flag)
    setattr(matmul, flag, True)
    try:
        x, w, g = positive_case(dtype, device='cuda')
        w.requires_grad_()
        chunk_cap(3)
        out = geo_conv2d(x, w, g, None, 1, 1)
        (got,) = torch.autograd.grad(out.float().sum(), w)
    finally:
        setattr(matmul, flag, old)
    want = chunk_partials(x.cpu(), w.detach().cpu(), g.cpu(), 1, 64, dtype)
    want = want.sum(0)
    assert got.dtype == dtype
    # The flag lets one GEMM reduce in low precision; still close.
    torch.testing.assert_close(got.double().cpu(), want, rtol=2e-2, atol=0)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float16])
def test_depthwise_is_one_gemm_per_chunk(dtype):
    # Many groups: batched GEMMs, not one launch per group.
    x, w, g, b, s, p, d, groups = make(
        (2, 256, 256, 14, 14, (3, 3), (1, 1), (1, 1), (1, 1), 256),
        dtype=dtype,
        device='cuda',
    )
    with torch.profiler.profile(
        activities=[torch.profiler.ProfilerActivity.CUDA]
    ) as prof:
        out = geo_conv2d(x, w, g, b, s, p, d, groups)
        torch.autograd.grad(out, (x, w, g, b), torch.ones_like(out))
        torch.cuda.synchronize()
    launches = sum(e.count for e in prof.key_averages())
    assert launches < 40, launches  # was over 1,000 for 256 groups
    results = native_and_portable(
        [t.detach().cpu().float() for t in (x, w, g, b)],
        (s, p, d, groups),
        dtype,
    )
    assert_backends_agree(results, dtype, f'depthwise {dtype}')
