"""The portable backend: Eq. 3 in PyTorch operations, against the native CPU
operator and the float64 loop and tap references, with bounded memory."""

import itertools
from functools import partial

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from torch.utils._python_dispatch import TorchDispatchMode

from geoconv_mm.ops import geo_conv2d, geo_weight_shape, use_backend
from geoconv_mm.ops.portable import (
    _Geometry,
    _tiles,
    geo_conv2d_columns,
    geo_conv2d_portable,
)
from geoconv_mm.ops.reference import geo_conv2d_loop, geo_conv2d_taps
from tests.fixtures.processes import run_forked

from .precision import (
    chunk_partials,
    emulate,
    positive_case,
    within_bound,
)
from .test_geo_conv import CASES, make
from .test_geo_conv_properties import (
    EXAMPLES,
    TIMEOUT,
    Case,
    cases,
    make_inputs,
)

OPS = torch.ops.geoconv_mm
NAMES = ('output', 'grad input', 'grad weight', 'grad geo_weight', 'grad bias')


def results(fn, x, w, g, b, args, seed):
    """Output and the gradients of every argument that is not None."""
    out = fn(x, w, g, b, *args)
    inputs = [t for t in (x, w, g, b) if t is not None]
    gen = torch.Generator().manual_seed(seed)
    grad = torch.randn(out.shape, dtype=out.dtype, generator=gen)
    return [out, *torch.autograd.grad(out, inputs, grad)]


def check_against_native_and_reference(case: Case, dtype) -> None:
    x, w, g, b, pad = make_inputs(case, dtype)
    args = (case.stride, pad, case.dilation, case.groups)
    native = results(
        lambda *a: OPS.geo_conv2d_forward(*a[:4], *map(list, a[4:7]), a[7]),
        x,
        w,
        g,
        b,
        args,
        case.seed,
    )
    portable = results(geo_conv2d_portable, x, w, g, b, args, case.seed)
    if dtype == torch.float64:
        reference = results(geo_conv2d_taps, x, w, g, b, args, case.seed)
        tol = dict(rtol=1e-9, atol=1e-9)
    else:
        reference, tol = native, dict(rtol=1e-4, atol=1e-4)
    for name, p, n, r in zip(NAMES, portable, native, reference):
        assert p.shape == r.shape, name
        torch.testing.assert_close(p, r, **tol, msg=lambda m: f'{name}: {m}')
        torch.testing.assert_close(p, n, **tol, msg=lambda m: f'{name}: {m}')
    if case.layout == 'channels_last' and not x.is_contiguous():
        assert portable[0].is_contiguous(memory_format=torch.channels_last)


PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@PROPERTY
@given(cases())
def test_float64_matches_native_and_taps_reference(case):
    run_forked(
        partial(check_against_native_and_reference, case, torch.float64),
        TIMEOUT,
        repr(case),
    )


