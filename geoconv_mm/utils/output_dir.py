"""Output folders checked before the work that fills them starts."""

from __future__ import annotations

import os
import tempfile


def ensure_writable_dir(path: str) -> str:
    """Create ``path`` (and its parents) if needed, and check that a file can
    be created in it.

    Run it before a long job, so that a read-only or missing output folder
    is the job's first error instead of the failure of every write (or of
    the last one).

    Args:
        path (str): The output folder.

    Returns:
        str: ``path``.

    Raises:
        OSError: The folder cannot be created or written; the message names
            it (``PermissionError`` for a read-only folder).
    """
    try:
        os.makedirs(path, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix='.write-test-', dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OSError(
            exc.errno,
            f'cannot write to the output folder {path}: {exc.strerror or exc}',
        ) from exc
    return path
