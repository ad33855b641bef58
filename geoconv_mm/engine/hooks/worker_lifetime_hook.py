"""Data-loader workers that end with the process that started them."""

from __future__ import annotations

import os
from typing import Callable, Optional

from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS

from geoconv_mm.utils.parent_death import die_with_parent


class DieWithParent:
    """A data loader's ``worker_init_fn``: tie the worker's life to
    ``parent_pid`` (:func:`~geoconv_mm.utils.parent_death.die_with_parent`),
    then run the loader's own ``worker_init_fn``.

    Args:
        parent_pid (int): The process that iterates the loader.
        then (callable, optional): The loader's previous ``worker_init_fn``.
    """

    def __init__(self, parent_pid: int, then: Optional[Callable] = None):
        self.parent_pid = parent_pid
        self.then = then

    def __call__(self, worker_id: int) -> None:
        die_with_parent(self.parent_pid)
        if self.then is not None:
            self.then(worker_id)


def tie_workers_to_this_process(loader) -> None:
    """Make the workers ``loader`` starts from now on end with this process.

    Torch's workers notice a dead parent only every few seconds when idle,
    and not while they load a batch; killed with SIGKILL, a training process
    left a worker running for most of a minute. Idempotent.
    """
    if getattr(loader, 'num_workers', 0) <= 0:
        return
    if isinstance(loader.worker_init_fn, DieWithParent):
        return
    loader.worker_init_fn = DieWithParent(os.getpid(), loader.worker_init_fn)


@HOOKS.register_module()
class WorkerLifetimeHook(Hook):
    """Data-loader workers of training, validation and testing end when the
    process that started them ends, whatever ends it (SIGKILL, the OOM
    killer): none is left behind holding memory or a GPU."""

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        tie_workers_to_this_process(runner.train_loop.dataloader)

    def before_val(self, runner) -> None:
        tie_workers_to_this_process(runner.val_loop.dataloader)

    def before_test(self, runner) -> None:
        tie_workers_to_this_process(runner.test_loop.dataloader)
