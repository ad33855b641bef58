"""One output-size rule, F.conv2d's, in the Python API, the C++ operator, the
fake kernels, GeoSpec and the portable backend."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch._subclasses.fake_tensor import FakeTensorMode

from geoconv_mm.ops import GeoSpec, geo_conv2d, geo_weight_shape, use_backend
from geoconv_mm.ops.conv_geometry import conv_output_hw

OPS = torch.ops.geoconv_mm


def conv2d_shape(size, kernel, stride, padding, dilation):
    """F.conv2d's verdict: its output (H, W), or None where it raises."""
    x = torch.zeros(1, 1, *size)
    w = torch.zeros(1, 1, *kernel)
    try:
        return tuple(F.conv2d(x, w, None, stride, padding, dilation).shape[2:])
    except RuntimeError:
        return None


def rule_shape(size, kernel, stride, padding, dilation):
    try:
        return conv_output_hw(size, kernel, stride, padding, dilation)
    except ValueError:
        return None


def cpp_shape(size, kernel, stride, padding, dilation):
    """The C++ operator's verdict, probing with geo weights of every size it
    could ask for: the shape it accepts, or None where it rejects all."""
    x = torch.zeros(1, 1, *size)
    w = torch.zeros(1, 1, *kernel)
    k = kernel[0] * kernel[1]
    args = (list(stride), list(padding), list(dilation), 1)
    for h in range(1, size[0] + 2 * max(padding[0], 0) + 2):
        for wd in range(1, size[1] + 2 * max(padding[1], 0) + 2):
            try:
                out = OPS.geo_conv2d_forward(
                    x, w, torch.zeros(1, k, h, wd), None, *args
                )
            except RuntimeError:
                continue
            return tuple(out.shape[2:])
    return None


def fake_shape(size, kernel, stride, padding, dilation):
    with FakeTensorMode():
        x = torch.zeros(1, 1, *size)
        w = torch.zeros(1, 1, *kernel)
        # The fake kernel checks no geo_weight shape: any will do.
        g = torch.zeros(1, kernel[0] * kernel[1], 1, 1)
        try:
            out = OPS.geo_conv2d_forward(
                x,
                w,
                g,
                None,
                list(stride),
                list(padding),
                list(dilation),
                1,
            )
        except RuntimeError:
            return None
        return tuple(out.shape[2:])


pairs = st.tuples


@settings(max_examples=150, deadline=None)
@given(
    size=pairs(st.integers(1, 7), st.integers(1, 7)),
    kernel=pairs(st.integers(1, 6), st.integers(1, 6)),
    stride=pairs(st.integers(0, 3), st.integers(1, 3)),
    padding=pairs(st.integers(-1, 3), st.integers(0, 3)),
    dilation=pairs(st.integers(0, 3), st.integers(1, 3)),
)
def test_one_rule_everywhere_equals_conv2d(
    size, kernel, stride, padding, dilation
):
    want = conv2d_shape(size, kernel, stride, padding, dilation)
    args = (size, kernel, stride, padding, dilation)
    assert rule_shape(*args) == want
    assert fake_shape(*args) == want
    if min(stride) > 0 and min(dilation) > 0 and min(padding) >= 0:
        # (the probe needs a well-formed geometry to size its weights)
        assert cpp_shape(*args) == want


def test_the_case_where_rounding_toward_zero_differed():
    # H=3, kernel 4, stride 2, no padding: -1 // 2 + 1 = 0 but
    # int(-1 / 2) + 1 = 1. F.conv2d rejects it, and so does every path now.
    assert conv2d_shape((3, 3), (4, 4), (2, 2), (0, 0), (1, 1)) is None
    x, w = torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 4, 4)
    with pytest.raises(RuntimeError, match='larger than the padded input'):
        OPS.geo_conv2d_forward(
            x, w, torch.zeros(1, 16, 1, 1), None, [2, 2], [0, 0], [1, 1], 1
        )
    with pytest.raises(ValueError, match='larger than the padded input'):
        geo_conv2d(x, w, torch.zeros(1, 16, 1, 1), None, 2, 0)


@pytest.mark.parametrize('backend', ['native', 'torch'])
@pytest.mark.parametrize(
    'kwargs, match',
    [
        (dict(stride=0), r'stride must be positive, got \(0, 0\)'),
        (dict(stride=(1, -1)), r'stride must be positive, got \(1, -1\)'),
        (dict(dilation=0), r'dilation must be positive, got \(0, 0\)'),
        (dict(padding=-1), r'padding must not be negative, got \(-1, -1\)'),
        (dict(groups=0), 'groups must be positive, got 0'),
    ],
)
def test_bad_arguments_name_the_argument(backend, kwargs, match):
    x, w = torch.randn(1, 2, 5, 5), torch.randn(2, 2, 3, 3)
    args = dict(stride=1, padding=1, dilation=1, groups=1)
    args.update(kwargs)
    with use_backend(backend), pytest.raises(ValueError, match=match):
        geo_conv2d(x, w, torch.rand(1, 9, 5, 5), None, **args)


def test_stride_zero_in_geo_weight_shape_is_not_a_zero_division():
    x, w = torch.randn(1, 2, 5, 5), torch.randn(2, 2, 3, 3)
    with pytest.raises(ValueError, match='stride must be positive'):
        geo_weight_shape(x, w, 0, 1, 1)


@pytest.mark.parametrize('backend', ['native', 'torch'])
def test_kernel_larger_than_padded_input_is_named(backend):
    # Was: "geo_weight must have shape (2, 25, -2, -2)".
    x, w = torch.randn(2, 3, 3, 3), torch.randn(4, 3, 5, 5)
    message = (
        r'the kernel 5x5 \(dilation \(1, 1\): 5x5\) is larger than the '
        r'padded input 3x3 \(input 3x3, padding \(0, 0\)\)'
    )
    with use_backend(backend), pytest.raises(ValueError, match=message):
        geo_conv2d(x, w, torch.rand(2, 25, 1, 1), None)
    with pytest.raises(ValueError, match=message):
        geo_weight_shape(x, w, 1, 0, 1)


@pytest.mark.parametrize(
    'args, match',
    [
        (([0, 1], [1, 1], [1, 1], 1), 'stride must be positive'),
        (([1, 1], [1, 1], [1, 0], 1), 'dilation must be positive'),
        (([1, 1], [-1, 1], [1, 1], 1), 'padding must not be negative'),
        (([1, 1], [1, 1], [1, 1], 0), 'groups must be positive'),
    ],
)
def test_the_operator_names_the_argument_too(args, match):
    x, w = torch.randn(1, 2, 5, 5), torch.randn(2, 2, 3, 3)
    with pytest.raises(RuntimeError, match=match):
        OPS.geo_conv2d_forward(x, w, torch.rand(1, 9, 5, 5), None, *args)


def test_geo_spec_follows_the_rule():
    spec = GeoSpec(8, kernel_size=5, padding=0)
    assert spec.output_size((40, 40)) == (1, 1)
    with pytest.raises(ValueError, match='empty output.*larger than'):
        spec.output_size((32, 32))  # a 4 x 4 input
