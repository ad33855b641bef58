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

import logging
import os.path as osp
from typing import List, Optional, Sequence, Tuple

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


class CheckpointMismatchError(ValueError):
    """A checkpoint's weights do not fit the model it is loaded into.

    Args:
        path (str): The checkpoint file.
        missing (list[str]): Model keys the checkpoint lacks.
        unexpected (list[str]): Checkpoint keys the model lacks.
        mismatched (list[str]): Keys of both with different shapes, each as
            ``'key: checkpoint (shape) vs model (shape)'``.
    """

    def __init__(
        self,
        path: str,
        missing: List[str],
        unexpected: List[str],
        mismatched: List[str],
    ) -> None:
        self.path = path
        self.missing = list(missing)
        self.unexpected = list(unexpected)
        self.mismatched = list(mismatched)
        parts = [
            f'{len(keys)} {what}: {_listing(keys)}'
            for what, keys in (
                ('missing from the checkpoint', self.missing),
                ('not in the model', self.unexpected),
                ('of another shape', self.mismatched),
            )
            if keys
        ]
        super().__init__(
            f'{path}: the checkpoint does not match the model; '
            + '; '.join(parts)
            + '. Is it this config\'s checkpoint? Pass --non-strict '
            '(strict=False) to load the matching part anyway.'
        )


def _listing(keys: Sequence[str], shown: int = 8) -> str:
    more = len(keys) - shown
    return ', '.join(keys[:shown]) + (f' and {more} more' if more > 0 else '')


def state_dict_mismatch(
    model: torch.nn.Module, state: dict
) -> Tuple[List[str], List[str], List[str]]:
    """How a checkpoint's weights differ from a model's.

    Args:
        model (nn.Module): The model (a DDP-style wrapper is looked through).
        state (dict): The checkpoint's state dict; a ``module.`` prefix is
            removed, as MMEngine's loader does.

    Returns:
        tuple[list[str], list[str], list[str]]: Sorted model keys the
        checkpoint lacks, checkpoint keys the model lacks, and keys of both
        with different shapes (as ``'key: checkpoint (shape) vs model
        (shape)'``).
    """
    from mmengine.model import is_model_wrapper

    if is_model_wrapper(model):
        model = model.module
    state = _strip_module(state)
    own = model.state_dict()
    missing = sorted(k for k in own if k not in state)
    unexpected = sorted(k for k in state if k not in own)
    mismatched = sorted(
        f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}'
        for k, v in state.items()
        if k in own and hasattr(v, 'shape') and v.shape != own[k].shape
    )
    return missing, unexpected, mismatched


def _strip_module(state: dict) -> dict:
    return {
        k[len('module.') :] if k.startswith('module.') else k: v
        for k, v in state.items()
    }


def log_mismatch(
    logger: logging.Logger,
    path: str,
    missing: List[str],
    unexpected: List[str],
    mismatched: List[str],
) -> None:
    """Warn what a non-strict load of ``path`` leaves out."""
    logger.warning(
        'non-strict load of %s: %d keys missing (%s), %d unexpected '
        '(%s), %d of another shape (%s)',
        path,
        len(missing),
        _listing(missing),
        len(unexpected),
        _listing(unexpected),
        len(mismatched),
        _listing(mismatched),
    )


def load_model_weights(
    model: torch.nn.Module,
    path: str,
    strict: bool = True,
    map_location: str = 'cpu',
    logger: Optional[logging.Logger] = None,
) -> dict:
    """Load a checkpoint's weights into ``model``, strictly by default.

    MMEngine's ``load_checkpoint`` loads non-strictly and only warns, so a
    checkpoint of another model would leave layers at their random
    initialisation and still produce predictions. Here a missing key, an
    unexpected key or a shape mismatch is an error that lists them.

    Args:
        model (nn.Module): The model (a DDP-style wrapper is looked through).
        path (str): A checkpoint file (a bare state dict, or a dict with
            ``state_dict``; a ``module.`` prefix is removed).
        strict (bool): Raise on any mismatch; ``False`` loads the matching
            part and logs what was left out.
        map_location (str): As :func:`torch.load`.
        logger (logging.Logger, optional): Where a non-strict load reports.

    Returns:
        dict: The checkpoint (``meta`` and the rest).

    Raises:
        FileNotFoundError: ``path`` is not a file.
        CheckpointMismatchError: ``strict`` and the weights do not fit.
    """
    from mmengine.model import is_model_wrapper
    from mmengine.runner.checkpoint import _load_checkpoint

    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    if is_model_wrapper(model):
        model = model.module
    checkpoint = _load_checkpoint(path, map_location=map_location)
    state = _strip_module(checkpoint.get('state_dict', checkpoint))
    missing, unexpected, mismatched = state_dict_mismatch(model, state)
    if strict and (missing or unexpected or mismatched):
        raise CheckpointMismatchError(path, missing, unexpected, mismatched)
    own = model.state_dict()
    fitting = {
        k: v
        for k, v in state.items()
        if k in own and not (hasattr(v, 'shape') and v.shape != own[k].shape)
    }
    model.load_state_dict(fitting, strict=False)
    if missing or unexpected or mismatched:
        log_mismatch(
            logger or logging.getLogger(__name__),
            path,
            missing,
            unexpected,
            mismatched,
        )
    return checkpoint if isinstance(checkpoint, dict) else {}


def save_model_weights(
    model: torch.nn.Module, path: str, au_ids: Sequence[int]
) -> str:
    """Write ``model``'s weights as a checkpoint that the inference tools
    read: the state dict, and the AU numbers of its outputs in
    ``meta['dataset_meta']['au_ids']``, where MMEngine's checkpoints of a
    training run keep them.

    Args:
        model (nn.Module): The model.
        path (str): The checkpoint file to write.
        au_ids (Sequence[int]): The AU number of each output, in order.

    Returns:
        str: ``path``.
    """
    meta = dict(dataset_meta=dict(au_ids=[int(a) for a in au_ids]))
    torch.save(dict(state_dict=model.state_dict(), meta=meta), path)
    return path
