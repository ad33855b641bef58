"""GeoConv (Eq. 3): a convolution whose taps are weighted by geodesic weights.

::

    out[n, o, y, x] = b[o] + sum_{c, k} g[n, k, y, x] * W[o, c, k]
                             * in[n, c, tap_k(y, x)]

``g`` has one weight per sample, output location and tap, shared by all
channels, in the layout of torchvision's DCNv2 mask. With ``g == 1`` this is
``F.conv2d`` exactly.
"""

from __future__ import annotations

from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import MODELS
from torch.nn.modules.utils import _pair

from . import backends
from ._ext import load_ext
from .conv_geometry import check_conv_params, conv_output_hw
from .geo_temperature import apply_temperature
from .portable import geo_conv2d_columns, geo_conv2d_portable

IntOrPair = Union[int, Tuple[int, int]]


def geo_weight_shape(
    input: torch.Tensor,
    weight: torch.Tensor,
    stride: IntOrPair,
    padding: IntOrPair,
    dilation: IntOrPair,
) -> Tuple[int, int, int, int]:
    """The (N, Kh*Kw, H_out, W_out) shape a geo_weight must have for this
    convolution.

    Raises:
        ValueError: ``F.conv2d`` would reject the arguments (a stride or
            dilation below 1, negative padding, a kernel larger than the
            padded input); the message names the argument.
    """
    kernel = tuple(weight.shape[-2:])
    out_h, out_w = conv_output_hw(
        tuple(input.shape[-2:]),
        kernel,
        _pair(stride),
        _pair(padding),
        _pair(dilation),
    )
    return input.shape[0], kernel[0] * kernel[1], out_h, out_w


def _check_args(
    input, weight, geo_weight, bias, stride, padding, dilation, groups
):
    if input.dim() != 4:
        raise ValueError(
            'geo_conv2d: input must be (N, C, H, W), got shape '
            f'{tuple(input.shape)}'
        )
    if weight.dim() != 4:
        raise ValueError(
            'geo_conv2d: weight must be (O, C/groups, Kh, Kw), got shape '
            f'{tuple(weight.shape)}'
        )
    check_conv_params(stride, padding, dilation)
    if groups < 1:
        raise ValueError(f'geo_conv2d: groups must be positive, got {groups}')
    if weight.shape[1] * groups != input.shape[1]:
        raise ValueError(
            f'geo_conv2d: weight {tuple(weight.shape)} with groups={groups} '
            f'expects {weight.shape[1] * groups} input channels, input has '
            f'{input.shape[1]}'
        )
    if weight.shape[0] % groups:
        raise ValueError(
            f'geo_conv2d: {weight.shape[0]} output channels are not '
            f'divisible by groups={groups}'
        )
    expected = geo_weight_shape(input, weight, stride, padding, dilation)
    if tuple(geo_weight.shape) != tuple(expected):
        raise ValueError(
            'geo_conv2d: geo_weight must have shape (N, Kh*Kw, H_out, W_out) '
            f'= {tuple(expected)}, got {tuple(geo_weight.shape)}'
        )
    for name, t in (
        ('weight', weight),
        ('geo_weight', geo_weight),
        ('bias', bias),
    ):
        if t is None:
            continue
        if t.dtype != input.dtype:
            raise TypeError(
                f'geo_conv2d: {name} has dtype {t.dtype} but input has '
                f'{input.dtype}; cast it with .to(input.dtype)'
            )
        if t.device != input.device:
            raise ValueError(
                f'geo_conv2d: {name} is on {t.device} but input is on '
                f'{input.device}'
            )
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(
            f'geo_conv2d: bias must have shape ({weight.shape[0]},), got '
            f'{tuple(bias.shape)}'
        )


