"""F1 by head yaw end to end on a tiny SynthAU: tools/train.py, tools/test.py
--meta-keys pose --out, then tools/analysis_tools/au_f1_by_pose.py."""

import json
import os
import os.path as osp
import pickle
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config

from geoconv_mm.datasets.transforms import add_meta_keys
from tests.fixtures.paths import REPO_ROOT as ROOT

pytest.importorskip('mediapipe')

AU_IDS = [12, 25, 26]
CONFIG = '''
_base_ = {base!r}
_gen = dict(seed=3, num_subjects=6, images_per_subject=10, image_size=48)
_ds = dict(data_root={root!r}, generator=_gen, au_ids={aus!r}, progress=False)
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        dataset=_ds)
val_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                      dataset=_ds)
test_dataloader = val_dataloader
model = dict(head=dict(num_aus={n}))
train_cfg = dict(max_epochs=1, val_interval=1)
param_scheduler = []
default_hooks = dict(logger=dict(interval=1))
'''


def tail(path):
    """Subject folder and file name: unique within a SynthAU build."""
    return '/'.join(path.replace(os.sep, '/').split('/')[-2:])


def run(args, cwd):
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    res = subprocess.run(
        [sys.executable] + args,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res.stdout


def test_add_meta_keys_extends_every_pack():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'geocnn_synthau_demo.py'))
    add_meta_keys(cfg, ['pose', 'img_path'])
    (pack,) = [
        t
        for t in cfg.test_dataloader.dataset.pipeline
        if t['type'] == 'PackAUInputs'
    ]
    assert pack['meta_keys'][-1] == 'pose'
    assert pack['meta_keys'].count('img_path') == 1
    cfg.test_dataloader.dataset.pipeline = [dict(type='LoadImageFromFile')]
    with pytest.raises(ValueError, match='no PackAUInputs'):
        add_meta_keys(cfg, ['pose'])


def test_yaw_table_from_a_test_run(tmp_path):
    root = tmp_path / 'synthau'
    cfg = tmp_path / 'tiny_synthau.py'
    cfg.write_text(
        CONFIG.format(
            base=osp.join(ROOT, 'configs', 'geocnn_synthau_demo.py'),
            root=str(root),
            aus=AU_IDS,
            n=len(AU_IDS),
        )
    )
    work = tmp_path / 'work'
    run(
        [
            osp.join(ROOT, 'tools', 'train.py'),
            str(cfg),
            '--work-dir',
            str(work),
        ],
        tmp_path,
    )
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file()
    preds = tmp_path / 'preds.pkl'
    metrics = tmp_path / 'metrics.json'
    run(
        [
            osp.join(ROOT, 'tools', 'test.py'),
            str(cfg),
            str(ckpt),
            '--work-dir',
            str(work),
            '--meta-keys',
            'pose',
            '--out',
            str(preds),
            '--metrics-out',
            str(metrics),
            '--cfg-options',
            'test_evaluator.yaw_key=pose',
            'test_evaluator.yaw_index=0',
            'test_evaluator.yaw_unit=deg',
        ],
        tmp_path,
    )
    with open(preds, 'rb') as fh:
        results = pickle.load(fh)
    # Every dumped frame carries the pose of its annotation entry.
    (ann,) = [
        osp.join(dp, f)
        for dp, _, fs in os.walk(root)
        for f in fs
        if osp.join(osp.basename(dp), f) == 'annotations/synthau.json'
    ]
    with open(ann) as fh:
        poses = {
            tail(e['img_path']): e['pose'] for e in json.load(fh)['data_list']
        }
    assert results and all('pose' in r for r in results)
    for r in results:
        assert list(r['pose']) == pytest.approx(poses[tail(r['img_path'])])
    yaw = np.abs([r['pose'][0] for r in results])
    counts = [
        int((yaw < 10).sum()),
        int(((yaw >= 10) & (yaw < 25)).sum()),
        int((yaw >= 25).sum()),
    ]
    assert sum(counts) == len(results)

    names = [f'AU{a}' for a in AU_IDS]
    out = run(
        [
            osp.join(ROOT, 'tools', 'analysis_tools', 'au_f1_by_pose.py'),
            str(preds),
            '--yaw-key',
            'pose',
            '--yaw-index',
            '0',
            '--yaw-unit',
            'deg',
            '--config',
            str(cfg),
        ],
        tmp_path,
    )
    rows = {
        ln.split()[0]: ln.split()[1:]
        for ln in out.splitlines()
        if ln.split() and ln.split()[0] in names + ['frames', 'mean']
    }
    assert [int(v) for v in rows['frames']] == counts
    assert set(names) <= set(rows)
    png = tmp_path / 'preds_f1_by_yaw.png'
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    # The test metric's own per-yaw report counts the same frames.
    logged = json.loads(metrics.read_text())['metrics']
    assert [v for k, v in logged.items() if 'num_yaw_' in k] == counts
