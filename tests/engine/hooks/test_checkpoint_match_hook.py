"""CheckpointMatchHook: what the Runner loads must fit its model."""

import logging
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config

from geoconv_mm.engine import CheckpointMatchHook, CheckpointMismatchError


class Logger(logging.Logger):
    def __init__(self):
        super().__init__('test_checkpoint_match_hook')
        self.warnings = []

    def warning(self, msg, *args, **kwargs):
        self.warnings.append(msg % args)


def runner_for(load_from='w.pth'):
    model = torch.nn.Sequential(torch.nn.Linear(3, 2))
    return SimpleNamespace(
        model=model,
        cfg=Config(dict(load_from=load_from, resume=False)),
        work_dir='.',
        logger=Logger(),
    )


def test_a_fitting_checkpoint_passes():
    runner = runner_for()
    state = {'module.' + k: v for k, v in runner.model.state_dict().items()}
    CheckpointMatchHook().after_load_checkpoint(runner, dict(state_dict=state))
    assert runner.logger.warnings == []


def test_another_models_checkpoint_is_refused_naming_file_and_keys():
    runner = runner_for('resnet18.pth')
    other = dict(state_dict={'0.weight': torch.zeros(5, 3), 'fc.w': 1})
    with pytest.raises(CheckpointMismatchError) as info:
        CheckpointMatchHook().after_load_checkpoint(runner, other)
    err = info.value
    assert err.path == 'resnet18.pth'
    assert err.missing == ['0.bias'] and err.unexpected == ['fc.w']
    assert err.mismatched == ['0.weight: checkpoint (5, 3) vs model (2, 3)']


def test_non_strict_lists_what_is_left_out():
    runner = runner_for()
    bare = {'0.weight': torch.zeros(2, 3)}  # a bare state dict
    CheckpointMatchHook(strict=False).after_load_checkpoint(runner, bare)
    (warning,) = runner.logger.warnings
    assert 'non-strict load of w.pth: 1 keys missing (0.bias)' in warning


def test_a_resumed_checkpoint_is_named_as_the_runner_finds_it(tmp_path):
    runner = runner_for(None)
    runner.cfg.resume = True
    runner.work_dir = str(tmp_path)
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_3.pth'))
    with pytest.raises(CheckpointMismatchError, match='epoch_3.pth'):
        CheckpointMatchHook().after_load_checkpoint(runner, {})