def _native(
    input, weight, geo_weight, bias, stride, padding, dilation, groups
):
    device = input.device.type
    if device not in backends.native_device_types() and device != 'meta':
        load_ext()  # raises ExtensionNotBuiltError with the build command
        raise RuntimeError(
            f'geo_conv2d: GEOCONV_BACKEND=native, but '
            f'{backends._why_not_native(device)}; use GEOCONV_BACKEND=auto '
            'or torch for the portable backend'
        )
    if device == 'cpu' and input.dtype not in (torch.float32, torch.float64):
        raise TypeError(
            f'geo_conv2d: the CPU kernels support float32 and float64, got '
            f'{input.dtype} (the portable backend, GEOCONV_BACKEND=torch, '
            'takes any floating dtype)'
        )
    return torch.ops.geoconv_mm.geo_conv2d_forward(
        input,
        weight,
        geo_weight,
        bias,
        list(stride),
        list(padding),
        list(dilation),
        groups,
    )


def geo_conv2d(
    input: torch.Tensor,
    weight: torch.Tensor,
    geo_weight: Optional[torch.Tensor],
    bias: Optional[torch.Tensor] = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
) -> torch.Tensor:
    """Geodesic guided convolution (Eq. 3 of the paper).

    Args:
        input (Tensor): (N, C, H, W).
        weight (Tensor): (O, C / groups, Kh, Kw).
        geo_weight (Tensor | None): (N, Kh*Kw, H_out, W_out) geodesic weights,
            taps in row-major order. ``None`` gives plain ``F.conv2d``.
        bias (Tensor | None): (O,).
        stride, padding, dilation (int | tuple): As in ``F.conv2d``
            (numeric padding), with its rules: positive strides and
            dilations, no negative padding, a dilated kernel no larger than
            the padded input (a ValueError names the argument).
        groups (int): As in ``F.conv2d``.

    Returns:
        Tensor: (N, O, H_out, W_out). Differentiable in input, weight,
        geo_weight and bias (once: double backward raises). The output is
        channels_last when the input is channels_last (and not also
        contiguous), else contiguous; the kernels compute in NCHW and convert,
        so channels_last costs one extra copy of the input and of the output.

    The implementation is chosen per device by
    :mod:`~geoconv_mm.ops.backends` (``GEOCONV_BACKEND``): the compiled
    kernels where they exist, the portable PyTorch one elsewhere. In ONNX
    export the op is written in standard ONNX operators.

    Autocast follows ``F.conv2d``: float32 arguments run in the autocast dtype
    (float64 ones stay float64), except on CPU, where the native kernels
    support float32 and float64 only and autocast runs float32 arguments in
    float32 (on either backend, so that both give one result).
    """
    if geo_weight is None:
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    if torch.onnx.is_in_onnx_export():
        _check_args(
            input, weight, geo_weight, bias, stride, padding, dilation, groups
        )
        return geo_conv2d_columns(
            input,
            weight,
            geo_weight,
            bias,
            stride,
            padding,
            dilation,
            groups,
            budget_bytes=None,
        )
    device = input.device.type
    if device != 'meta' and torch.is_autocast_enabled(device):
        # As F.conv2d under autocast: float32 tensors run in the autocast
        # dtype, float64 ones stay float64. The native CPU kernels have no
        # reduced-precision path, so CPU autocast runs them in float32.
        dtype = (
            torch.float32
            if device == 'cpu'
            else torch.get_autocast_dtype(device)
        )
        input, weight, geo_weight, bias = (
            _autocast_cast(t, dtype) for t in (input, weight, geo_weight, bias)
        )
        with torch.autocast(device, enabled=False):
            return geo_conv2d(
                input,
                weight,
                geo_weight,
                bias,
                stride,
                padding,
                dilation,
                groups,
            )
    _check_args(
        input, weight, geo_weight, bias, stride, padding, dilation, groups
    )
    backend = backends.backend_for(
        device, input.dtype, backends.requested_backend()
    )
    if backend == 'native':
        return _native(
            input, weight, geo_weight, bias, stride, padding, dilation, groups
        )
    return geo_conv2d_portable(
        input, weight, geo_weight, bias, stride, padding, dilation, groups
    )


def _autocast_cast(
    t: Optional[torch.Tensor], dtype: torch.dtype
) -> Optional[torch.Tensor]:
    """Casts ``t`` as autocast casts an eligible argument: floating and not
    float64.
    """
    if t is None or not t.is_floating_point() or t.dtype == torch.float64:
        return t
    return t.to(dtype)


