"""A quiet console for the command-line tools: the start-up chatter of the
libraries under the face stage and the model is dropped unless asked for.

Three sources print on their own, before and between our lines:

- MediaPipe's native logging (glog/absl lines such as ``W0000 00:00:...
  inference_feedback_manager.cc:114] ...``) and TensorFlow Lite's
  ``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.``, written
  straight to file descriptor 2 by C++ code;
- MMEngine: its logger's deprecation warnings about its own file backends,
  and the checkpoint loader's ``Loads checkpoint by local backend ...``,
  printed to stdout.

:class:`QuietConsole` sends descriptor 2 through a filter thread that drops
exactly those native lines and passes every other line on, raises
MMEngine's logger to errors only, and :meth:`QuietConsole.loading` holds
back what a library prints to stdout while a model loads. Python's own
``sys.stderr`` (our logging, warnings, progress bars) keeps writing to the
terminal directly, so a progress bar is not held back to whole lines.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sys
import threading
from typing import Optional

#: Native log lines of MediaPipe / absl / glog and TensorFlow Lite.
NATIVE_CHATTER = re.compile(
    rb'^(?:[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^ \]]+:\d+\] '
    rb'|WARNING: All log messages before absl::InitializeLog\(\) '
    rb'|INFO: Created TensorFlow Lite )'
)


class QuietConsole:
    """Context manager that filters third-party chatter out of stderr.

    Child processes started inside it inherit the filtered descriptor 2,
    so their native chatter is dropped too.

    Args:
        verbose (bool): Change nothing (every line gets through).
    """

    def __init__(self, verbose: bool = False) -> None:
        self.verbose = verbose
        self._saved_fd: Optional[int] = None
        self._thread: Optional[threading.Thread] = None
        self._stderr = None
        self._mm_level: Optional[int] = None

    def __enter__(self) -> 'QuietConsole':
        if self.verbose:
            return self
        # MediaPipe reads these when its native logging starts.
        os.environ.setdefault('GLOG_minloglevel', '2')
        os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
        self.quiet_loggers()
        sys.stderr.flush()
        self._saved_fd = os.dup(2)
        read_fd, write_fd = os.pipe()
        os.dup2(write_fd, 2)
        os.close(write_fd)
        self._stderr = sys.stderr
        # Python's own writes skip the filter: straight to the terminal.
        sys.stderr = io.TextIOWrapper(
            open(os.dup(self._saved_fd), 'wb', buffering=0),
            encoding=getattr(self._stderr, 'encoding', None) or 'utf-8',
            errors='backslashreplace',
            line_buffering=True,
            write_through=True,
        )
        self._thread = threading.Thread(
            target=_filter_lines,
            args=(read_fd, self._saved_fd),
            name='stderr-filter',
            daemon=True,
        )
        self._thread.start()
        return self

    def loading(self):
        """A context in which what the libraries print to stdout (MMEngine's
        checkpoint notice) is dropped; nothing is dropped when verbose."""
        if self.verbose:
            return contextlib.nullcontext()
        return contextlib.redirect_stdout(io.StringIO())

    def quiet_loggers(self) -> None:
        """MMEngine's logger to errors only (done on entering)."""
        from mmengine.logging import MMLogger

        logger = MMLogger.get_current_instance()
        self._mm_level = logger.level
        logger.setLevel(logging.ERROR)
        for handler in logger.handlers:
            handler.setLevel(logging.ERROR)

    def __exit__(self, *exc) -> None:
        if self._mm_level is not None:
            from mmengine.logging import MMLogger

            MMLogger.get_current_instance().setLevel(self._mm_level)
        if self._saved_fd is None:
            return
        quiet_stderr, sys.stderr = sys.stderr, self._stderr
        quiet_stderr.flush()
        quiet_stderr.close()
        # Closing our end of the pipe lets the filter drain and stop (a
        # child process still holding it keeps it open: do not wait long).
        os.dup2(self._saved_fd, 2)
        self._thread.join(timeout=2.0)
        os.close(self._saved_fd)
        self._saved_fd = None


def _filter_lines(read_fd: int, out_fd: int) -> None:
    """Copy whole lines from ``read_fd`` to ``out_fd``, less the chatter."""
    with open(read_fd, 'rb', buffering=0) as pipe:
        pending = b''
        while True:
            chunk = pipe.read(65536)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b'\n')
            kept = [ln + b'\n' for ln in lines if not NATIVE_CHATTER.match(ln)]
            if kept:
                _write_all(out_fd, b''.join(kept))
        if pending and not NATIVE_CHATTER.match(pending):
            _write_all(out_fd, pending)


def _write_all(fd: int, data: bytes) -> None:
    try:
        while data:
            data = data[os.write(fd, data) :]
    except OSError:
        pass
