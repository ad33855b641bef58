"""The SynthAU configs: the demo's GeoConv layers get exactly the weights they
need, the G(00000) and RGB-D variants differ from it only where they should."""

import os.path as osp

import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

import geoconv_mm.datasets  # noqa: F401
import geoconv_mm.datasets.synthau  # noqa: F401
import geoconv_mm.models  # noqa: F401
from geoconv_mm.datasets.transforms import (
    GenerateGeodesicWeights,
    fill_geo_specs,
)
from geoconv_mm.ops import GeoConv2d, collect_geo_specs, model_geo_specs
from tests.fixtures.paths import REPO_ROOT as ROOT


def load(name):
    init_default_scope('mmpretrain')
    return Config.fromfile(osp.join(ROOT, 'configs', name))


def transforms(cfg, kind):
    return [
        t
        for loader in ('train_dataloader', 'val_dataloader')
        for t in cfg[loader].dataset.pipeline
        if t['type'] == kind
    ]


def geo_transforms(cfg, model):
    """GenerateGeodesicWeights steps that compute weights for ``model``, with
    specs resolved as GeoSpecsHook resolves them."""
    size = cfg.synthau.image_size
    found = []
    for loader in ('train_dataloader', 'val_dataloader'):
        pipeline = Compose(cfg[loader].dataset.pipeline)
        fill_geo_specs(pipeline, model_geo_specs(model, size))
        found += [
            t
            for t in pipeline.transforms
            if isinstance(t, GenerateGeodesicWeights) and t.specs
        ]
    return found


def test_demo_lists_exactly_the_specs_of_its_geoconv_layers():
    cfg = load('geocnn_synthau_demo.py')
    model = MODELS.build(cfg.model)
    size = cfg.synthau.image_size
    needed = {s.key for s in collect_geo_specs(model, (size, size))}
    geo = geo_transforms(cfg, model)
    assert len(geo) == 2 and all(
        {s.key for s in t.specs} == needed for t in geo
    )
    assert cfg.model.head.num_aus == len(cfg.au_ids) == 15
    assert cfg.train_dataloader.dataset.split == 'train'
    assert cfg.val_dataloader.dataset.split == 'test'


def test_plain_variant_is_the_same_network_without_geoconv():
    geo, plain = (
        load('geocnn_synthau_demo.py'),
        load('geocnn-g00000_synthau_demo.py'),
    )
    m_geo, m_plain = MODELS.build(geo.model), MODELS.build(plain.model)
    assert any(isinstance(m, GeoConv2d) for m in m_geo.modules())
    assert not any(isinstance(m, GeoConv2d) for m in m_plain.modules())
    assert not geo_transforms(plain, m_plain)
    shapes = {n: p.shape for n, p in m_geo.named_parameters()}
    assert shapes == {n: p.shape for n, p in m_plain.named_parameters()}
    for name in ('optim_wrapper', 'param_scheduler', 'train_cfg', 'synthau'):
        assert geo[name] == plain[name]


def test_rgbd_diagnostic_feeds_depth_as_a_fourth_channel():
    cfg = load('rgbd-g00000_synthau_demo.py')
    model = MODELS.build(cfg.model)
    assert not any(isinstance(m, GeoConv2d) for m in model.modules())
    depth = transforms(cfg, 'RenderDepth')
    assert len(depth) == 2 and all(t['mode'] == 'channel' for t in depth)
    out = model.backbone(torch.zeros(2, 4, 112, 112))
    assert [tuple(o.shape) for o in out] == [(2, 128, 3, 3), (2, 128, 3, 3)]
