"""Real training through the tools on a tiny generated dataset: train,
checkpoint, --resume, test on the checkpoint, and a 2-process CPU (gloo) run
via dist_train.sh."""

import json
import os
import os.path as osp
import re
import socket
import subprocess
import sys

import pytest
import torch

import geoconv_mm.engine  # noqa: F401  (allowlists MMEngine checkpoint contents)
from tests.fixtures.paths import REPO_ROOT as ROOT
from tests.fixtures.tiny_config import write_tiny_config
from tests.fixtures.tiny_data import make_tiny_au_tree

SIZE = 32

LOADER = 'batch_size=4, num_workers=0, persistent_workers=False'
EXTRA = '''
# No download in tests: the VGG-19 branch starts from MMPretrain's random init.
model = dict(backbone=dict(main_branch=dict(init_cfg=None)))
train_cfg = dict(max_epochs=2, val_interval=2)
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=2, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
custom_hooks = [dict(type='AUStatisticsHook'), dict(type='RankWeightsHook')]
custom_imports = dict(imports=_base_.custom_imports.imports +
                      ['rank_weights_hook'], allow_failed_imports=False)
'''


#: The test's own hook module is copied here; the tools must find geoconv_mm
#: on their own (it is installed), so nothing else goes on PYTHONPATH.
HOOK_DIR = osp.join(osp.dirname(osp.abspath(__file__)), 'plugins')


def _env():
    return dict(
        os.environ,
        PYTHON=sys.executable,
        OMP_NUM_THREADS='1',
        PYTHONPATH=HOOK_DIR,
    )


def run(args, cwd):
    res = subprocess.run(
        args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res.stdout + res.stderr


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('tiny_bp4d')
    make_tiny_au_tree(str(root), 'BP4D', size=SIZE, frames_per_subject=4)
    return root, write_tiny_config(root, SIZE, loader=LOADER, extra=EXTRA)


def test_train_resume_and_test(setup):
    root, cfg = setup
    work = str(root / 'work')
    # Run from another folder: the tools find geoconv_mm without PYTHONPATH.
    # The first run stops after epoch 1 of 2, as an interrupted run would.
    out = run(
        [
            sys.executable,
            osp.join(ROOT, 'tools', 'train.py'),
            cfg,
            '--work-dir',
            work,
            '--cfg-options',
            'train_cfg.max_epochs=1',
        ],
        cwd=str(root),
    )
    assert 'AU statistics of the training split' in out
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))

    # The checkpoint loads with torch's default (weights-only) loader once the
    # plugin is imported.
    ckpt = torch.load(osp.join(work, 'epoch_1.pth'), map_location='cpu')
    assert ckpt['meta']['epoch'] == 1 and ckpt['meta']['iter'] == 2
    before = ckpt['state_dict']

    out = run(
        [
            sys.executable,
            osp.join(ROOT, 'tools', 'train.py'),
            cfg,
            '--work-dir',
            work,
            '--resume',
        ],
        cwd=str(root),
    )
    assert re.search(r'resumed epoch: 1, iter: 2', out), out[-2000:]
    assert 'au/F1' in out  # validation ran at the end
    resumed = torch.load(osp.join(work, 'epoch_2.pth'), map_location='cpu')
    assert resumed['meta']['epoch'] == 2 and resumed['meta']['iter'] == 4
    assert 'optimizer' in resumed and 'message_hub' in resumed
    name = 'backbone.aux_branch.layers.0.conv.weight'
    assert not torch.equal(
        before[name], resumed['state_dict'][name]
    )  # it trained on

    metrics_path = str(root / 'metrics.json')
    out = run(
        [
            sys.executable,
            osp.join(ROOT, 'tools', 'test.py'),
            cfg,
            osp.join(work, 'epoch_2.pth'),
            '--work-dir',
            work,
            '--metrics-out',
            metrics_path,
        ],
        cwd=str(root),
    )
    with open(metrics_path) as f:
        result = json.load(f)
    assert result['au_names'] == [
        'AU1',
        'AU2',
        'AU4',
        'AU6',
        'AU7',
        'AU10',
        'AU12',
        'AU14',
        'AU15',
        'AU17',
        'AU23',
        'AU24',
    ]
    metrics = result['metrics']
    per_au = [metrics[f'au/F1_{n}'] for n in result['au_names']]
    assert all(0 <= v <= 100 for v in per_au)
    assert metrics['au/F1'] == pytest.approx(sum(per_au) / len(per_au))
    assert 'AU F1-frame' in out  # the per-AU table was logged


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='checks the CPU (gloo) path'
)
def test_two_process_gloo_run_via_dist_train_sh(setup):
    root, cfg = setup
    work = str(root / 'work_dist')
    env = _env()
    env['PORT'] = str(_free_port())
    # One epoch, 2 frames per batch and rank: 2 synchronised updates.
    res = subprocess.run(
        [
            'bash',
            osp.join(ROOT, 'tools', 'dist_train.sh'),
            cfg,
            '2',
            '--work-dir',
            work,
            '--cfg-options',
            'train_cfg.max_epochs=1',
            'train_dataloader.batch_size=2',
        ],
        cwd=str(root),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    ranks = [torch.load(osp.join(work, f'rank{r}_params.pth')) for r in (0, 1)]
    assert all(r['wrapped'] == 'MMDistributedDataParallel' for r in ranks)
    # 8 training frames, 2 per batch and rank: 2 iterations in the epoch.
    assert ranks[0]['iter'] == ranks[1]['iter'] == 2
    p0, p1 = ranks[0]['params'], ranks[1]['params']
    assert p0.keys() == p1.keys()
    for name in p0:
        assert torch.equal(p0[name], p1[name]), name
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
