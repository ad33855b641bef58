"""Weights-only checkpoint loading of MMEngine state (MessageHub, numpy
scalars).
"""

import io

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from geoconv_mm.engine.checkpoint import register_mmengine_safe_globals


def _save(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return buf


def test_message_hub_checkpoint_loads_weights_only():
    register_mmengine_safe_globals()
    hub = MessageHub.get_instance('test_checkpoint')
    hub.update_scalar('train/loss', 0.25)
    buf = _save(
        dict(
            message_hub=hub.state_dict(),
            meta=dict(seed=np.int64(7)),
            state_dict={'w': torch.ones(2)},
        )
    )
    ckpt = torch.load(buf, weights_only=True)
    restored = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(restored, HistoryBuffer) and restored.current() == 0.25
    assert ckpt['meta']['seed'] == 7


class _Sneaky:
    """Pickles as getattr(HistoryBuffer, '__init__'): not one of the allowed
    methods.
    """

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


def test_restricted_getattr_refuses_other_attributes():
    register_mmengine_safe_globals()
    with pytest.raises(Exception, match='only HistoryBuffer'):
        torch.load(_save({'x': _Sneaky()}), weights_only=True)
