"""Which implementation of GeoConv runs on which device.

Two backends compute Eq. 3:

- ``native``: the compiled kernels of ``geoconv_mm.ops._C`` (CPU always;
  CUDA when the extension was built with CUDA);
- ``torch``: :mod:`~geoconv_mm.ops.portable`, standard PyTorch operations,
  on any device.

``GEOCONV_BACKEND`` (read at import; :func:`use_backend` overrides it for a
block) chooses: ``auto`` (the default) takes the native kernel where one is
compiled for the tensor's device and the portable one elsewhere, logging one
line per device that falls back; ``native`` and ``torch`` force one.

Before the first native call on a device type and dtype, a self-check runs
the native kernel and the portable one on one small case (forward and all
three gradients). Under ``auto`` a native kernel that disagrees is not used:
a warning names the difference and the portable backend takes over; forced
``native`` warns and keeps it. Its cost is measured by
``tools/benchmarks/benchmark_geoconv.py`` (``self_check_ms``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from typing import Dict, Iterator, Optional, Tuple

import torch

from ._ext import _import_ext

BACKENDS = ('auto', 'native', 'torch')
ENV_VAR = 'GEOCONV_BACKEND'
logger = logging.getLogger(__name__)


def _requested_from_env() -> str:
    value = os.environ.get(ENV_VAR, 'auto').strip().lower() or 'auto'
    if value not in BACKENDS:
        raise ValueError(
            f'{ENV_VAR}={value!r} is not a GeoConv backend; choose one of '
            f'{", ".join(BACKENDS)}'
        )
    return value


_requested = _requested_from_env()


def _native_device_types_of_build() -> Tuple[str, ...]:
    # Loading the extension registers torch.ops.geoconv_mm and its fake
    # kernels, for direct calls and for tracing.
    ext = _import_ext()
    if ext is None:
        return ()
    return ('cpu', 'cuda') if ext.compiled_with_cuda() else ('cpu',)


# Resolved once at import, so that compiled graphs see a constant.
_NATIVE_DEVICE_TYPES = _native_device_types_of_build()
# (device type, dtype, requested) -> 'native' | 'torch'
_decided: Dict[Tuple[str, torch.dtype, str], str] = {}
_fallback_logged: set = set()


def requested_backend() -> str:
    """The backend asked for: ``auto``, ``native`` or ``torch``."""
    return _requested


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Runs the block with backend ``name`` (``auto``, ``native`` or
    ``torch``), then restores the previous choice."""
    global _requested
    if name not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got {name!r}')
    previous, _requested = _requested, name
    try:
        yield
    finally:
        _requested = previous


def native_device_types() -> Tuple[str, ...]:
    """Device types with a compiled GeoConv kernel in this build."""
    return _NATIVE_DEVICE_TYPES


def _why_not_native(device_type: str) -> str:
    if not _NATIVE_DEVICE_TYPES:
        return 'the extension geoconv_mm.ops._C is not built'
    if device_type == 'cuda':
        return 'the extension was built without its CUDA kernels'
    return f'the extension has no kernels for {device_type!r}'


def _native_supports(device_type: str, dtype: torch.dtype) -> bool:
    """Whether the native kernels take ``dtype``; the CPU ones take float32
    and float64 only (the op raises a clear error for others)."""
    if device_type == 'cpu':
        return dtype in (torch.float32, torch.float64)
    return True


def plan(device_type: str, requested: Optional[str] = None) -> str:
    """The backend a device type gets before any self-check."""
    requested = requested or _requested
    if requested != 'auto':
        return requested
    if device_type in _NATIVE_DEVICE_TYPES:
        return 'native'
    if device_type == 'meta':  # the fake kernels of the native operator
        return 'native' if _NATIVE_DEVICE_TYPES else 'torch'
    return 'torch'


@torch.compiler.assume_constant_result
def backend_for(device_type: str, dtype: torch.dtype, requested: str) -> str:
    """``'native'`` or ``'torch'`` for tensors of ``device_type`` and
    ``dtype`` under the ``requested`` backend (:func:`requested_backend`,
    passed in so that a compiled graph guards on it); constant within a
    compiled graph."""
    key = (device_type, dtype, requested)
    decided = _decided.get(key)
    if decided is not None:
        return decided
    backend = plan(device_type, requested)
    if backend == 'torch' and requested == 'auto':
        if device_type not in _fallback_logged:
            _fallback_logged.add(device_type)
            logger.warning(
                'GeoConv on %s: %s; using the portable PyTorch backend '
                '(slower; GEOCONV_BACKEND=torch silences this line)',
                device_type,
                _why_not_native(device_type),
            )
    if (
        backend == 'native'
        and device_type in _NATIVE_DEVICE_TYPES
        and _native_supports(device_type, dtype)
    ):
        if not _can_self_check(device_type):
            return backend  # decided on the next call that can check
        problem = self_check(device_type, dtype)
        if problem is not None:
            action = (
                'the portable backend is used instead'
                if requested == 'auto'
                else 'kept because GEOCONV_BACKEND=native'
            )
            warnings.warn(
                f'GeoConv self-check on {device_type} {dtype}: the native '
                f'kernel disagrees with the portable one ({problem}); '
                f'{action}. Please report this with '
                'geoconv_mm.build_info().',
                RuntimeWarning,
                stacklevel=2,
            )
            if requested == 'auto':
                backend = 'torch'
    _decided[key] = backend
    return backend


