"""The state of every random number generator a training process draws
from, as plain values that a checkpoint carries and torch's weights-only
loader reads back."""

from __future__ import annotations

import random
from typing import Optional

import numpy as np
import torch


def get_rng_state() -> dict:
    """This process's generator states: Python's ``random``, numpy's legacy
    global generator, torch's CPU generator and, once CUDA is in use, every
    device's.

    Returns:
        dict: ``python``, ``numpy``, ``torch`` and, with CUDA, ``cuda``; only
        tuples, lists, numbers and tensors, so that weights-only loading
        reads it.
    """
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = dict(
        python=random.getstate(),
        numpy=dict(
            kind=kind,
            keys=torch.from_numpy(keys.astype(np.int64)),
            pos=int(pos),
            has_gauss=int(has_gauss),
            gauss=float(gauss),
        ),
        torch=torch.get_rng_state(),
    )
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict, logger: Optional[object] = None) -> None:
    """Restore what :func:`get_rng_state` returned.

    Args:
        state (dict): The states.
        logger (logging.Logger, optional): Told when the CUDA states cannot
            be restored (another number of devices, or none).

    Raises:
        KeyError: A state lacks ``python``, ``numpy`` or ``torch``.
    """
    python = state['python']
    random.setstate((python[0], tuple(python[1]), python[2]))
    n = state['numpy']
    np.random.set_state(
        (
            n['kind'],
            n['keys'].numpy().astype(np.uint32),
            n['pos'],
            n['has_gauss'],
            n['gauss'],
        )
    )
    torch.set_rng_state(state['torch'])
    cuda = state.get('cuda')
    if cuda is None:
        return
    if torch.cuda.is_available() and torch.cuda.device_count() == len(cuda):
        torch.cuda.set_rng_state_all(cuda)
    elif logger is not None:
        logger.warning(
            f'the checkpoint holds the CUDA generator states of {len(cuda)} '
            f'device(s), this process sees {torch.cuda.device_count()}: '
            'they are not restored, so CUDA random draws (dropout on the '
            'GPU) differ from the interrupted run'
        )
