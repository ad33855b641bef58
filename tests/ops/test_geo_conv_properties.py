"""Property tests of GeoConv over the whole shape space, against float64
references.

Every example runs in a forked child (``run_forked``): a crash in the
kernels fails the test with the example's parameters instead of killing the
test run. ``GEOCONV_PROPERTY_EXAMPLES`` raises the number of examples (default:
the CI budget).
"""

import os
from dataclasses import dataclass
from functools import partial
from typing import Tuple, Union

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geoconv_mm.ops import GeoConv2d, geo_conv2d, geo_weight_shape
from geoconv_mm.ops.reference import geo_conv2d_taps, geo_conv2d_unfold
from tests.fixtures.processes import run_forked

# Seconds a forked example may run before it counts as hung.
TIMEOUT = 300.0
EXAMPLES = int(os.environ.get('GEOCONV_PROPERTY_EXAMPLES', '60'))
LAYOUTS = ('contiguous', 'channels_last', 'transposed', 'sliced')


@dataclass(frozen=True)
class Case:
    batch: int
    channels: int
    out_channels: int
    size: Tuple[int, int]
    kernel: Tuple[int, int]
    stride: Tuple[int, int]
    padding: Union[str, Tuple[int, int]]
    dilation: Tuple[int, int]
    groups: int
    layout: str
    bias: bool
    seed: int


def numeric_padding(case: Case) -> Tuple[int, int]:
    if case.padding == 'same':
        return GeoConv2d._numeric_padding(
            'same', case.kernel, case.stride, case.dilation
        )
    return case.padding


@st.composite
def cases(draw, wide: bool = False):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    if (
        wide
    ):  # enough (channel, tap) rows that the CPU kernel splits output rows
        cg, og = (
            draw(st.integers(24, 80)) // groups + 1,
            draw(st.integers(1, 4)),
        )
    else:
        cg, og = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = draw(
        st.one_of(
            st.just('same'), st.tuples(st.integers(0, 3), st.integers(0, 3))
        )
    )
    if padding == 'same':
        try:
            GeoConv2d._numeric_padding('same', kernel, stride, dilation)
        except ValueError:
            padding = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    pad = (
        padding
        if padding != 'same'
        else GeoConv2d._numeric_padding('same', kernel, stride, dilation)
    )
    size = []
    for k, d, p in zip(kernel, dilation, pad):
        smallest = max(1, d * (k - 1) + 1 - 2 * p)  # one output pixel
        size.append(smallest + draw(st.integers(0, 40 if wide else 9)))
    return Case(
        batch=draw(st.integers(1, 2) if wide else st.integers(0, 3)),
        channels=cg * groups,
        out_channels=og * groups,
        size=tuple(size),
        kernel=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        layout=draw(st.sampled_from(LAYOUTS)),
        bias=draw(st.booleans()),
        seed=draw(st.integers(0, 2**16)),
    )


def _layout(t: torch.Tensor, layout: str) -> torch.Tensor:
    t = t.detach()
    if layout == 'channels_last':
        t = t.contiguous(memory_format=torch.channels_last)
    elif layout == 'transposed':  # same values, H and W strides swapped
        t = t.transpose(2, 3).contiguous().transpose(2, 3)
    elif layout == 'sliced':  # every other element of a twice-as-wide tensor
        wide = t.new_zeros(*t.shape[:3], 2 * t.shape[3])
        wide[..., ::2] = t
        t = wide[..., ::2]
    return t.requires_grad_()


def make_inputs(case: Case, dtype=torch.float64):
    gen = torch.Generator().manual_seed(case.seed)
    pad = numeric_padding(case)
    x = torch.randn(
        case.batch, case.channels, *case.size, generator=gen, dtype=dtype
    )
    w = torch.randn(
        case.out_channels,
        case.channels // case.groups,
        *case.kernel,
        generator=gen,
        dtype=dtype,
    )
    g = (
        torch.rand(
            geo_weight_shape(x, w, case.stride, pad, case.dilation),
            generator=gen,
            dtype=dtype,
        )
        * 2
    )
    b = (
        torch.randn(case.out_channels, generator=gen, dtype=dtype)
        if case.bias
        else None
    )
    x, g = _layout(x, case.layout), _layout(g, case.layout)
    w = w.requires_grad_()
    if b is not None:
        b.requires_grad_()
    return x, w, g, b, pad


