"""Weights-only checkpoint loading of MMEngine state (MessageHub, numpy
scalars), and strict loading of a checkpoint's weights (load_model_weights)
against hand-made state dicts.
"""

import io
import os

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
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


# ------------------------------------------------ strict loading of weights
class Small(torch.nn.Module):
    def __init__(self, width=3):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, width, 3)
        self.bn = torch.nn.BatchNorm2d(width)
        self.fc = torch.nn.Linear(width, 2)


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def _save_state(path, state, wrapped=True, prefix=''):
    state = {prefix + k: v for k, v in state.items()}
    torch.save(
        dict(state_dict=state, meta=dict(epoch=1)) if wrapped else state, path
    )
    return str(path)


@pytest.mark.parametrize(
    'wrapped,prefix', [(True, ''), (False, ''), (True, 'module.')]
)
def test_a_matching_checkpoint_loads_every_weight(tmp_path, wrapped, prefix):
    from geoconv_mm.engine import load_model_weights

    torch.manual_seed(0)
    source = _state(Small())
    path = _save_state(tmp_path / 'c.pth', source, wrapped, prefix)
    torch.manual_seed(1)
    model = Small()
    load_model_weights(model, path)
    for k, v in model.state_dict().items():
        assert torch.equal(v, source[k]), k


@settings(max_examples=40, deadline=None)
@given(
    drop=st.sets(st.integers(0, 6)),
    extra=st.lists(st.text('abcxyz.', min_size=1, max_size=6), max_size=3),
    reshape=st.sets(st.integers(0, 6)),
)
def test_mismatches_are_listed_and_non_strict_loads_the_rest(
    drop, extra, reshape
):
    import tempfile

    from geoconv_mm.engine import CheckpointMismatchError, load_model_weights

    torch.manual_seed(0)
    source = _state(Small())
    keys = sorted(source)
    reshape = {keys[i] for i in reshape} - {keys[i] for i in drop}
    for k in reshape:
        source[k] = torch.zeros(tuple(source[k].shape) + (2,))
    for k in (keys[i] for i in drop):
        del source[k]
    extra = {f'extra.{e}' for e in extra}
    for k in extra:
        source[k] = torch.ones(1)
    # The reference lists, by set arithmetic on the names.
    missing = sorted({keys[i] for i in drop})
    unexpected = sorted(extra)
    torch.manual_seed(1)
    model = Small()
    before = _state(model)
    with tempfile.TemporaryDirectory() as tmp:
        path = _save_state(os.path.join(tmp, 'c.pth'), source)
        if not (missing or unexpected or reshape):
            load_model_weights(model, path)
        else:
            with pytest.raises(CheckpointMismatchError) as info:
                load_model_weights(model, path)
            err = info.value
            assert err.missing == missing and err.unexpected == unexpected
            assert [m.split(':')[0] for m in err.mismatched] == sorted(reshape)
            for k in missing + unexpected + sorted(reshape):
                if len(missing + unexpected + sorted(reshape)) <= 8:
                    assert k in str(err)
            assert path in str(err) and '--non-strict' in str(err)
            # Nothing was loaded by the refused call.
            for k, v in model.state_dict().items():
                assert torch.equal(v, before[k]), k
            load_model_weights(model, path, strict=False)
    for k, v in model.state_dict().items():
        expect = before[k] if k in missing or k in reshape else source[k]
        assert torch.equal(v, expect), k


def test_the_error_names_shapes_and_shortens_long_lists(tmp_path):
    from geoconv_mm.engine import CheckpointMismatchError, load_model_weights

    source = _state(Small(width=4))  # every conv/bn/fc shape differs
    source.update({f'other.{i}': torch.zeros(1) for i in range(10)})
    path = _save_state(tmp_path / 'c.pth', source)
    with pytest.raises(CheckpointMismatchError) as info:
        load_model_weights(Small(), path)
    text = str(info.value)
    assert 'conv.weight: checkpoint (4, 2, 3, 3) vs model (3, 2, 3, 3)' in text
    assert '10 not in the model: other.0, other.1' in text
    assert 'and 2 more' in text
    with pytest.raises(FileNotFoundError, match='checkpoint not found'):
        load_model_weights(Small(), str(tmp_path / 'missing.pth'))


def test_saved_weights_load_strictly_with_their_au_ids(tmp_path):
    from geoconv_mm.engine import load_model_weights, save_model_weights

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    path = save_model_weights(
        model, str(tmp_path / 'w.pth'), np.array([6, 12])
    )
    other = torch.nn.Linear(3, 2)
    checkpoint = load_model_weights(other, path)
    assert torch.equal(other.weight, model.weight)
    ids = checkpoint['meta']['dataset_meta']['au_ids']
    assert ids == [6, 12] and all(type(a) is int for a in ids)
