"""The torch intra-op thread count of a run."""

from __future__ import annotations

import os

import torch
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class TorchThreadsHook(Hook):
    """Set torch's intra-op thread count for the run
    (``torch.set_num_threads``).

    On a CPU shared with other jobs, one thread per process keeps the
    training process, its data workers and the other jobs from
    oversubscribing the cores; on an idle machine torch's default is faster
    (the quick-start demo's iterations took about a quarter less time with
    2 threads than with 1 on the 2-core development machine), so the demo
    leaves it out. An
    explicit ``OMP_NUM_THREADS`` in the environment wins.

    Args:
        num_threads (int): Threads of the training process.
    """

    priority = 'VERY_HIGH'

    def __init__(self, num_threads: int = 1):
        if num_threads < 1:
            raise ValueError(f'num_threads must be >= 1, got {num_threads}')
        self.num_threads = num_threads

    def before_run(self, runner) -> None:
        if 'OMP_NUM_THREADS' in os.environ:
            return
        torch.set_num_threads(self.num_threads)
        runner.logger.info(
            f'TorchThreadsHook: torch uses {self.num_threads} thread(s)'
        )
