"""A process pool that fails fast and names why.

``multiprocessing.Pool`` restarts a worker whose initializer raises, forever,
and waits forever for the result of a task whose worker died.
``concurrent.futures.ProcessPoolExecutor`` notices a dead worker but not
which task it held, cannot stop its workers, and says only "a child process
terminated abruptly". :class:`WorkerPool` gives each worker one task at a
time over its own pipe and watches every worker process, so that:

- a worker that cannot start (its initializer raises) ends the run at once
  with :class:`WorkerStartError`, one line naming the exception;
- a worker that dies (a signal, the OOM killer, a crash in native code)
  raises :class:`WorkerDiedError` naming the signal and the task it held, or,
  with ``keep_going``, hands that task back as failed and is replaced;
- leaving the pool, normally or by an exception (Ctrl-C included), ends
  every worker, and a worker ends with the process that started it
  (:func:`~geoconv_mm.utils.parent_death.die_with_parent`).
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.connection as mpc
import os
import pickle
import signal
import traceback
from typing import Any, Callable, Iterable, Iterator, List, Optional, Tuple

from .parent_death import die_with_parent

#: Seconds a worker gets to exit after the pool asks it to, then it is
#: terminated.
_JOIN_SECONDS = 5.0


class WorkerStartError(RuntimeError):
    """A worker process could not start: its initializer raised.

    Attributes:
        remote_traceback (str): The traceback in the worker.
    """

    def __init__(self, message: str, remote_traceback: str = '') -> None:
        super().__init__(message)
        self.remote_traceback = remote_traceback


class WorkerDiedError(RuntimeError):
    """A worker process ended abruptly while it held a task.

    Attributes:
        item: The task's item.
        exitcode (int | None): The process's exit code (negative: the
            signal that ended it).
    """

    def __init__(self, message: str, item: Any, exitcode: Optional[int]):
        super().__init__(message)
        self.item = item
        self.exitcode = exitcode


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker (its ``__cause__``
    in this process)."""

    def __str__(self) -> str:
        return '\n' + self.args[0]


def describe_exit(exitcode: Optional[int]) -> str:
    """``'killed by SIGSEGV'``, ``'exit code 3'``: how a process ended."""
    if exitcode is None:
        return 'still running'
    if exitcode < 0:
        try:
            return f'killed by {signal.Signals(-exitcode).name}'
        except ValueError:
            return f'killed by signal {-exitcode}'
    return f'exit code {exitcode}'


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f'{type(exc).__name__}: {text[0]}' if text else type(exc).__name__


def _worker_main(conn, parent_pid: int, initializer, initargs) -> None:
    die_with_parent(parent_pid)
    # Ctrl-C is the parent's to handle: it ends the workers when it leaves
    # the pool; a worker that took it would report a half-done task.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        if initializer is not None:
            initializer(*initargs)
    except BaseException as exc:  # every failure to start is reported
        conn.send(('start_error', _one_line(exc), traceback.format_exc()))
        return
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):  # the parent closed its end, or died
            return
        if task is None:
            return
        fn, item = task
        try:
            result = fn(item)
        except BaseException as exc:  # handed to the parent, which raises
            tb = traceback.format_exc()
            try:
                conn.send(('error', exc, tb))
            except (pickle.PicklingError, TypeError, AttributeError):
                conn.send(('error', RuntimeError(_one_line(exc)), tb))
            continue
        conn.send(('ok', result))