@MODELS.register_module('GeoConv')
class GeoConv2d(nn.Conv2d):
    """Drop-in ``nn.Conv2d`` whose taps are weighted by geodesic weights.

    The layer is called as ``layer(x)``. Its geodesic weights come from the
    :class:`~geoconv_mm.ops.GeodesicContext` bound to the model for the current
    batch; the layer derives from its input size which weights it needs (its
    :class:`~geoconv_mm.ops.GeoSpec`), so one context serves any backbone
    depth.

    Args:
        in_channels (int): As in ``nn.Conv2d``, as are ``out_channels``,
            ``kernel_size``, ``stride``, ``dilation``, ``groups``, ``bias``,
            ``device`` and ``dtype``.
        padding (int | tuple | str): An int, a pair or
            ``'valid'``/``'same'`` (``'same'`` only where it is symmetric).
        padding_mode (str): Only ``'zeros'``: Eq. 3 treats padding as off the
            surface.
        fallback (str): What to do when no geodesic weights are bound:
            ``'error'`` (default) raises; ``'conv'`` runs as a plain
            convolution.
        temperature (bool): Learn a per-layer temperature of Eq. 4's softmax
            (:func:`~geoconv_mm.ops.geo_temperature.apply_temperature`; not in
            the paper). Parametrised as ``log_tau`` (initially 0: tau = 1, the
            paper); exclude it from weight decay (``paramwise_cfg``
            ``custom_keys``).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrPair,
        stride: IntOrPair = 1,
        padding: Union[IntOrPair, str] = 0,
        dilation: IntOrPair = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = 'zeros',
        device=None,
        dtype=None,
        fallback: str = 'error',
        temperature: bool = False,
    ) -> None:
        if padding_mode != 'zeros':
            raise ValueError(
                "GeoConv supports padding_mode='zeros' only, got "
                f"{padding_mode!r}"
            )
        if fallback not in ('error', 'conv'):
            raise ValueError(
                f"fallback must be 'error' or 'conv', got {fallback!r}"
            )
        if isinstance(padding, str):
            padding = self._numeric_padding(
                padding, _pair(kernel_size), _pair(stride), _pair(dilation)
            )
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )
        self.fallback = fallback
        self.log_tau = (
            nn.Parameter(torch.zeros((), device=device, dtype=dtype))
            if temperature
            else None
        )
        # Set only while a GeodesicContext is bound (see GeodesicContext.bind).
        self._geodesic_context = None
        self._geodesic_name = ''

    @staticmethod
    def _numeric_padding(mode, kernel, stride, dilation) -> Tuple[int, int]:
        if mode == 'valid':
            return 0, 0
        if mode == 'same' and stride == (1, 1):
            total = [d * (k - 1) for k, d in zip(kernel, dilation)]
            if all(t % 2 == 0 for t in total):
                return total[0] // 2, total[1] // 2
        raise ValueError(
            f'GeoConv cannot express padding={mode!r} with kernel {kernel}, '
            f'stride {stride}, dilation {dilation}; give numeric padding'
        )

    def extra_repr(self) -> str:
        return (
            super().extra_repr()
            + f', fallback={self.fallback}'
            + (', temperature=True' if self.log_tau is not None else '')
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        context = self._geodesic_context
        if context is None:
            if self.fallback == 'conv':
                return super().forward(x)
            raise RuntimeError(
                'GeoConv layer received no geodesic weights: bind a batch\'s '
                'weights with `with GeodesicContext(geo_weights, '
                'image_size).bind(model): ...` (the GeoConv classifiers do '
                'this for you), or build the layer with fallback=\'conv\' to '
                'run it as a plain convolution.'
            )
        geo_weight = context.geo_weight_for(self, x)
        if self.log_tau is not None:
            geo_weight = apply_temperature(geo_weight, self.log_tau.exp())
        return geo_conv2d(
            x,
            self.weight,
            geo_weight,
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
        )
