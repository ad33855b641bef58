"""Every config loads and builds; every distinct model trains one step on a
tiny batch whose geodesic weights come from the config's own pipeline (the real
transforms)."""

import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, default_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS, MODELS

import geoconv_mm.datasets  # noqa: F401
import geoconv_mm.engine  # noqa: F401
import geoconv_mm.evaluation  # noqa: F401
import geoconv_mm.models  # noqa: F401
from geoconv_mm.datasets.transforms import (
    GenerateGeodesicWeights,
    fill_geo_specs,
)
from geoconv_mm.engine import find_au_statistics
from geoconv_mm.ops import GeoConv2d, collect_geo_specs, model_geo_specs
from geoconv_mm.utils import set_fold
from tests.fixtures.paths import REPO_ROOT as ROOT
from tests.fixtures.tiny_data import make_tiny_au_tree, shrink_pipeline

CONFIGS = sorted(
    osp.relpath(p, ROOT)
    for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p
)
# The BP4D/DISFA occurrence configs at fold 1: one config per model serves
# every fold (--fold); the named GeoCNN configs also exist for folds 2 and 3.
# The SynthAU demos and the intensity configs
# (tests/models/test_intensity_configs.py) have tests of their own.
FOLD1 = [
    c
    for c in CONFIGS
    if not c.endswith(('_fold2.py', '_fold3.py', '_demo.py'))
    and not c.startswith('configs/intensity/')
]
SIZE = 32
PAPER_VARIANTS = [
    'vgg19',
    'geocnn-g00000',
    'geocnn-g10000',
    'geocnn-g00001',
    'geocnn-g11100',
    'geocnn-g00111',
    'geocnn-wo-hc',
    'geocnn-wo-bw',
    'geo19',
    'vgg19s',
    'geo19s',
    'deeptb',
    'rgbd',
    'rgbdtb',
]


def load(path):
    init_default_scope('mmpretrain')
    return Config.fromfile(osp.join(ROOT, path))


def geo_transforms(cfg, model, size=SIZE):
    """The config's GenerateGeodesicWeights steps that compute weights for
    ``model``, resolved as GeoSpecsHook resolves them."""
    specs = model_geo_specs(model, size)
    found = []
    for loader in ('train_dataloader', 'test_dataloader'):
        pipeline = Compose(copy.deepcopy(cfg[loader].dataset.pipeline))
        fill_geo_specs(pipeline, specs)
        found += [
            t
            for t in pipeline.transforms
            if isinstance(t, GenerateGeodesicWeights) and t.specs
        ]
    return found


def test_every_paper_variant_serves_three_folds():
    names = {osp.basename(c) for c in CONFIGS}
    for variant in PAPER_VARIANTS:
        path = f'configs/ablations/{variant}_bp4d.py'
        assert osp.basename(path) in names
        for k in (1, 2, 3):
            cfg = set_fold(load(path), k)
            for loader in (
                'train_dataloader',
                'val_dataloader',
                'test_dataloader',
            ):
                assert cfg[loader].dataset.fold == k
    for dataset in ('bp4d', 'disfa'):
        for k in (1, 2, 3):
            assert f'geocnn_{dataset}_fold{k}.py' in names


@pytest.mark.parametrize(
    'path', [c for c in CONFIGS if c.endswith(('_fold2.py', '_fold3.py'))]
)
def test_other_folds_differ_from_fold1_only_in_the_fold(path):
    k = int(path[-4])
    cfg, ref = load(path), load(path.replace(f'_fold{k}.py', '_fold1.py'))
    assert cfg.to_dict() == set_fold(copy.deepcopy(ref), k).to_dict()
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[name].dataset.fold == k
        cfg[name].dataset.fold = 1
    assert cfg.to_dict() == ref.to_dict()


def test_set_fold_rejects_a_fold_outside_the_protocol():
    with pytest.raises(ValueError, match='fold must be 1, 2 or 3'):
        set_fold(load('configs/geocnn_bp4d_fold1.py'), 4)


@pytest.fixture(scope='module')
def tiny_roots(tmp_path_factory):
    roots = {}
    for dataset in ('BP4D', 'DISFA'):
        root = str(tmp_path_factory.mktemp(dataset.lower()))
        make_tiny_au_tree(root, dataset, size=SIZE, frames_per_subject=2)
        roots[dataset] = root
    return roots


def check_pipeline_matches_model(cfg, model, path):
    """GeoConv models get exactly the specs they need (no missing, no wasted
    ones); models without GeoConv get no geodesic weights at all."""
    transforms = geo_transforms(cfg, model)
    if not any(isinstance(m, GeoConv2d) for m in model.modules()):
        assert not transforms, (
            'a model without GeoConv should not compute weights'
        )
        return
    needed = {s.key for s in collect_geo_specs(model, (SIZE, SIZE))}
    assert len(transforms) == 2
    for t in transforms:
        assert {s.key for s in t.specs} == needed
        assert t.hierarchy_compensation == ('wo-hc' not in path)


@pytest.mark.parametrize('path', FOLD1)
def test_config_builds_and_trains_one_step_through_its_pipeline(
    path, tiny_roots
):
    torch.manual_seed(0)
    cfg = load(path)
    model = MODELS.build(copy.deepcopy(cfg.model))
    is_disfa = cfg.train_dataloader.dataset.type == 'DISFADataset'
    assert cfg.model.head.num_aus == (8 if is_disfa else 12)
    check_pipeline_matches_model(cfg, model, path)

    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    ds_cfg.data_root = tiny_roots['DISFA' if is_disfa else 'BP4D']
    ds_cfg.pipeline = shrink_pipeline(ds_cfg.pipeline, SIZE)
    dataset = DATASETS.build(ds_cfg)
    fill_geo_specs(dataset, model_geo_specs(model, SIZE))
    stats = find_au_statistics(dataset)
    model.head.loss_module.set_statistics(
        stats['num_known'], stats['num_positive']
    )
    batch = model.data_preprocessor(
        default_collate([dataset[0], dataset[1]]), True
    )
    assert batch['inputs'].shape[-2:] == (SIZE, SIZE)
    assert (batch['geo_weights'] is not None) == bool(
        geo_transforms(cfg, model)
    )
    loss = model(**batch, mode='loss')['loss']
    assert torch.isfinite(loss)
    loss.backward()
    no_grad = [
        n
        for n, p in model.named_parameters()
        if p.requires_grad and p.grad is None
    ]
    assert not no_grad, f'parameters outside the graph: {no_grad[:5]}'


def test_recipe_learning_rates():
    cfg = load('configs/geocnn_bp4d_fold1.py')
    model = MODELS.build(cfg.model)
    optim = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    assert isinstance(optim, torch.optim.SGD)
    lrs = {}
    names = {id(p): n for n, p in model.named_parameters()}
    for group in optim.param_groups:
        assert group['momentum'] == 0.9 and group['nesterov'] is True
        assert group['weight_decay'] == pytest.approx(5e-4)
        for p in group['params']:
            lrs[names[id(p)]] = group['lr']
    for name, lr in lrs.items():
        expected = (
            0.001 if name.startswith('backbone.main_branch.') else 0.0005
        )
        assert lr == pytest.approx(expected), name
    assert cfg.train_cfg.max_epochs == 14
    sched = cfg.param_scheduler[0]
    assert sched.type == 'CosineAnnealingLR' and sched.T_max == 14
