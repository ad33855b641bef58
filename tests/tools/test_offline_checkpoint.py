"""Offline, tools/train.py stops with one line naming the checkpoint and the
config key to set, not a urllib traceback."""

import os.path as osp
import sys
from urllib.error import URLError

import pytest

from geoconv_mm.engine.pretrained import (
    offline_checkpoint_message,
    remote_checkpoints,
)
from tests.fixtures.paths import REPO_ROOT as ROOT
from tests.fixtures.tiny_data import make_tiny_au_tree
from tests.fixtures.tools import load_tool

CONFIG = '''
_base_ = {base!r}
data_root = {root!r}
_train = [dict(t, scale=32) if t['type'] == 'ResizeFace' else t
          for t in _base_.train_pipeline]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=_train))
'''


def load_train_tool():
    return load_tool('tools/train.py')


def test_remote_checkpoints_are_found_with_their_keys():
    from mmengine.config import Config

    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'geocnn_bp4d_fold1.py'))
    ((key, url),) = remote_checkpoints(cfg.model)
    assert key == 'model.backbone.main_branch.init_cfg'
    assert url.startswith('https://download.openmmlab.com/')
    cfg.model.backbone.main_branch.init_cfg = None
    assert remote_checkpoints(cfg.model) == []
    assert offline_checkpoint_message(cfg.model, URLError('x')) is None


def test_train_without_network_dies_with_one_clear_line(
    tmp_path, monkeypatch, capsys
):
    import mmengine.runner.checkpoint as ckpt

    def no_network(*args, **kwargs):
        raise URLError('[Errno -3] Temporary failure in name resolution')

    monkeypatch.setattr(ckpt, 'load_url', no_network)
    make_tiny_au_tree(str(tmp_path), 'BP4D', size=32, frames_per_subject=2)
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(
        CONFIG.format(
            base=osp.join(ROOT, 'configs', 'geocnn_bp4d_fold1.py'),
            root=str(tmp_path),
        )
    )
    tool = load_train_tool()
    monkeypatch.setattr(
        sys,
        'argv',
        [
            'train.py',
            str(cfg),
            '--work-dir',
            str(tmp_path / 'work'),
            '--no-validate',
        ],
    )
    with pytest.raises(SystemExit) as exc:
        tool.main()
    message = str(exc.value)
    assert '\n' not in message
    assert 'vgg19_batch256_imagenet' in message
    assert 'name resolution' in message
    assert (
        'set model.backbone.main_branch.init_cfg.checkpoint to a local '
        'file' in message
    )
    assert 'model.backbone.main_branch.init_cfg=None' in message
