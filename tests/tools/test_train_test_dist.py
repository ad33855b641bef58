"""Real training through the tools on a tiny generated dataset: train,
checkpoint, --resume, test on the checkpoint, and a 2-process CPU (gloo) run
via dist_train.sh; a run killed with SIGKILL and resumed ends with the
uninterrupted run's bits; a checkpoint of another model is refused."""

import json
import os
import os.path as osp
import re
import signal
import socket
import subprocess
import sys

import pytest
import torch

import geoconv_mm.engine  # noqa: F401  (allowlists MMEngine checkpoint contents)
from tests.fixtures.paths import REPO_ROOT as ROOT
from tests.fixtures.processes import (
    become_subreaper,
    isolated,
    run_bounded,
    still_alive,
)
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


# ------------------------------------------------------- reproducible resume
# Three epochs of two iterations; random flips and colour in the pipeline,
# dropout in the head: every random stream of training is in play.
RESUME_EXTRA = '''
model = dict(backbone=dict(main_branch=dict(init_cfg=None)))
train_cfg = dict(max_epochs=3, val_interval=3)
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=3, by_epoch=True, begin=0, end=3,
         convert_to_iter_based=True)]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=1, max_keep_ckpts=-1))
custom_hooks = [dict(type='AUStatisticsHook')]
custom_imports = dict(imports=_base_.custom_imports.imports + ['kill_hook'],
                      allow_failed_imports=False)
'''
WORKERS = 'batch_size=4, num_workers=2, persistent_workers=True'
NO_WORKERS = 'batch_size=4, num_workers=0, persistent_workers=False'
#: The kill hook's folder goes on PYTHONPATH as the tools' plugin folder.
FIXTURES = osp.join(ROOT, 'tests', 'fixtures')


@pytest.fixture(scope='module')
def resume_setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('tiny_resume')
    make_tiny_au_tree(str(root), 'BP4D', size=SIZE, frames_per_subject=4)
    configs = {}
    for name, loader in (('workers', WORKERS), ('main', NO_WORKERS)):
        folder = root / name
        folder.mkdir()
        configs[name] = write_tiny_config(
            folder, SIZE, loader=loader, extra=RESUME_EXTRA
        )
        # The tiny tree's frames, under each config's data root.
        for entry in ('frames', 'annotations'):
            os.symlink(root / entry, folder / entry)
    return root, configs


def train(cfg, work, *extra, expect=0, leave_group=False):
    env = dict(_env(), PYTHONPATH=os.pathsep.join([HOOK_DIR, FIXTURES]))
    res = run_bounded(
        [
            sys.executable,
            osp.join(ROOT, 'tools', 'train.py'),
            cfg,
            '--work-dir',
            work,
            *extra,
        ],
        timeout=600,
        env=env,
        cwd=osp.dirname(cfg),
        leave_group=leave_group,
    )
    assert res.returncode == expect, res.stdout[-3000:] + res.stderr[-3000:]
    return res.stdout + res.stderr


def weights(path):
    return torch.load(path, map_location='cpu')['state_dict']


def assert_same_bits(a, b):
    assert a.keys() == b.keys()
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differ, f'{len(differ)} tensors differ, first {differ[:3]}'


@pytest.fixture(scope='module')
def uninterrupted(resume_setup):
    root, configs = resume_setup
    work = str(root / 'uninterrupted')
    train(configs['workers'], work)
    return weights(osp.join(work, 'epoch_3.pth'))


@pytest.mark.parametrize('checkpoints', ['epoch', 'iteration'])
@isolated(1500)
def test_a_run_killed_mid_epoch_resumes_to_the_same_bits(
    resume_setup, uninterrupted, tmp_path, checkpoints
):
    become_subreaper()  # the killed trainer's orphans are ours to see
    _, configs = resume_setup
    work, pids = str(tmp_path / 'work'), str(tmp_path / 'pids.json')
    # SIGKILL after iteration 3, the first of epoch 2: with epoch
    # checkpoints the run resumes from epoch_1.pth and repeats iteration 3;
    # with a checkpoint every iteration it resumes from iter_3.pth, in the
    # middle of epoch 2.
    killing = tmp_path / 'killing.py'
    killing.write_text(
        f'_base_ = [{configs["workers"]!r}]\n'
        "custom_hooks = [dict(type='AUStatisticsHook'), dict(\n"
        f"    type='KillAtIterHook', iteration=3, pid_file={pids!r})]\n"
    )
    options = []
    if checkpoints == 'iteration':
        options = ['--cfg-options', 'default_hooks.checkpoint.by_epoch=False']
    train(
        str(killing), work, *options, expect=-signal.SIGKILL, leave_group=True
    )
    # The killed trainer's data-loader workers ended with it (torch's own
    # check of the parent would take seconds, or the length of a batch).
    with open(pids) as fh:
        workers = json.load(fh)
    assert len(workers) == 2
    left = still_alive(workers, within=2)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == []
    out = train(configs['workers'], work, '--resume', *options)
    if checkpoints == 'iteration':
        assert 'resumed epoch: 1, iter: 3' in out
        assert 'resuming epoch 2 after its first 4 samples' in out
        final = osp.join(work, 'iter_6.pth')
    else:
        assert 'resumed epoch: 1, iter: 2' in out
        final = osp.join(work, 'epoch_3.pth')
    assert_same_bits(weights(final), uninterrupted)


def test_the_number_of_workers_does_not_change_the_result(
    resume_setup, uninterrupted
):
    # Every sample's augmentation comes from its own (seed, epoch, index)
    # streams, whichever process loads it.
    root, configs = resume_setup
    work = str(root / 'no_workers')
    train(configs['main'], work)
    assert_same_bits(weights(osp.join(work, 'epoch_3.pth')), uninterrupted)


def test_a_checkpoint_of_another_model_is_an_error_listing_its_keys(
    setup, tmp_path
):
    root, cfg = setup
    other = {
        'state_dict': {
            'backbone.stem.weight': torch.zeros(3),
            'head.fc.weight': torch.zeros(2, 2),
        }
    }
    path = str(tmp_path / 'resnet.pth')
    torch.save(other, path)
    cmd = [
        sys.executable,
        osp.join(ROOT, 'tools', 'test.py'),
        cfg,
        path,
        '--work-dir',
        str(tmp_path / 'work'),
    ]
    res = run_bounded(cmd, timeout=300, env=_env(), cwd=str(root))
    assert res.returncode == 1
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith(f'tools/test.py: {path}: the checkpoint does not')
    assert 'not in the model: backbone.stem.weight' in last
    assert 'missing from the checkpoint: ' in last
    assert 'head.fc.weight: checkpoint (2, 2) vs model' in last
    # --non-strict: the user means it; the test runs on what fits.
    res = run_bounded(
        cmd + ['--non-strict', '--metrics-out', str(tmp_path / 'm.json')],
        timeout=300,
        env=_env(),
        cwd=str(root),
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'non-strict load of' in res.stdout + res.stderr
