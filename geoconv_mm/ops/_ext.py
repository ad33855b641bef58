"""Loading of the compiled operators, with an actionable error when they are
missing.
"""

from __future__ import annotations

import functools
from types import ModuleType
from typing import Optional

BUILD_HINT = (
    'Build them from the repository root with\n'
    '    pip install -e . --no-build-isolation\n'
    'which compiles the C++ operators (and the CUDA kernels when torch sees a '
    'GPU; set FORCE_CUDA=1 to build them on a host without one).'
)


class ExtensionNotBuiltError(RuntimeError):
    """Raised when an operator is used but geoconv_mm.ops._C was never
    compiled.
    """


@functools.lru_cache(maxsize=None)
def _import_ext() -> Optional[ModuleType]:
    try:
        from . import _C  # noqa: F401  (import registers torch.ops.geoconv_mm)
    except ImportError:
        return None
    from ._op_registration import register

    register()
    return _C


def load_ext() -> ModuleType:
    """Returns the compiled extension; raises :class:`ExtensionNotBuiltError`
    if absent.
    """
    ext = _import_ext()
    if ext is None:
        raise ExtensionNotBuiltError(
            'geoconv_mm\'s compiled operators (geoconv_mm.ops._C) are not '
            'built. ' + BUILD_HINT
        )
    return ext