def check_case(case: Case) -> None:
    """Forward and the four gradients of the op equal the float64 tap
    reference.
    """
    x, w, g, b, pad = make_inputs(case)
    args = (case.stride, pad, case.dilation, case.groups)
    out = geo_conv2d(x, w, g, b, *args)
    ref = geo_conv2d_taps(x, w, g, b, *args)
    assert out.shape == ref.shape, (out.shape, ref.shape)
    torch.testing.assert_close(out, ref, rtol=1e-9, atol=1e-9)
    if case.layout == 'channels_last' and not x.is_contiguous():
        assert out.is_contiguous(memory_format=torch.channels_last)
    inputs = [t for t in (x, w, g, b) if t is not None]
    grad = torch.randn(
        out.shape,
        dtype=out.dtype,
        generator=torch.Generator().manual_seed(case.seed + 1),
    )
    got = torch.autograd.grad(out, inputs, grad, allow_unused=True)
    want = torch.autograd.grad(ref, inputs, grad, allow_unused=True)
    for name, t, a, e in zip(
        ('input', 'weight', 'geo_weight', 'bias'), inputs, got, want
    ):
        e = torch.zeros_like(t) if e is None else e
        assert a is not None, f'no gradient for {name}'
        torch.testing.assert_close(
            a,
            e,
            rtol=1e-9,
            atol=1e-9,
            msg=lambda m, name=name: f'grad of {name}: {m}',
        )


PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@PROPERTY
@given(cases())
def test_small_shapes_match_reference(case):
    run_forked(partial(check_case, case), TIMEOUT, repr(case))


@settings(
    max_examples=max(EXAMPLES // 3, 10),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(cases(wide=True))
def test_wide_shapes_match_reference(case):
    run_forked(partial(check_case, case), TIMEOUT, repr(case))


# Shapes that once crashed the CPU kernels: a cache tile ending partway through
# an output row whose piece lies wholly in the left padding.
CRASHED = [
    Case(
        1,
        64,
        8,
        (29, 29),
        (5, 5),
        (1, 1),
        (2, 2),
        (1, 1),
        1,
        'contiguous',
        True,
        0,
    ),
    Case(
        1,
        64,
        8,
        (57, 57),
        (3, 3),
        (1, 1),
        (2, 2),
        (2, 2),
        1,
        'contiguous',
        True,
        1,
    ),
    Case(
        1,
        64,
        8,
        (40, 137),
        (7, 7),
        (1, 1),
        (3, 3),
        (1, 1),
        1,
        'contiguous',
        False,
        2,
    ),
]


@pytest.mark.parametrize('case', CRASHED, ids=lambda c: f'{c.kernel}-{c.size}')
def test_shapes_that_crashed(case):
    run_forked(partial(check_case, case), TIMEOUT, repr(case))


def _check_float32_tiles(case: Case) -> None:
    x, w, g, b, pad = make_inputs(case, dtype=torch.float32)
    out = geo_conv2d(x, w, g, b, case.stride, pad, case.dilation, case.groups)
    ref = geo_conv2d_unfold(
        *(None if t is None else t.detach().double() for t in (x, w, g, b)),
        case.stride,
        pad,
        case.dilation,
        case.groups,
    )
    torch.testing.assert_close(out.double(), ref, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize('case', CRASHED, ids=lambda c: f'{c.kernel}-{c.size}')
def test_shapes_that_crashed_float32(case):
    # float32 halves the element size, so the same shapes split tiles
    # elsewhere.
    run_forked(partial(_check_float32_tiles, case), TIMEOUT, repr(case))


@pytest.mark.parametrize('geo_grad', [True, False], ids=['geo_grad', 'train'])
def test_cpu_gradients_are_bit_reproducible(geo_grad):
    # In process, not forked: a forked child cannot start an OpenMP team of its
    # own. Without a geodesic-weight gradient (training) the input and weight
    # gradients come from the channel-blocked pass, with one: from the
    # per-sample pass.
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        case = Case(
            8,
            32,
            16,
            (20, 20),
            (3, 3),
            (1, 1),
            (1, 1),
            (1, 1),
            1,
            'contiguous',
            False,
            3,
        )
        x, w, g, _b, pad = make_inputs(case, dtype=torch.float32)
        x = x.detach().requires_grad_()
        g = g.detach().requires_grad_(geo_grad)
        wrt = (w, g, x) if geo_grad else (w, x)
        names = (
            ('weight', 'geo_weight', 'input')
            if geo_grad
            else ('weight', 'input')
        )
        grads = []
        for _ in range(3):
            out = geo_conv2d(x, w, g, None, 1, pad)
            grads.append(torch.autograd.grad(out, wrt, torch.ones_like(out)))
    finally:
        torch.set_num_threads(threads)
    for other in grads[1:]:
        for name, a, b in zip(names, grads[0], other):
            assert torch.equal(a, b), (
                f'{name} gradients differ between identical runs'
            )
