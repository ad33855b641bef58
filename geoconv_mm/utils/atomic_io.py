"""Atomic file writes (temp name in the same folder, then ``os.replace``)."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from typing import Iterator, Optional

import cv2
import numpy as np


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str, suffix: str) -> Iterator[str]:
    """Yields a temporary path beside ``path``; renames it to ``path`` if the
    block succeeds, removes it otherwise, so a crash never leaves a
    half-written file."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=suffix, dir=folder)
    os.close(fd)
    try:
        yield tmp
        # mkstemp creates 0600 files; give the result the permissions a plain
        # open() would, so that data sets written on a shared cluster stay
        # readable.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_savez(path: str, **arrays: np.ndarray) -> None:
    """``np.savez_compressed`` to ``path`` atomically."""
    with atomic_path(path, '.tmp.npz') as tmp:
        with open(tmp, 'wb') as fh:
            np.savez_compressed(fh, **arrays)


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path, '.tmp') as tmp:
        with open(tmp, 'wb') as fh:
            fh.write(data)


def atomic_write_json(path: str, obj, indent: Optional[int] = None) -> None:
    """Write ``obj`` as JSON atomically."""
    with atomic_path(path, '.tmp.json') as tmp:
        with open(tmp, 'w') as fh:
            json.dump(obj, fh, indent=indent)


def atomic_imwrite(path: str, image: np.ndarray) -> None:
    """Write an image (format from ``path``'s extension) atomically."""
    ext = os.path.splitext(path)[1]
    with atomic_path(path, '.tmp' + ext) as tmp:
        if not cv2.imwrite(tmp, image):
            raise OSError(f'cannot write image {path}')
