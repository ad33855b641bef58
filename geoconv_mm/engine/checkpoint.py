"""Let ``torch.load(weights_only=True)`` (the default since torch 2.6) read
MMEngine's training checkpoints, so that ``--resume`` and ``load_from`` work.

MMEngine 0.10 saves, beside tensors, the message hub's ``HistoryBuffer``
objects (numpy arrays inside) and numpy scalars in ``meta``; it loads with
``torch.load``'s default, which now refuses those globals. Two fixes were
possible:

- load with ``weights_only=False``: runs arbitrary pickled code from the file;
- allowlist exactly what MMEngine writes: chosen here. ``HistoryBuffer``
  pickles its class-level ``statistics_methods`` as
  ``getattr(HistoryBuffer, 'mean')`` etc.; allowing ``builtins.getattr`` itself
  would reopen code execution, so that name is mapped to
  :func:`_history_buffer_getattr`, which resolves only those four methods.

Everything else a checkpoint may hold still has to pass torch's weights-only
unpickler.
"""

from __future__ import annotations

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

_HISTORY_BUFFER_METHODS = frozenset(('min', 'max', 'current', 'mean'))


def _history_buffer_getattr(obj, name):
    """``getattr`` restricted to the statistics methods ``HistoryBuffer``
    pickles.
    """
    if (
        isinstance(obj, type)
        and issubclass(obj, HistoryBuffer)
        and name in _HISTORY_BUFFER_METHODS
    ):
        return getattr(obj, name)
    raise RuntimeError(
        f'checkpoint asks for getattr({obj!r}, {name!r}); only '
        f'HistoryBuffer.{sorted(_HISTORY_BUFFER_METHODS)} are allowed'
    )


def _numpy_globals() -> list:
    multiarray = (
        getattr(np, '_core', None) or np.core
    )  # numpy 2 renamed np.core
    found = [
        multiarray.multiarray._reconstruct,
        multiarray.multiarray.scalar,
        np.ndarray,
        np.dtype,
    ]
    found += [
        getattr(np.dtypes, n) for n in dir(np.dtypes) if n.endswith('DType')
    ]
    return found


def register_mmengine_safe_globals() -> None:
    """Allowlist the globals of MMEngine checkpoints for weights-only loading.

    Idempotent; called when :mod:`geoconv_mm.engine` is imported.
    """
    torch.serialization.add_safe_globals(
        [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')]
        + _numpy_globals()
    )
