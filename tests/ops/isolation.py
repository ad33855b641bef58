"""Runs a check in a forked child, so that a crash is a failure naming its
case.
"""

import os
import select
import signal
import time
import traceback


def run_isolated(fn, *args, label: str = '', timeout: float = 300.0) -> None:
    """Runs ``fn(*args)`` in a child process.

    Args:
        fn (callable): The check; an exception in it fails the caller.
        label (str): Names the case in every failure message.
        timeout (float): Seconds after which the child is killed (a hang fails
            too).

    Raises:
        AssertionError: The check failed, crashed the child or timed out.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        status = 0
        try:
            import torch

            # OpenMP thread pools do not survive fork(); one thread needs none.
            # A check must not raise the thread count again (it would hang).
            torch.set_num_threads(1)
            fn(*args)
        except BaseException:  # noqa: B902 - reported to the parent verbatim
            status = 1
            os.write(write_fd, traceback.format_exc().encode()[-20000:])
        os.close(write_fd)
        os._exit(status)
    os.close(write_fd)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise AssertionError(
                    f'{label}: timed out after {timeout:.0f} s'
                )
            ready, _, _ = select.select([read_fd], [], [], left)
            if ready:
                data = os.read(read_fd, 65536)
                if not data:
                    break
                chunks.append(data)
    finally:
        os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        raise AssertionError(f'{label}: crashed the process ({sig})')
    if os.WEXITSTATUS(status) != 0:
        raise AssertionError(
            f'{label}:\n' + b''.join(chunks).decode(errors='replace')
        )