@settings(
    max_examples=max(EXAMPLES // 3, 10),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(cases(wide=True))
def test_float32_matches_native_on_wide_shapes(case):
    run_forked(
        partial(check_against_native_and_reference, case, torch.float32),
        TIMEOUT,
        repr(case),
    )


@pytest.mark.parametrize('case', CASES[:3])
def test_forward_matches_plain_loop(case):
    x, weight, geo, bias, s, p, d, groups = make(case)
    torch.testing.assert_close(
        geo_conv2d_portable(x, weight, geo, bias, s, p, d, groups),
        geo_conv2d_loop(x, weight, geo, bias, s, p, d, groups),
    )


@pytest.mark.parametrize('case', CASES[:4])
def test_gradcheck_float64(case):
    n, c, o, h, w, *rest = case
    small = (min(n, 2), c, o, min(h, 7), min(w, 7), *rest)
    x, weight, geo, bias, s, p, d, groups = make(small)
    assert torch.autograd.gradcheck(
        lambda *t: geo_conv2d_portable(*t, s, p, d, groups),
        (x, weight, geo, bias),
    )


def test_tiles_cover_every_output_once_within_the_budget():
    x = torch.zeros(5, 6, 20, 17)
    w = torch.zeros(4, 6, 3, 3)
    geo = _Geometry(x, w, (2, 1), (1, 1), (1, 2), 1)
    row_bytes = 3 * 6 * 9 * geo.out_w * 4
    for budget in (None, 1, row_bytes, 3 * row_bytes, 50 * row_bytes, 1e12):
        tiles = list(_tiles(geo, 4, None if budget is None else int(budget)))
        cells = [
            (n, y)
            for n0, n1, y0, y1 in tiles
            for n, y in itertools.product(range(n0, n1), range(y0, y1))
        ]
        assert sorted(cells) == list(
            itertools.product(range(5), range(geo.out_h))
        ), budget
        assert len(cells) == len(set(cells))
        if budget is not None:
            for n0, n1, y0, y1 in tiles:
                rows = (n1 - n0) * (y1 - y0)
                assert rows == 1 or rows * row_bytes <= budget


class LargestTemporary(TorchDispatchMode):
    """Records the bytes of the largest tensor any operation returns."""

    def __init__(self):
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in torch.utils._pytree.tree_leaves(out):
            if isinstance(t, torch.Tensor):
                size = t.untyped_storage().nbytes()
                self.largest = max(self.largest, size)
        return out


def largest_temporary(budget):
    """Largest tensor of a forward and backward of one call, and the call's
    results against the float64 tap reference."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(5, 96, 24, 24, generator=gen).requires_grad_()
    w = torch.randn(32, 96, 3, 3, generator=gen).requires_grad_()
    g = torch.rand(5, 9, 24, 24, generator=gen).requires_grad_()
    args = ((1, 1), (1, 1), (1, 1), 1)
    ref = geo_conv2d_taps(x.double(), w.double(), g.double(), None, *args)
    grad = torch.randn(ref.shape, generator=gen)
    want = torch.autograd.grad(ref, (x, w, g), grad.double())
    with LargestTemporary() as mode:
        out = geo_conv2d_portable(x, w, g, None, *args, budget_bytes=budget)
        got = torch.autograd.grad(out, (x, w, g), grad)
    torch.testing.assert_close(out.double(), ref, rtol=1e-4, atol=1e-3)
    for a, e in zip(got, want):
        torch.testing.assert_close(a, e, rtol=1e-4, atol=1e-2)
    return mode.largest


# One sample's columns: 96 channels x 9 taps x 24 x 24 float32 (2 MB); the
# padded input is 5 x 96 x 26 x 26 float32 (1.3 MB).
SAMPLE_COLUMNS = 96 * 9 * 24 * 24 * 4
PADDED_INPUT = 5 * 96 * 26 * 26 * 4


def test_one_tile_holds_all_columns():
    # Without a budget the five samples' columns (10 MB) are one tensor:
    # what the bounded runs below must avoid.
    assert largest_temporary(None) >= 5 * SAMPLE_COLUMNS


@pytest.mark.parametrize(
    'budget', [3 * SAMPLE_COLUMNS, SAMPLE_COLUMNS], ids=['samples', 'rows']
)
def test_memory_is_bounded_by_the_budget(budget):
    # A budget of one sample's columns (times the three column-sized
    # temporaries of a tile), or of a third of them (tiles of output rows):
    # no temporary exceeds the budget or the input-sized tensors.
    assert largest_temporary(budget) <= max(budget // 3, PADDED_INPUT)


def test_tiled_equals_one_tile():
    x, w, g, b, s, p, d, groups = make(CASES[1])
    one = results(
        lambda *a: geo_conv2d_portable(*a, budget_bytes=1 << 40),
        x,
        w,
        g,
        b,
        (s, p, d, groups),
        0,
    )
    # A budget of one byte: one output row of one sample per tile.
    rows = results(
        lambda *a: geo_conv2d_portable(*a, budget_bytes=1),
        x,
        w,
        g,
        b,
        (s, p, d, groups),
        0,
    )
    for name, a, e in zip(NAMES, rows, one):
        torch.testing.assert_close(a, e, msg=lambda m: f'{name}: {m}')


@pytest.mark.parametrize('backend', ['native', 'torch'])
def test_double_backward_raises_the_same_error(backend):
    x, w, g, b, s, p, d, groups = make(CASES[0])
    with use_backend(backend):
        out = geo_conv2d(x, w, g, b, s, p, d, groups)
    (gx,) = torch.autograd.grad(out.square().sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match='does not support double backward'):
        gx.sum().backward()


def test_unfolded_columns_without_budget_equal_the_tiled_path():
    # The ONNX lowering (no budget, one tile) is the same computation.
    x, w, g, b, s, p, d, groups = make(CASES[3])
    torch.testing.assert_close(
        geo_conv2d_columns(x, w, g, b, s, p, d, groups, budget_bytes=None),
        geo_conv2d_portable(x, w, g, b, s, p, d, groups, budget_bytes=1),
    )


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_reduced_precision_runs_on_cpu(dtype):
    # The portable backend takes any floating dtype (the native CPU kernels
    # take float32 and float64).
    x, w, g, b, s, p, d, groups = make(CASES[0], dtype=torch.float32)
    low = [t.detach().to(dtype).requires_grad_() for t in (x, w, g, b)]
    with use_backend('torch'):
        out = geo_conv2d(*low, s, p, d, groups)
    ref = geo_conv2d_taps(*(t.double() for t in low), s, p, d, groups)
    assert out.dtype == dtype
    scale = ref.abs().max().item()
    assert (out.double() - ref).abs().max().item() < 2e-2 * scale


class TinyGeoNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 5, 3, stride=2, padding=1, groups=1)

    def forward(self, x, geo1, geo2):
        x = F.relu(
            geo_conv2d(x, self.conv1.weight, geo1, self.conv1.bias, 1, 1)
        )
        return geo_conv2d(
            x, self.conv2.weight, geo2, self.conv2.bias, 2, 1
        ).mean((2, 3))


@pytest.mark.parametrize('backend', ['aot_eager', 'inductor'])
def test_torch_compile_of_the_portable_path_matches_eager(backend):
    torch.manual_seed(0)
    model = TinyGeoNet()
    x = torch.randn(2, 3, 8, 8)
    geo1 = torch.rand(2, 9, 8, 8)
    geo2 = torch.rand(2, 9, 4, 4).requires_grad_()
    with use_backend('torch'):
        eager_out = model(x, geo1, geo2)
        wrt = [*model.parameters(), geo2]
        eager_grads = torch.autograd.grad(eager_out.sum(), wrt)
        torch._dynamo.reset()
        compiled = torch.compile(model, fullgraph=True, backend=backend)
        out = compiled(x, geo1, geo2)
        grads = torch.autograd.grad(out.sum(), wrt)
    torch.testing.assert_close(out, eager_out)
    for a, e in zip(grads, eager_grads):
        torch.testing.assert_close(a, e)


def test_empty_batch():
    x = torch.randn(0, 4, 8, 8, requires_grad=True)
    w = torch.randn(6, 4, 3, 3, requires_grad=True)
    g = torch.rand(0, 9, 8, 8)
    out = geo_conv2d_portable(x, w, g, None, (1, 1), (1, 1), (1, 1), 1)
    assert out.shape == (0, 6, 8, 8)
    out.sum().backward()
    assert torch.count_nonzero(w.grad) == 0


def test_geo_weight_shape_is_the_portable_output_shape():
    x, w, g, b, s, p, d, groups = make(CASES[5])
    out = geo_conv2d_portable(x, w, g, b, s, p, d, groups)
    assert out.shape[2:] == geo_weight_shape(x, w, s, p, d)[2:]


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_the_tolerance_tells_a_wrong_accumulation(dtype):
    # 64 chunks of one sample: partials rounded once and summed in float32
    # meet the bound; the same partials summed in the input dtype do not.
    x, w, g = positive_case(dtype)
    partials = chunk_partials(x, w, g, 1, 1, dtype)
    right = emulate(partials, dtype, torch.float32)
    wrong = emulate(partials, dtype, dtype)
    assert within_bound(right, partials, 144, dtype)
    assert not within_bound(wrong, partials, 144, dtype)


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_reduced_precision_weight_gradient_is_summed_in_float32(dtype):
    x, w, g = positive_case(dtype)
    w.requires_grad_()
    one_sample = 3 * 4 * 9 * 144 * x.element_size()  # a tile per sample
    out = geo_conv2d_portable(
        x, w, g, None, (1, 1), (1, 1), (1, 1), 1, budget_bytes=one_sample
    )
    (got,) = torch.autograd.grad(out.float().sum(), w)
    assert got.dtype == dtype
    partials = chunk_partials(x, w.detach(), g, 1, 1, dtype)
    assert within_bound(got, partials, 144, dtype)
