"""Fake kernels and autograd of the compiled ``geoconv_mm::geo_conv2d_*``
operators.

Registered on the operators themselves, so that a direct ``torch.ops`` call is
differentiable and ``torch.compile`` / ``torch.export`` can trace them. The
fake kernels follow the layout rules of the C++ kernels
(``ops/csrc/geo_conv.h``).
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch

from .conv_geometry import kernel_fits, kernel_too_large_message, output_size

FORWARD = 'geoconv_mm::geo_conv2d_forward'
BACKWARD = 'geoconv_mm::geo_conv2d_backward'


def wants_channels_last(input: torch.Tensor) -> bool:
    """Whether the op returns a channels_last output for ``input``.

    Mirrors ``wants_channels_last`` in ``ops/csrc/geo_conv.h``: channels_last
    exactly when the input is channels_last and not also contiguous.
    """
    return (
        input.dim() == 4
        and not input.is_contiguous()
        and input.is_contiguous(memory_format=torch.channels_last)
    )


DOUBLE_BACKWARD_ERROR = (
    'geo_conv2d does not support double backward (gradients of its '
    'gradients); its backward is computed by a kernel without a derivative '
    'of its own'
)


def _like_input(input: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    out = input.new_empty(shape)
    if wants_channels_last(input):
        out = out.contiguous(memory_format=torch.channels_last)
    return out


def _forward_fake(
    input, weight, geo_weight, bias, stride, padding, dilation, groups
):
    torch._check(
        input.dim() == 4 and weight.dim() == 4,
        lambda: 'geo_conv2d: input and weight must be 4-D',
    )
    kernel = weight.shape[-2:]
    torch._check(
        min(stride) > 0 and min(dilation) > 0 and min(padding) >= 0,
        lambda: (
            'geo_conv2d: stride and dilation must be positive and '
            f'padding not negative, got {stride}, {dilation}, {padding}'
        ),
    )
    args = list(zip(input.shape[-2:], kernel, stride, padding, dilation))
    torch._check(
        all(kernel_fits(n, k, p, d) for n, k, _, p, d in args),
        lambda: kernel_too_large_message(
            input.shape[-2:], kernel, padding, dilation
        ),
    )
    out_h, out_w = (output_size(*a) for a in args)
    return _like_input(input, (input.shape[0], weight.shape[0], out_h, out_w))


def _backward_fake(
    grad_output,
    input,
    weight,
    geo_weight,
    stride,
    padding,
    dilation,
    groups,
    output_mask,
):
    grad_input = _like_input(input, input.shape) if output_mask[0] else None
    grad_weight = weight.new_empty(weight.shape) if output_mask[1] else None
    grad_geo = (
        geo_weight.new_empty(geo_weight.shape) if output_mask[2] else None
    )
    return grad_input, grad_weight, grad_geo


def _setup_context(ctx, inputs, output) -> None:
    input, weight, geo_weight, bias, stride, padding, dilation, groups = inputs
    ctx.conv_args = (stride, padding, dilation, groups)
    ctx.has_bias = bias is not None
    ctx.save_for_backward(input, weight, geo_weight)


def _backward(
    ctx, grad_output: torch.Tensor
) -> Tuple[Optional[torch.Tensor], ...]:
    input, weight, geo_weight = ctx.saved_tensors
    need_input, need_weight, need_geo, need_bias = ctx.needs_input_grad[:4]
    grad_input = grad_weight = grad_geo = None
    if need_input or need_weight or need_geo:
        grad_input, grad_weight, grad_geo = (
            torch.ops.geoconv_mm.geo_conv2d_backward(
                grad_output,
                input,
                weight,
                geo_weight,
                *ctx.conv_args,
                [need_input, need_weight, need_geo],
            )
        )
    grad_bias = (
        grad_output.sum((0, 2, 3)) if ctx.has_bias and need_bias else None
    )
    return grad_input, grad_weight, grad_geo, grad_bias, None, None, None, None


def _setup_backward_context(ctx, inputs, output) -> None:
    pass


def _double_backward(ctx, *grads):
    raise RuntimeError(DOUBLE_BACKWARD_ERROR)


_registered = False


def register() -> None:
    """Registers the fake kernels and autograd; idempotent, needs the
    extension.
    """
    global _registered
    if _registered:
        return
    torch.library.register_fake(FORWARD)(_forward_fake)
    torch.library.register_fake(BACKWARD)(_backward_fake)
    torch.library.register_autograd(
        FORWARD, _backward, setup_context=_setup_context
    )
    torch.library.register_autograd(
        BACKWARD, _double_backward, setup_context=_setup_backward_context
    )
    _registered = True


__all__: List[str] = [
    'DOUBLE_BACKWARD_ERROR',
    'register',
    'wants_channels_last',
]