def _can_self_check(device_type: str) -> bool:
    """A self-check needs real tensors: not under a fake-tensor trace, nor
    inside a CUDA graph capture."""
    if torch._guards.detect_fake_mode() is not None:
        return False
    if device_type == 'cuda' and torch.cuda.is_current_stream_capturing():
        return False
    return True


# Tolerance of the self-check, relative to the largest reference value.
_SELF_CHECK_RTOL = {
    torch.float64: 1e-10,
    torch.float32: 1e-4,
    torch.float16: 2e-2,
    torch.bfloat16: 5e-2,
}


def self_check(device_type: str, dtype: torch.dtype) -> Optional[str]:
    """Compares the native kernel with the portable one on one small case
    (two samples, two groups, stride 2 in one axis, padding, dilation).

    Returns:
        str | None: What disagreed, or None when all four results agree.
    """
    from .conv_geometry import conv_output_hw
    from .portable import geo_conv2d_portable

    stride, padding, dilation, groups = (1, 2), (1, 1), (1, 2), 2
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(2, 4, 7, 9, generator=gen, dtype=torch.float64)
    w = torch.rand(6, 2, 3, 3, generator=gen, dtype=torch.float64) - 0.5
    out_hw = conv_output_hw((7, 9), (3, 3), stride, padding, dilation)
    g = 2 * torch.rand(2, 9, *out_hw, generator=gen, dtype=torch.float64)
    b = torch.rand(6, generator=gen, dtype=torch.float64)
    # A device type without an index means its current device.
    device = torch.device(device_type)
    results = {}
    with contextlib.ExitStack() as stack:
        stack.enter_context(torch.inference_mode(False))
        stack.enter_context(torch.enable_grad())
        stack.enter_context(torch.autocast(device_type, enabled=False))
        for name, fn in (
            ('native', torch.ops.geoconv_mm.geo_conv2d_forward),
            ('torch', geo_conv2d_portable),
        ):
            ts = [t.to(device, dtype).requires_grad_() for t in (x, w, g, b)]
            out = fn(*ts, list(stride), list(padding), list(dilation), groups)
            grad = torch.linspace(
                -1, 1, out.numel(), dtype=dtype, device=device
            ).view(out.shape)
            grads = torch.autograd.grad(out, ts[:3], grad)
            results[name] = [out.detach(), *grads]
    for what, a, e in zip(
        ('output', 'grad_input', 'grad_weight', 'grad_geo_weight'),
        results['native'],
        results['torch'],
    ):
        scale = e.abs().max().double().item()
        error = (a.double() - e.double()).abs().max().item()
        if not error <= _SELF_CHECK_RTOL[dtype] * max(scale, 1e-30):
            return (
                f'{what}: max abs difference {error:.3g} at scale {scale:.3g}'
            )
    return None


def device_backends() -> Dict[str, str]:
    """The backend each device type of this machine gets (float32, before
    the self-check): ``cpu``, ``cuda`` and any other accelerator torch
    sees."""
    devices = ['cpu', 'cuda']
    mps = getattr(torch.backends, 'mps', None)
    if mps is not None and mps.is_available():
        devices.append('mps')
    xpu = getattr(torch, 'xpu', None)
    if xpu is not None and xpu.is_available():
        devices.append('xpu')
    return {d: plan(d) for d in devices}


def build_info() -> Dict[str, object]:
    """What was compiled and what each device will use, for bug reports.

    Returns:
        dict: ``compiled`` (bool), ``cuda`` (CUDA version the kernels were
        built with, or None for a CPU-only build), ``torch`` (torch version
        built against, None without the extension), ``backend`` (the
        requested backend) and ``devices`` (device type -> ``'native'`` or
        ``'torch'``, see :func:`device_backends`).
    """
    ext = _import_ext()
    info: Dict[str, object] = dict(compiled=False, cuda=None, torch=None)
    if ext is not None:
        info.update(
            compiled=True,
            cuda=ext.cuda_version() if ext.compiled_with_cuda() else None,
            torch=ext.torch_version(),
        )
    info.update(backend=_requested, devices=device_backends())
    return info