class _Worker:
    def __init__(self, ctx, initializer, initargs) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_worker_main,
            args=(child, os.getpid(), initializer, initargs),
            daemon=True,
        )
        self.process.start()
        child.close()
        self.item: Any = None
        self.busy = False

    def ask_to_stop(self, terminate: bool) -> None:
        if not terminate and self.process.is_alive():
            try:
                self.conn.send(None)
                return
            except OSError:
                pass
        self.process.terminate()

    def wait_stopped(self) -> None:
        self.process.join(_JOIN_SECONDS)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class WorkerPool:
    """Worker processes that run ``fn(item)`` for many items.

    Use it as a context manager; leaving the block ends the workers.

    Args:
        workers (int): Number of worker processes (>= 1).
        initializer (callable, optional): Run once in each worker before any
            task, with ``initargs``.
        initargs (tuple): Arguments of ``initializer``.
        name (str): What the workers do, for messages ("face pipeline").
        context (str): Start method; ``'spawn'`` (the default) starts clean
            processes, where ``'fork'`` would copy the caller's thread pools
            (torch, OpenCV) in whatever state they are.

    Example:
        >>> with WorkerPool(2, name='square') as pool:
        ...     sorted(r for _, r in pool.imap_unordered(abs, [-1, -2]))
        [1, 2]
    """

    def __init__(
        self,
        workers: int,
        initializer: Optional[Callable] = None,
        initargs: Tuple = (),
        *,
        name: str = 'worker',
        context: str = 'spawn',
    ) -> None:
        if workers < 1:
            raise ValueError(f'workers must be >= 1, got {workers}')
        self.workers = workers
        self.initializer = initializer
        self.initargs = tuple(initargs)
        self.name = name
        self._ctx = mp.get_context(context)
        self._pool: List[_Worker] = []

    def __enter__(self) -> 'WorkerPool':
        self._pool = [self._start() for _ in range(self.workers)]
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(terminate=exc_type is not None)

    def close(self, terminate: bool = False) -> None:
        """End every worker: ask them to exit, or ``terminate`` them."""
        pool, self._pool = self._pool, []
        # All asked first: their interpreters wind down in parallel.
        for w in pool:
            w.ask_to_stop(terminate or w.busy)
        for w in pool:
            w.wait_stopped()

    def _start(self) -> _Worker:
        return _Worker(self._ctx, self.initializer, self.initargs)

    def imap_unordered(
        self,
        fn: Callable[[Any], Any],
        items: Iterable[Any],
        keep_going: bool = False,
    ) -> Iterator[Tuple[Any, Any]]:
        """``(item, fn(item))`` for every item, in the order they finish.

        ``fn`` and the items are pickled to the workers (``fn`` must be a
        module-level function or a ``functools.partial`` of one).

        Args:
            fn (callable): The task.
            items (Iterable): Its inputs; read as workers become free.
            keep_going (bool): A worker that dies hands its item back as
                ``(item, WorkerDiedError)`` and a new worker takes its place;
                by default the death is raised.

        Yields:
            tuple: (item, result).

        Raises:
            WorkerStartError: A worker's initializer raised.
            WorkerDiedError: A worker died (unless ``keep_going``).
            Exception: What ``fn`` raised in a worker (its traceback there is
                the ``__cause__``).
        """
        if not self._pool:
            raise RuntimeError('WorkerPool is not open: use it in a with')
        todo = iter(items)
        exhausted = False
        while True:
            for w in self._pool:
                if w.busy or exhausted:
                    continue
                try:
                    item = next(todo)
                except StopIteration:
                    exhausted = True
                    break
                w.item, w.busy = item, True
                try:
                    w.conn.send((fn, item))
                except OSError:  # it died or failed to start: told below
                    pass
            busy = [w for w in self._pool if w.busy]
            if not busy:
                return
            waitables = [w.conn for w in busy] + [
                w.process.sentinel for w in busy
            ]
            ready = set(mpc.wait(waitables))
            for i, w in enumerate(self._pool):
                if not w.busy:
                    continue
                if w.conn in ready or (
                    w.process.sentinel in ready and w.conn.poll()
                ):
                    try:
                        message = w.conn.recv()
                    except (EOFError, OSError):
                        # A worker killed mid-write: EOF, or a reset
                        # connection. Its end is told below.
                        message = None
                    if message is not None:
                        yield from self._handle(w, message)
                        continue
                if w.process.sentinel in ready or not w.process.is_alive():
                    died = self._died(w)
                    if not keep_going:
                        raise died
                    w.ask_to_stop(terminate=True)
                    w.wait_stopped()
                    self._pool[i] = self._start()
                    yield died.item, died

    def _handle(self, w: _Worker, message: tuple) -> Iterator[Tuple]:
        kind = message[0]
        if kind == 'ok':
            item, w.item, w.busy = w.item, None, False
            yield item, message[1]
        elif kind == 'start_error':
            raise WorkerStartError(
                f'{self.name} worker processes cannot start: {message[1]}',
                message[2],
            )
        else:
            w.item, w.busy = None, False
            raise message[1] from RemoteTraceback(message[2])

    def _died(self, w: _Worker) -> WorkerDiedError:
        w.process.join(_JOIN_SECONDS)
        code = w.process.exitcode
        return WorkerDiedError(
            f'a {self.name} worker process (pid {w.process.pid}) ended '
            f'abruptly ({describe_exit(code)}) while processing {w.item!r}',
            w.item,
            code,
        )
