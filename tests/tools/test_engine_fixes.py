"""The two MMEngine fixes: weights-only checkpoint loading and CPU distributed setup."""
import io

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer, MessageHub

from geoconv_mm.engine import setup_cpu_distributed
from geoconv_mm.engine.checkpoint import register_mmengine_safe_globals


def _save(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return buf


def test_message_hub_checkpoint_loads_weights_only():
    register_mmengine_safe_globals()
    hub = MessageHub.get_instance('test_engine_fixes')
    hub.update_scalar('train/loss', 0.25)
    buf = _save(dict(message_hub=hub.state_dict(), meta=dict(seed=np.int64(7)),
                     state_dict={'w': torch.ones(2)}))
    ckpt = torch.load(buf, weights_only=True)
    restored = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(restored, HistoryBuffer) and restored.current() == 0.25
    assert ckpt['meta']['seed'] == 7


class _Sneaky:
    """Pickles as getattr(HistoryBuffer, '__init__'): not one of the allowed methods."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


def test_restricted_getattr_refuses_other_attributes():
    register_mmengine_safe_globals()
    with pytest.raises(Exception, match='only HistoryBuffer'):
        torch.load(_save({'x': _Sneaky()}), weights_only=True)


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
