"""CUDA checks of GeoConv; skipped cleanly on machines without a GPU."""
import pytest
import torch
import torch.nn.functional as F

from geoconv_mm.ops import build_info, geo_conv2d

from .test_geo_conv import CASES, make

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')


@pytest.fixture(autouse=True)
def exact_fp32():
    # Compare against true float32 results, not TF32.
    old = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = old


def test_extension_was_built_with_cuda():
    assert build_info()['cuda'], 'torch sees a GPU but geoconv_mm._ext was built CPU-only'


@pytest.mark.parametrize('case', CASES)
def test_all_one_weights_equal_conv2d(case):
    x, weight, geo, bias, s, p, d, groups = make(case, dtype=torch.float32, device='cuda')
    out = geo_conv2d(x, weight, torch.ones_like(geo), bias, s, p, d, groups)
    torch.testing.assert_close(out, F.conv2d(x, weight, bias, s, p, d, groups),
                               rtol=1e-4, atol=1e-4)


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
    x, weight, geo, bias, s, p, d, groups = make((min(n, 2), c, o, min(h, 7), min(w, 7), *rest),
                                                 device='cuda')
    assert torch.autograd.gradcheck(lambda *t: geo_conv2d(*t, s, p, d, groups),
                                    (x, weight, geo, bias))


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_reduced_precision_close_to_float32(dtype):
    case = (4, 16, 16, 20, 20, (3, 3), (1, 1), (1, 1), (1, 1), 1)
    x, weight, geo, bias, s, p, d, groups = make(case, dtype=torch.float32, device='cuda')
    ref = geo_conv2d(x, weight, geo, bias, s, p, d, groups)
    low = [t.detach().to(dtype).requires_grad_() for t in (x, weight, geo, bias)]
    out = geo_conv2d(*low, s, p, d, groups)
    assert out.dtype == dtype
    scale = ref.abs().max().item()
    assert (out.float() - ref).abs().max().item() < 0.03 * scale
    out.float().sum().backward()
    assert all(t.grad is not None and torch.isfinite(t.grad).all() for t in low)


def test_autocast_runs_in_half():
    x, weight, geo, bias, s, p, d, groups = make(CASES[0], dtype=torch.float32, device='cuda')
    with torch.autocast('cuda', dtype=torch.float16):
        out = geo_conv2d(x, weight, geo, bias, s, p, d, groups)
    assert out.dtype == torch.float16
    out.float().sum().backward()
    assert x.grad.dtype == torch.float32 and geo.grad.dtype == torch.float32


def test_batch_size_zero_and_non_contiguous():
    x = torch.randn(0, 4, 8, 8, device='cuda', requires_grad=True)
    weight = torch.randn(6, 4, 3, 3, device='cuda', requires_grad=True)
    out = geo_conv2d(x, weight, torch.rand(0, 9, 8, 8, device='cuda'), None, 1, 1)
    assert out.shape == (0, 6, 8, 8)
    x, weight, geo, bias, s, p, d, groups = make(CASES[0], device='cuda')
    xt = x.detach().transpose(2, 3).contiguous().transpose(2, 3)
    torch.testing.assert_close(geo_conv2d(xt, weight, geo, bias, s, p, d, groups),
                               geo_conv2d(x, weight, geo, bias, s, p, d, groups))
