"""CPU distributed set-up: a no-op without a launcher, clear errors without
torchrun.
"""

import pytest
import torch
from mmengine.config import Config

from geoconv_mm.engine import setup_cpu_distributed


def test_cpu_distributed_setup_is_a_no_op_without_launcher():
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    assert setup_cpu_distributed(cfg, 'none') is False
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only path')
def test_cpu_distributed_setup_needs_torchrun_env(monkeypatch):
    for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(RuntimeError, match='torchrun environment'):
        setup_cpu_distributed(Config(dict()), 'pytorch')
    with pytest.raises(RuntimeError, match='needs CUDA'):
        setup_cpu_distributed(Config(dict()), 'slurm')
