"""WorkerLifetimeHook: a data-loader worker busy with a sample ends the
moment the process that iterates the loader is killed."""

import os
import signal

import torch

from geoconv_mm.engine.hooks import (
    DieWithParent,
    WorkerLifetimeHook,
    tie_workers_to_this_process,
)
from tests.fixtures.processes import (
    alive,
    become_subreaper,
    isolated,
    run_python,
    still_alive,
)

# A loader whose worker is busy for a minute in sample 1 (a busy loop: some
# sandboxes' kernels end a sleep when its process is re-parented); the
# parent takes
# sample 0, waits until the worker is inside sample 1, prints the worker's
# pid and kills itself. TIE: whether the worker was tied to its parent.
SCRIPT = '''
import os, signal, time, torch
from torch.utils.data import DataLoader, Dataset
from geoconv_mm.engine.hooks import tie_workers_to_this_process
BUSY = {busy!r}
class Slow(Dataset):
    def __len__(self):
        return 4
    def __getitem__(self, i):
        if i == 1:
            open(BUSY, 'w').close()
            end = time.monotonic() + 60
            while time.monotonic() < end:
                pass
        return torch.zeros(1)
loader = DataLoader(Slow(), batch_size=1, num_workers=1, prefetch_factor=1)
if {tie}:
    tie_workers_to_this_process(loader)
it = iter(loader)
next(it)
while not os.path.exists(BUSY):
    time.sleep(0.01)
print(it._workers[0].pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
'''


def _orphan(tmp_path, tie: bool) -> int:
    become_subreaper()  # the orphan is ours, not the sandbox's
    busy = str(tmp_path / f'busy-{tie}')
    res = run_python(
        SCRIPT.format(busy=busy, tie=tie), timeout=180, leave_group=True
    )
    assert res.returncode == -signal.SIGKILL, res.stderr[-3000:]
    return int(res.stdout.split()[0])


@isolated(180)
def test_a_busy_worker_ends_with_its_killed_parent(tmp_path):
    pid = _orphan(tmp_path, tie=True)
    assert still_alive([pid], within=5) == []


@isolated(180)
def test_untied_it_would_outlive_the_parent(tmp_path):
    # The reference: torch's worker notices its dead parent only after the
    # sample it is loading.
    pid = _orphan(tmp_path, tie=False)
    try:
        assert alive(pid)
    finally:
        os.kill(pid, signal.SIGKILL)


class _Loop:
    def __init__(self, loader):
        self.dataloader = loader


class _Runner:
    def __init__(self, loaders):
        self.train_loop, self.val_loop, self.test_loop = map(_Loop, loaders)


def _init_fn(worker_id):  # a loader's own worker_init_fn
    return worker_id


def test_the_hook_ties_every_loop_once_and_keeps_the_loaders_own_init():
    data = torch.zeros(4, 1)
    loaders = [
        torch.utils.data.DataLoader(data, num_workers=2, worker_init_fn=f)
        for f in (_init_fn, None, _init_fn)
    ]
    runner = _Runner(loaders)
    hook = WorkerLifetimeHook()
    for stage in (hook.before_train, hook.before_val, hook.before_test):
        stage(runner)
        stage(runner)  # idempotent: not wrapped twice
    for loader, own in zip(loaders, (_init_fn, None, _init_fn)):
        fn = loader.worker_init_fn
        assert isinstance(fn, DieWithParent) and fn.then is own
        assert fn.parent_pid == os.getpid()
    in_process = torch.utils.data.DataLoader(data, num_workers=0)
    tie_workers_to_this_process(in_process)
    assert in_process.worker_init_fn is None  # no worker, nothing to tie


def test_die_with_parent_runs_the_loaders_own_init(monkeypatch):
    from geoconv_mm.engine.hooks import worker_lifetime_hook

    calls = []
    monkeypatch.setattr(
        worker_lifetime_hook, 'die_with_parent', lambda pid: calls.append(pid)
    )
    DieWithParent(123, lambda wid: calls.append(('own', wid)))(7)
    assert calls == [123, ('own', 7)]
