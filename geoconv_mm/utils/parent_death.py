"""Worker processes that end with the process that started them.

A worker process outlives a parent killed by SIGKILL (or the OOM killer): it
is re-parented and keeps running, holding memory and writing outputs, until
it next notices. :func:`die_with_parent` makes the end of the parent the end
of the worker.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

# prctl(2) option: the signal this process gets when its parent ends.
_PR_SET_PDEATHSIG = 1
# Without prctl (not Linux), how often a watcher thread checks the parent.
_POLL_SECONDS = 1.0


def die_with_parent(parent_pid: int) -> None:
    """End this process when the process ``parent_pid`` ends.

    On Linux the kernel sends SIGKILL at the parent's end
    (``prctl(PR_SET_PDEATHSIG)``); elsewhere a daemon thread checks the
    parent every second. Call it first thing in a worker process; a parent
    that already ended ends the worker at once.

    Linux sends the signal when the *thread* that started the worker ends,
    so start workers from a thread that outlives them (the main thread, as
    the pools and data loaders of this package do).

    Args:
        parent_pid (int): The pid of the process that started this one, as
            that process saw its own pid (``os.getpid()`` there); after the
            parent's end ``os.getppid()`` here names another process.

    Raises:
        OSError: prctl refused the request.
    """
    if sys.platform.startswith('linux'):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f'prctl(PR_SET_PDEATHSIG): {os.strerror(err)}')
    else:
        threading.Thread(
            target=_watch_parent,
            args=(parent_pid,),
            name='die_with_parent',
            daemon=True,
        ).start()
    # The parent may have ended before the request: no signal will come.
    if os.getppid() != parent_pid:
        os._exit(1)


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(_POLL_SECONDS)
    os._exit(1)
