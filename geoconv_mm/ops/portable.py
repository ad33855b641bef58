"""GeoConv (Eq. 3) in standard PyTorch operations: the portable backend.

Runs wherever PyTorch runs (CPU, CUDA, Apple's MPS, Intel's XPU...), without
the compiled extension, and is the oracle the native kernels are checked
against. Each tap's input is a strided view of the zero-padded input; the
views, scaled by the tap's geodesic weight, form the columns
``(N, C * K, H_out, W_out)`` (channel-major, tap fastest: the memory order of
an ``(O, C / G, Kh, Kw)`` weight), and a grouped 1 x 1 convolution with the
reshaped weight contracts them (tap k = (i, j))::

    cols[n, c*K + k, y, x] = g[n, k, y, x] * in_pad[n, c, y*s + i*d, x*s + j*d]
    out = conv2d_1x1(cols, W.view(O, C/G * K, 1, 1), groups=G) + b

The backward is explicit: the column gradient is the transposed 1 x 1
convolution, scattered back onto the padded input through the same views
(scaled by ``g``) and reduced against the unscaled views for the geodesic
weight; the weight gradient is the 1 x 1 convolution's weight gradient.
Columns are never kept for the backward, which recomputes them.

Memory is bounded: the columns are built for tiles of samples (and of output
rows, where one sample's columns exceed the budget), so that no temporary
grows past ``budget_bytes`` whatever the batch. Exported to ONNX (no budget:
one tile), the same code becomes Pad, Slice, Mul, Concat and Conv.
"""

from __future__ import annotations

from typing import Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from ._op_registration import DOUBLE_BACKWARD_ERROR, wants_channels_last
from .conv_geometry import output_size

# Bytes of the temporaries of one tile (columns, their gradient and the
# transient tap products). Matches the native CUDA kernels' column budget.
DEFAULT_BUDGET_BYTES = 512 << 20
# Column-sized temporaries alive at once in a tile: the tap products and
# their concatenation in the forward, the columns and their gradient in the
# backward.
_COLUMN_COPIES = 3


class _Geometry:
    """Shapes of one call, in the names of ``ops/csrc/geo_conv.h``."""

    def __init__(self, input, weight, stride, padding, dilation, groups):
        self.batch, self.channels, self.height, self.width = input.shape
        self.out_channels = weight.shape[0]
        self.kernel = tuple(weight.shape[-2:])
        self.stride, self.padding = tuple(stride), tuple(padding)
        self.dilation, self.groups = tuple(dilation), groups
        self.out_h, self.out_w = (
            output_size(*a)
            for a in zip(
                input.shape[-2:],
                self.kernel,
                self.stride,
                self.padding,
                self.dilation,
            )
        )
        self.taps = self.kernel[0] * self.kernel[1]

    def tap_offsets(self) -> List[Tuple[int, int]]:
        """(row, column) of each tap in the padded input, row-major."""
        (kh, kw), (dh, dw) = self.kernel, self.dilation
        return [(i * dh, j * dw) for i in range(kh) for j in range(kw)]

    def tap_view(self, xp, tap, y0, y1):
        """Tap ``tap``'s input for output rows [y0, y1): a strided view of
        the padded input ``xp``."""
        (sh, sw), (r, c) = self.stride, tap
        r0 = y0 * sh + r
        return xp[
            :,
            :,
            r0 : r0 + (y1 - y0 - 1) * sh + 1 : sh,
            c : c + (self.out_w - 1) * sw + 1 : sw,
        ]


