"""Distributed training on CPU-only hosts (gloo) with stock MMEngine 0.10.

Two measured failures of ``torchrun ... --launcher pytorch`` on a machine
without CUDA:

1. ``mmengine.dist.init_dist`` calls ``torch.cuda.set_device(local_rank)``
   before ``init_process_group``, whatever the backend: it raises on a CPU-only
   torch.
2. ``Runner.wrap_model`` passes ``device_ids=[LOCAL_RANK]`` to DDP, which DDP
   rejects for a module on the CPU.

:func:`setup_cpu_distributed` sidesteps both without patching MMEngine: it
initialises the gloo process group itself (``Runner.setup_env`` skips
``init_dist`` when a group already exists) and gives the config a
``model_wrapper_cfg`` with ``device_ids=None`` (values in the config take
precedence over the runner's defaults). On a CUDA machine it does nothing.
"""

from __future__ import annotations

import os
from datetime import timedelta

import torch
import torch.distributed as torch_dist


def setup_cpu_distributed(cfg, launcher: str) -> bool:
    """Prepare a CPU-only distributed run; returns whether it did anything.

    Args:
        cfg (mmengine.Config): The run's config (``env_cfg.dist_cfg`` and
            ``model_wrapper_cfg`` are updated in place).
        launcher (str): The ``--launcher`` of the tool.

    Raises:
        RuntimeError: for a launcher other than ``pytorch`` on a CPU-only host,
            or a missing torchrun environment.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher != 'pytorch':
        raise RuntimeError(
            f'launcher {launcher!r} needs CUDA with MMEngine 0.10; on a '
            'CPU-only host use tools/dist_train.sh (torchrun, '
            '--launcher pytorch)'
        )
    missing = [
        k
        for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
        if k not in os.environ
    ]
    if missing:
        raise RuntimeError(
            f'--launcher pytorch needs the torchrun environment; {missing} '
            'are not set (start the tool with tools/dist_train.sh)'
        )
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'gloo'
    if not torch_dist.is_initialized():
        timeout = dist_cfg.get('timeout')
        kwargs = (
            {} if timeout is None else dict(timeout=timedelta(seconds=timeout))
        )
        torch_dist.init_process_group(backend='gloo', **kwargs)
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault(
        'find_unused_parameters', cfg.get('find_unused_parameters', False)
    )
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    return True
