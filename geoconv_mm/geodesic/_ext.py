"""Loading of the compiled geometry kernels, with an actionable error when
missing.
"""

from __future__ import annotations

import functools
import logging
from types import ModuleType
from typing import Optional

logger = logging.getLogger(__name__)


class GeometryExtensionMissing(RuntimeError):
    """Raised when the fast backend is used but geoconv_mm.geodesic._C is not
    built.
    """


@functools.lru_cache(maxsize=None)
def _import() -> Optional[ModuleType]:
    try:
        import torch  # noqa: F401  (the extension links against libtorch)

        from . import _C
    except ImportError:
        return None
    return _C


def geometry_ext_available() -> bool:
    return _import() is not None


def load_geometry_ext() -> ModuleType:
    """The compiled module; raises :class:`GeometryExtensionMissing` if
    absent.
    """
    ext = _import()
    if ext is None:
        raise GeometryExtensionMissing(
            "the fast geodesic backend needs the compiled module "
            "geoconv_mm.geodesic._C (ops/csrc/geometry). Build it from the "
            "repository root with\n"
            "    pip install -e . --no-build-isolation\n"
            "or use backend='numpy' (same algorithm, ~20x slower) or "
            "backend='heat'."
        )
    return ext


@functools.lru_cache(maxsize=None)
def auto_backend() -> str:
    """The geodesic backend of ``backend='auto'``: ``'fast'`` when the
    compiled kernels are built, else ``'numpy'`` (the same algorithm, about
    20x slower), which is said once per process."""
    if geometry_ext_available():
        return 'fast'
    logger.warning(
        'geoconv_mm.geodesic._C is not built: geodesic weights use the '
        'numpy backend (same algorithm, about 20x slower). Build the '
        'compiled kernels with `pip install -e . --no-build-isolation`.'
    )
    return 'numpy'
