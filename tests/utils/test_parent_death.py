"""die_with_parent: a worker ends when the process that started it is killed
with SIGKILL, and at once when that process is already gone."""

import os
import signal

from tests.fixtures.processes import (
    alive,
    become_subreaper,
    isolated,
    run_python,
    still_alive,
)

# A parent that starts one worker, prints its pid and kills itself. The worker
# first waits for the parent's end when WAIT_FIRST (the request then comes
# too late for a signal), then asks to die with it when ASK, then sleeps.
SCRIPT = '''
import os, signal, sys, time
from geoconv_mm.utils.parent_death import die_with_parent
ASK, WAIT_FIRST = {ask}, {wait_first}
parent = os.getpid()
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.setsid()  # out of the test's process group, which it cleans up
    null = os.open(os.devnull, os.O_WRONLY)  # nor holding the test's pipes
    os.dup2(null, 1)
    os.dup2(null, 2)
    if WAIT_FIRST:
        while os.getppid() == parent:
            time.sleep(0.01)
    elif ASK:
        die_with_parent(parent)
    os.write(w, b'ready')
    os.close(w)
    if WAIT_FIRST and ASK:
        die_with_parent(parent)
    time.sleep(600)
    os._exit(0)
os.close(w)
print(pid, flush=True)
if not WAIT_FIRST:
    os.read(r, 5)
os.kill(os.getpid(), signal.SIGKILL)
'''


def _orphan(ask: bool, wait_first: bool = False) -> int:
    become_subreaper()  # the orphan is ours, not the sandbox's
    res = run_python(SCRIPT.format(ask=ask, wait_first=wait_first), 120)
    assert res.returncode == -signal.SIGKILL, res.stderr[-2000:]
    return int(res.stdout.split()[0])


@isolated(180)
def test_a_worker_ends_with_its_killed_parent():
    assert still_alive([_orphan(ask=True)], within=20) == []


@isolated(180)
def test_a_worker_whose_parent_is_already_gone_ends_at_once():
    pid = _orphan(ask=True, wait_first=True)
    assert still_alive([pid], within=20) == []


@isolated(180)
def test_without_it_the_orphan_lives_on():
    # The reference the two tests above differ from.
    pid = _orphan(ask=False)
    try:
        assert alive(pid)
    finally:
        os.kill(pid, signal.SIGKILL)
