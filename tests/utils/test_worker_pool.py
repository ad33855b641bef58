"""WorkerPool: results as a loop gives them, and every way a worker fails
ends the run at once with a line naming why (each test runs in a forked child
with a deadline, so that a hang fails it)."""

import functools
import signal

import pytest

from geoconv_mm.utils.worker_pool import (
    WorkerDiedError,
    WorkerPool,
    WorkerStartError,
    describe_exit,
)
from tests.fixtures import pool_tasks
from tests.fixtures.processes import alive, isolated, still_alive

# Spawned workers import the package first: seconds each on a loaded CPU.
BOUND = 180


@isolated(BOUND)
def test_results_are_a_loops_and_the_initializer_runs_in_each_worker():
    items = list(range(-7, 13))
    with WorkerPool(3, pool_tasks.set_offset, (100,), name='adder') as pool:
        got = dict(pool.imap_unordered(pool_tasks.add_offset, items))
        # The pool serves a second batch with the same workers.
        pids = {p for _, p in pool.imap_unordered(pool_tasks.pid_of, items)}
    assert got == {x: x + 100 for x in items}
    assert 1 <= len(pids) <= 3
    assert still_alive(pids, within=30) == []  # leaving the pool ends them


@isolated(BOUND)
def test_an_initializer_that_raises_ends_the_run_with_its_message():
    with pytest.raises(WorkerStartError) as info:
        with WorkerPool(
            2, pool_tasks.fail_to_start, ('no module x',), name='face'
        ) as pool:
            list(pool.imap_unordered(abs, range(10)))
    assert str(info.value) == (
        'face worker processes cannot start: ImportError: no module x'
    )
    assert 'fail_to_start' in info.value.remote_traceback


@isolated(BOUND)
def test_a_worker_killed_at_start_is_a_death_not_a_hang():
    with pytest.raises(WorkerDiedError, match='killed by SIGKILL'):
        with WorkerPool(2, pool_tasks.kill_self_at_start) as pool:
            list(pool.imap_unordered(abs, range(4)))


@isolated(BOUND)
def test_a_dead_worker_names_its_item_or_hands_it_back():
    fn = functools.partial(pool_tasks.die_on, 5)
    with pytest.raises(WorkerDiedError) as info:
        with WorkerPool(2, name='square') as pool:
            list(pool.imap_unordered(fn, range(10)))
    assert info.value.item == 5
    assert info.value.exitcode == -signal.SIGKILL
    assert 'square worker process' in str(info.value)
    assert '(killed by SIGKILL) while processing 5' in str(info.value)
    # keep_going: the item comes back failed, a new worker takes over.
    with WorkerPool(2) as pool:
        got = dict(pool.imap_unordered(fn, range(10), keep_going=True))
    assert {k: v for k, v in got.items() if k != 5} == {
        x: x for x in range(10) if x != 5
    }
    assert isinstance(got[5], WorkerDiedError) and got[5].item == 5


@isolated(BOUND)
def test_a_task_error_is_raised_here_with_its_remote_traceback():
    fn = functools.partial(pool_tasks.raise_on, 3)
    with pytest.raises(ValueError, match='item 3 is bad') as info:
        with WorkerPool(2) as pool:
            pids = [p for _, p in pool.imap_unordered(pool_tasks.pid_of, [0])]
            list(pool.imap_unordered(fn, range(10)))
    assert 'raise_on' in str(info.value.__cause__)
    # Leaving the pool on an error ends the workers, busy ones too.
    assert not [p for p in pids if alive(p)]


def test_describe_exit():
    assert describe_exit(-signal.SIGSEGV) == 'killed by SIGSEGV'
    assert describe_exit(3) == 'exit code 3'
    assert describe_exit(None) == 'still running'


def test_a_pool_needs_workers():
    with pytest.raises(ValueError, match='workers must be >= 1'):
        WorkerPool(0)