def _tiles(
    geo: _Geometry, elem_size: int, budget_bytes: Optional[int]
) -> Iterator[Tuple[int, int, int, int]]:
    """(n0, n1, y0, y1): samples and output rows of each tile, in order."""
    n, h = geo.batch, geo.out_h
    if budget_bytes is None:
        yield 0, n, 0, h
        return
    row_bytes = (
        _COLUMN_COPIES * geo.channels * geo.taps * geo.out_w * elem_size
    )
    rows = max(1, budget_bytes // max(1, row_bytes))
    if rows >= h:
        per = max(1, min(n, rows // h))
        for n0 in range(0, n, per):
            yield n0, min(n, n0 + per), 0, h
        return
    for n0 in range(n):
        for y0 in range(0, h, rows):
            yield n0, n0 + 1, y0, min(h, y0 + rows)


def _pad(x: torch.Tensor, geo: _Geometry) -> torch.Tensor:
    (ph, pw) = geo.padding
    return F.pad(x, (pw, pw, ph, ph)) if ph or pw else x


def _columns(geo, xp, geo_weight, y0, y1, scaled=True):
    """(n, C * K, y1 - y0, W_out) columns of output rows [y0, y1); without
    ``scaled`` the plain taps (for the geodesic weight's gradient)."""
    taps = []
    for k, tap in enumerate(geo.tap_offsets()):
        view = geo.tap_view(xp, tap, y0, y1)
        taps.append(view * geo_weight[:, k : k + 1] if scaled else view)
    cols = torch.stack(taps, 2)  # (n, C, K, rows, W_out)
    return cols.flatten(1, 2)


def _weight_1x1(weight: torch.Tensor) -> torch.Tensor:
    return weight.reshape(weight.shape[0], -1, 1, 1)


def geo_conv2d_columns(
    input: torch.Tensor,
    weight: torch.Tensor,
    geo_weight: torch.Tensor,
    bias: Optional[torch.Tensor],
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    groups: int,
    budget_bytes: Optional[int] = DEFAULT_BUDGET_BYTES,
) -> torch.Tensor:
    """The forward of Eq. 3 in standard operations, tile by tile.

    Arguments as :func:`~geoconv_mm.ops.geo_conv2d` (checked by the caller,
    pairs already expanded). With ``budget_bytes=None`` the whole batch is
    one tile: the graph has no size-dependent loop, as ONNX export needs.
    Differentiable by autograd, at the memory cost of the saved columns;
    :func:`geo_conv2d_portable` is the memory-bounded training path.
    """
    geo = _Geometry(input, weight, stride, padding, dilation, groups)
    w1 = _weight_1x1(weight)
    tiles = list(_tiles(geo, input.element_size(), budget_bytes))
    if len(tiles) == 1:
        cols = _columns(geo, _pad(input, geo), geo_weight, 0, geo.out_h)
        return F.conv2d(cols, w1, bias, groups=groups)
    out = input.new_empty(geo.batch, geo.out_channels, geo.out_h, geo.out_w)
    padded = None
    for n0, n1, y0, y1 in tiles:
        if padded is None or padded[0] != n0:
            padded = (n0, _pad(input[n0:n1], geo))
        cols = _columns(geo, padded[1], geo_weight[n0:n1, :, y0:y1], y0, y1)
        out[n0:n1, :, y0:y1] = F.conv2d(cols, w1, bias, groups=groups)
    return out


def _backward(
    ctx_args, grad_output, input, weight, geo_weight, needs, budget_bytes
):
    """Gradients of input, weight and geodesic weight, tile by tile."""
    stride, padding, dilation, groups = ctx_args
    need_input, need_weight, need_geo = needs
    geo = _Geometry(input, weight, stride, padding, dilation, groups)
    w1 = _weight_1x1(weight)
    (ph, pw) = geo.padding
    # The weight gradient is summed over tiles in the op-math type, so that a
    # float16 or bfloat16 run rounds each tile's partial sum once.
    acc_dtype = (
        torch.float32
        if weight.dtype in (torch.float16, torch.bfloat16)
        else weight.dtype
    )
    grad_input = torch.zeros_like(input) if need_input else None
    grad_w = (
        torch.zeros(w1.shape, dtype=acc_dtype, device=weight.device)
        if need_weight
        else None
    )
    grad_geo = torch.zeros_like(geo_weight) if need_geo else None
    padded = grad_padded = None
    for n0, n1, y0, y1 in _tiles(geo, input.element_size(), budget_bytes):
        if padded is None or padded[0] != n0:
            if grad_padded is not None:
                _unpad_into(grad_input, grad_padded, geo)
            padded = (n0, _pad(input[n0:n1], geo))
            grad_padded = (
                (n0, n1, input.new_zeros(padded[1].shape))
                if need_input
                else None
            )
        xp = padded[1]
        g = geo_weight[n0:n1, :, y0:y1]
        gout = grad_output[n0:n1, :, y0:y1]
        if need_weight:
            cols = _columns(geo, xp, g, y0, y1)
            partial = torch.nn.grad.conv2d_weight(
                cols, w1.shape, gout, groups=groups
            )
            grad_w += partial.to(acc_dtype)
        if not (need_input or need_geo):
            continue
        gcols = F.conv_transpose2d(gout, w1, groups=groups)
        gcols = gcols.unflatten(1, (geo.channels, geo.taps))
        for k, tap in enumerate(geo.tap_offsets()):
            gk = gcols[:, :, k]
            if need_geo:
                view = geo.tap_view(xp, tap, y0, y1)
                grad_geo[n0:n1, k, y0:y1] = (gk * view).sum(1)
            if need_input:
                target = geo.tap_view(grad_padded[2], tap, y0, y1)
                target += gk * g[:, k : k + 1]
    if grad_padded is not None:
        _unpad_into(grad_input, grad_padded, geo)
    if grad_w is not None:
        grad_w = grad_w.to(weight.dtype).view(weight.shape)
    return grad_input, grad_w, grad_geo


def _unpad_into(grad_input, grad_padded, geo: _Geometry) -> None:
    n0, n1, gp = grad_padded
    (ph, pw) = geo.padding
    grad_input[n0:n1] = gp[:, :, ph : ph + geo.height, pw : pw + geo.width]


class _NoDoubleBackward(torch.autograd.Function):
    """Passes gradients through; differentiating them raises, as the
    native operator does."""

    @staticmethod
    def forward(ctx, *grads):
        return grads

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(DOUBLE_BACKWARD_ERROR)


class _GeoConv2dPortable(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx,
        input,
        weight,
        geo_weight,
        bias,
        stride,
        padding,
        dilation,
        groups,
        budget_bytes,
    ):
        ctx.conv_args = (stride, padding, dilation, groups)
        ctx.budget_bytes = budget_bytes
        ctx.has_bias = bias is not None
        ctx.save_for_backward(input, weight, geo_weight)
        return geo_conv2d_columns(
            input,
            weight,
            geo_weight,
            bias,
            stride,
            padding,
            dilation,
            groups,
            budget_bytes,
        )

    @staticmethod
    def backward(ctx, grad_output):
        input, weight, geo_weight = ctx.saved_tensors
        needs = ctx.needs_input_grad[:3]
        grads = [None, None, None]
        if any(needs):
            grads = list(
                _backward(
                    ctx.conv_args,
                    grad_output.contiguous(),
                    input,
                    weight,
                    geo_weight,
                    needs,
                    ctx.budget_bytes,
                )
            )
        grad_bias = (
            grad_output.sum((0, 2, 3))
            if ctx.has_bias and ctx.needs_input_grad[3]
            else None
        )
        if torch.is_grad_enabled():  # create_graph=True
            grads = list(_NoDoubleBackward.apply(*grads))
        return (*grads, grad_bias, None, None, None, None, None)


def geo_conv2d_portable(
    input: torch.Tensor,
    weight: torch.Tensor,
    geo_weight: torch.Tensor,
    bias: Optional[torch.Tensor],
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    groups: int,
    budget_bytes: int = DEFAULT_BUDGET_BYTES,
) -> torch.Tensor:
    """Eq. 3 with a memory-bounded backward; the ``torch`` backend of
    :func:`~geoconv_mm.ops.geo_conv2d` (arguments checked by the caller).

    Follows the native operator's contract: the same output layout rule
    (channels_last in, channels_last out), differentiable once in input,
    weight, geodesic weight and bias, and a clear error on double backward.
    """
    out = _GeoConv2dPortable.apply(
        input,
        weight,
        geo_weight,
        bias,
        tuple(stride),
        tuple(padding),
        tuple(dilation),
        groups,
        budget_bytes,
    )
    if wants_channels_last(input):
        return out.contiguous(memory_format=torch.channels_last)
    return out.contiguous()
