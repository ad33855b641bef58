"""How exact a float16/bfloat16 weight gradient summed over chunks must be.

The GeoConv kernels (native CUDA and portable) compute the weight gradient of
each chunk of samples as one GEMM in the input dtype, which rounds that
chunk's partial sum ``P_c`` once, and add the partials in float32; the total
``T = sum_c P_c`` is rounded once more to the input dtype. So, elementwise,

    |got - T| <= ulp(T) / 2 + sum_c (ulp(P_c) / 2 + m * u32 * |P_c|)

with ``m`` the products one partial sums (rounded by the GEMM's float32
accumulation, ``u32 = 2**-24``). Summing the partials in the input dtype
instead rounds every running sum, an error that grows with the running sum,
not with the partial: on many chunks of one sign it breaks this bound, which
:func:`emulate` demonstrates on the CPU.
"""

import torch
import torch.nn.functional as F

U32 = 2.0**-24


def positive_case(dtype, n=64, device='cpu'):
    """Inputs of one sign (x, weight, g of a 3x3 convolution of 4 channels
    at 12 x 12), so that sums grow with the number of chunks."""
    gen = torch.Generator().manual_seed(0)
    x = 0.5 + torch.rand(n, 4, 12, 12, generator=gen)
    w = torch.rand(3, 4, 3, 3, generator=gen)
    g = 0.5 + torch.rand(n, 9, 12, 12, generator=gen)
    return [t.to(device, dtype) for t in (x, w, g)]


# Products one partial of positive_case sums, per sample: its pixels.
PRODUCTS_PER_SAMPLE = 12 * 12


def ulp(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Spacing of ``dtype`` at |x| (float64), for normal numbers."""
    info = torch.finfo(dtype)
    mag = x.abs().clamp_min(info.tiny)
    return torch.exp2(torch.floor(torch.log2(mag))) * info.eps


def chunk_partials(x, w, g, padding, chunk, dtype) -> torch.Tensor:
    """(chunks, O, C, Kh, Kw) float64 partial weight gradients of
    ``out.sum()`` per chunk of ``chunk`` samples, from the low-precision
    inputs and columns rounded as the kernels round them (``x * g`` in
    ``dtype``)."""
    o, c, kh, kw = w.shape
    n = x.shape[0]
    cols = F.unfold(x.double(), (kh, kw), padding=padding)
    cols = cols.view(n, c, kh * kw, -1) * g.double().flatten(2)[:, None]
    cols = cols.to(dtype).double().flatten(1, 2)  # (N, C*K, P)
    per_sample = cols.sum(-1)  # grad_output = 1: sum over pixels
    parts = [
        per_sample[i : i + chunk].sum(0) for i in range(0, n, chunk)
    ]  # each (C*K,), the same for every output channel
    return (
        torch.stack(parts)[:, None].expand(-1, o, -1).reshape(-1, o, c, kh, kw)
    )


def accumulation_bound(partials, products_per_partial, dtype):
    """The elementwise bound of the module docstring."""
    total = partials.sum(0)
    per_chunk = ulp(partials, dtype) / 2 + (
        products_per_partial * U32 * partials.abs()
    )
    return ulp(total, dtype) / 2 + per_chunk.sum(0)


def within_bound(got, partials, products_per_partial, dtype) -> bool:
    """Whether ``got`` (the kernel's gradient) meets the bound everywhere."""
    error = (got.double() - partials.sum(0)).abs()
    bound = accumulation_bound(partials, products_per_partial, dtype)
    return bool((error <= bound).all())


def emulate(partials, dtype, accumulate_in) -> torch.Tensor:
    """The gradient a kernel would return: partials rounded to ``dtype``,
    summed in ``accumulate_in`` (float32: right; ``dtype``: wrong), the total
    rounded to ``dtype``."""
    total = torch.zeros(partials.shape[1:], dtype=accumulate_in)
    for p in partials:
        total = (total + p.to(dtype).to(accumulate_in)).to(accumulate_in)
    return total.to(dtype)
