"""The intensity configs: heads sized by their datasets' AUs, a GeoCNN with
the joint head that trains and predicts, and one real run of the DISFA
intensity config through tools/train.py and tools/test.py on a tiny tree."""

import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import geoconv_mm.models  # noqa: F401
from geoconv_mm.ops import collect_geo_specs
from tests.fixtures.paths import REPO_ROOT as ROOT
from tests.fixtures.tiny_config import write_tiny_config
from tests.fixtures.tiny_data import DISFA_AUS, make_tiny_au_tree

CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'intensity', '*.py'))
    + glob.glob(osp.join(ROOT, 'configs', 'geocnn-int*_synthau_demo.py'))
)


def test_there_are_the_promised_configs():
    names = {osp.basename(p) for p in CONFIGS}
    assert {
        'geocnn-int_disfa_fold1.py',
        'geocnn-int_disfa_fold2.py',
        'geocnn-int_disfa_fold3.py',
        'geocnn-int_bp4d-fera15.py',
        'geocnn-int_synthau_demo.py',
        'geocnn-int-g00000_synthau_demo.py',
    } <= names


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_heads_match_their_datasets(path):
    cfg = Config.fromfile(path)
    head = cfg.model.head
    assert head.type == 'AUOccurrenceIntensityHead'
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg[name].dataset
        assert dataset.with_intensity is True
        assert len(dataset.au_ids) == head.num_aus, name
    evaluators = {e['type'] for e in cfg.test_evaluator}
    assert evaluators == {'AUF1Metric', 'AUIntensityMetric'}


def test_fera2015_and_fold_configs():
    fera = Config.fromfile(
        osp.join(ROOT, 'configs/intensity/geocnn-int_bp4d-fera15.py')
    )
    assert fera.test_dataloader.dataset.protocol == 'fera2015'
    assert fera.test_dataloader.dataset.fold is None
    assert fera.train_dataloader.dataset.split == 'train'
    assert fera.test_dataloader.dataset.au_ids == [6, 10, 12, 14, 17]
    for k in (1, 2, 3):
        cfg = Config.fromfile(
            osp.join(ROOT, f'configs/intensity/geocnn-int_disfa_fold{k}.py')
        )
        for name in ('train_dataloader', 'test_dataloader'):
            assert cfg[name].dataset.fold == k


def test_demo_and_its_plain_twin_differ_only_in_geoconv():
    demo = Config.fromfile(
        osp.join(ROOT, 'configs/geocnn-int_synthau_demo.py')
    )
    plain = Config.fromfile(
        osp.join(ROOT, 'configs/geocnn-int-g00000_synthau_demo.py')
    )
    assert demo.model.backbone.aux_branch.geo_pattern == (1, 1, 1, 1, 1)
    assert plain.model.backbone.aux_branch.geo_pattern == (0, 0, 0, 0, 0)
    plain.model.backbone.aux_branch.geo_pattern = (1, 1, 1, 1, 1)
    assert plain.to_dict() == demo.to_dict()
    # the occurrence demo's data, schedule and seed
    quick = Config.fromfile(osp.join(ROOT, 'configs/geocnn_synthau_demo.py'))
    assert demo.train_cfg == quick.train_cfg
    assert demo.randomness == quick.randomness
    assert demo.model.backbone == quick.model.backbone


def test_demo_model_trains_and_predicts_both_outputs():
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(osp.join(ROOT, 'configs/geocnn-int_synthau_demo.py'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    size = 32
    specs = collect_geo_specs(model, (size, size))
    g = torch.Generator().manual_seed(0)
    samples = []
    for n in range(2):
        s = DataSample()
        s.set_field(torch.randint(0, 2, (15,), generator=g).float(), 'gt_au')
        s.set_field(torch.ones(15, dtype=torch.bool), 'au_mask')
        codes = torch.randint(0, 6, (15,), generator=g)
        codes[n] = 9
        s.set_field(codes, 'au_intensities')
        s.set_field(
            {
                sp.key: 0.5
                + torch.rand(
                    sp.num_taps, *sp.output_size((size, size)), generator=g
                )
                for sp in specs
            },
            'geo_weights',
        )
        samples.append(s)
    data = dict(
        inputs=[
            torch.randint(0, 256, (3, size, size), dtype=torch.uint8)
            for _ in range(2)
        ],
        data_samples=samples,
    )
    model.head.occurrence.loss_module.set_statistics([10] * 15, [3] * 15)
    losses = model(**model.data_preprocessor(data, True), mode='loss')
    assert set(losses) == {'loss_occurrence', 'loss_intensity'}
    sum(losses.values()).backward()
    assert model.backbone.aux_branch.layers[0].conv.weight.grad.abs().sum() > 0
    model.eval()
    preds = model(**model.data_preprocessor(data, False), mode='predict')
    for p in preds:
        assert p.pred_score.shape == (15,) and p.pred_intensity.shape == (15,)
        assert ((p.pred_intensity >= 0) & (p.pred_intensity <= 5)).all()


EXTRA = f'''
au_ids = {DISFA_AUS}
model = dict(
    backbone=dict(main_branch=dict(init_cfg=None)),
    head=dict(num_aus=len(au_ids)))
train_dataloader['dataset']['au_ids'] = au_ids
val_dataloader['dataset']['au_ids'] = au_ids
train_cfg = dict(max_epochs=1, val_interval=1)
param_scheduler = []
default_hooks = dict(logger=dict(interval=1))
'''


def test_disfa_intensity_config_trains_and_tests(tmp_path):
    # The tiny DISFA tree's 8 AUs (intensities 0 and 3) stand in for the 12.
    make_tiny_au_tree(str(tmp_path), 'DISFA', size=32, frames_per_subject=4)
    cfg = write_tiny_config(
        tmp_path,
        32,
        base='configs/intensity/geocnn-int_disfa_fold1.py',
        loader='batch_size=4, num_workers=0, persistent_workers=False',
        extra=EXTRA,
    )
    env = dict(os.environ, OMP_NUM_THREADS='1')
    work = str(tmp_path / 'work')
    for args in (
        ['tools/train.py', cfg, '--work-dir', work],
        [
            'tools/test.py',
            cfg,
            osp.join(work, 'epoch_1.pth'),
            '--work-dir',
            work,
        ],
    ):
        res = subprocess.run(
            [sys.executable, osp.join(ROOT, args[0]), *args[1:]],
            cwd=str(tmp_path),
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    logs = ''.join(
        open(p).read() for p in glob.glob(osp.join(work, '*', '*.log'))
    )
    assert 'loss_occurrence' in logs and 'loss_intensity' in logs
    with open(osp.join(work, 'test_metrics.json')) as f:
        metrics = json.load(f)['metrics']
    for name in ('AU1', 'AU26'):
        assert f'au_int/ICC_{name}' in metrics
        assert f'au/F1_{name}' in metrics
        assert 0 <= metrics[f'au_int/MAE_{name}'] <= 5
    assert 'AU intensity:' in res.stdout + res.stderr
