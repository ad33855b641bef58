"""The output-size rule of a 2-D convolution, as ``F.conv2d`` applies it.

Every GeoConv path follows this one rule: the Python API, the fake kernels
(``_op_registration``), :class:`~geoconv_mm.ops.GeoSpec`, the portable
backend and the C++ kernels (``make_geometry`` in ``ops/csrc/geo_conv.cpp``,
which states the same rule in C++). Strides and dilations are positive,
padding is not negative, and the dilated kernel ``d * (k - 1) + 1`` fits the
padded input ``size + 2 * p``; the output then has
``(size + 2 * p - d * (k - 1) - 1) // s + 1 >= 1`` cells, the numerator never
negative, so rounding down and toward zero agree.
"""

from __future__ import annotations

from typing import Sequence, Tuple

IntPair = Tuple[int, int]


def check_conv_params(
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    op: str = 'geo_conv2d',
) -> None:
    """Raises a ValueError naming the argument that ``F.conv2d`` would reject.

    Args:
        stride, padding, dilation (Sequence[int]): (h, w) pairs.
        op (str): Name that starts every message.
    """
    if len(stride) != 2 or min(stride) < 1:
        raise ValueError(
            f'{op}: stride must be positive, got {tuple(stride)} (F.conv2d: '
            '"non-positive stride is not supported")'
        )
    if len(dilation) != 2 or min(dilation) < 1:
        raise ValueError(
            f'{op}: dilation must be positive, got {tuple(dilation)}'
        )
    if len(padding) != 2 or min(padding) < 0:
        raise ValueError(
            f'{op}: padding must not be negative, got {tuple(padding)}'
        )


def kernel_fits(size, kernel, padding, dilation) -> bool:
    """Whether the dilated kernel fits the padded input along one axis."""
    return size + 2 * padding >= dilation * (kernel - 1) + 1


def output_size(size, kernel, stride, padding, dilation):
    """Output cells along one axis; only for a kernel that fits
    (:func:`kernel_fits`). Works on ints and SymInts alike.
    """
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def kernel_too_large_message(
    input_hw: Sequence[int],
    kernel_hw: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    op: str = 'geo_conv2d',
) -> str:
    """The error of a kernel larger than the padded input."""
    padded = [s + 2 * p for s, p in zip(input_hw, padding)]
    dilated = [d * (k - 1) + 1 for k, d in zip(kernel_hw, dilation)]
    return (
        f'{op}: the kernel {kernel_hw[0]}x{kernel_hw[1]} (dilation '
        f'{tuple(dilation)}: {dilated[0]}x{dilated[1]}) is larger than the '
        f'padded input {padded[0]}x{padded[1]} (input '
        f'{input_hw[0]}x{input_hw[1]}, padding {tuple(padding)}); as in '
        "F.conv2d, the kernel can't be greater than the padded input"
    )


def conv_output_hw(
    input_hw: Sequence[int],
    kernel_hw: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    op: str = 'geo_conv2d',
) -> IntPair:
    """(H_out, W_out) of a convolution, or a ValueError naming the argument.

    Args:
        input_hw (Sequence[int]): (H, W) of the input.
        kernel_hw (Sequence[int]): (Kh, Kw), each at least 1.
        stride, padding, dilation (Sequence[int]): (h, w) pairs.
        op (str): Name that starts every message.

    Returns:
        tuple[int, int]: The output size, at least 1 x 1.
    """
    check_conv_params(stride, padding, dilation, op)
    if min(kernel_hw) < 1:
        raise ValueError(
            f'{op}: the kernel size must be positive, got {tuple(kernel_hw)}'
        )
    if not all(
        kernel_fits(s, k, p, d)
        for s, k, p, d in zip(input_hw, kernel_hw, padding, dilation)
    ):
        raise ValueError(
            kernel_too_large_message(
                input_hw, kernel_hw, padding, dilation, op
            )
        )
    h, w = (
        output_size(*args)
        for args in zip(input_hw, kernel_hw, stride, padding, dilation)
    )
    return h, w
