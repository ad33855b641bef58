"""GeoSpecsHook / fill_geo_specs: the data pipelines compute the weights of
exactly the model's GeoConv layers."""

import logging
from types import SimpleNamespace

import numpy as np
import pytest
import torch.nn as nn
from mmengine.dataset import BaseDataset, Compose, ConcatDataset, RepeatDataset
from mmengine.registry import init_default_scope
from mmpretrain.registry import HOOKS, MODELS

import geoconv_mm  # noqa: F401
from geoconv_mm.datasets.transforms import (
    GenerateGeodesicWeights,
    fill_geo_specs,
)
from geoconv_mm.geodesic import FaceSurface
from geoconv_mm.ops import model_geo_specs

BRANCH = dict(type='GeoBranch', channels=(4, 4, 8, 8, 8))


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    init_default_scope('mmpretrain')


def branch_model(pattern, in_channels=3):
    """A GeoBranch with a data preprocessor normalising ``in_channels``."""
    model = nn.Module()
    model.branch = MODELS.build(
        dict(BRANCH, geo_pattern=pattern, in_channels=in_channels)
    )
    model.data_preprocessor = MODELS.build(
        dict(
            type='AUDataPreprocessor',
            mean=[0.0] * in_channels,
            std=[1.0] * in_channels,
        )
    )
    model.extract_feat = model.branch
    return model


def list_dataset(pipeline):
    """A dataset without annotations: only its pipeline matters here."""
    return BaseDataset(pipeline=pipeline, lazy_init=True)


def flat_sample(size=16):
    v = np.array(
        [
            [-0.5, -0.5, 3],
            [size - 0.5, -0.5, 3],
            [-0.5, size - 0.5, 3],
            [size - 0.5, size - 0.5, 3],
        ]
    )
    surface = FaceSurface(v, np.array([[0, 1, 2], [1, 3, 2]]), (size, size))
    return dict(img=np.zeros((size, size, 3), np.uint8), face_surface=surface)


def test_model_geo_specs_lists_the_geoconv_layers_only():
    keys = [s.key for s in model_geo_specs(branch_model('00101'), 64)]
    assert keys == ['S4_k3x3_s1x1_p1x1_d1x1', 'S16_k3x3_s1x1_p1x1_d1x1']
    assert model_geo_specs(branch_model('00000'), 64) == []
    # 4-channel input (RGB-D): the dummy forward follows the preprocessor.
    keys = [s.key for s in model_geo_specs(branch_model('10000', 4), 64)]
    assert keys == ['S1_k3x3_s1x1_p1x1_d1x1']


def test_auto_transform_refuses_to_run_unresolved_and_is_a_noop_when_empty():
    gen = GenerateGeodesicWeights()
    with pytest.raises(RuntimeError, match='GeoSpecsHook'):
        gen(flat_sample())
    gen.set_specs([])
    out = gen(flat_sample())
    assert 'geo_weights' not in out
    gen.set_specs(['S2_k3x3_s1x1_p1x1_d1x1'])
    out = gen(flat_sample())
    assert out['geo_weights']['S2_k3x3_s1x1_p1x1_d1x1'].shape == (9, 8, 8)
    with pytest.raises(ValueError, match='at least one spec'):
        GenerateGeodesicWeights([])


def test_fill_reaches_through_dataset_wrappers_and_checks_explicit_specs():
    auto = [dict(type='GenerateGeodesicWeights')]
    inner = [list_dataset(auto) for _ in range(3)]
    concat = ConcatDataset(inner[:2], lazy_init=True)
    repeat = RepeatDataset(inner[2], times=2, lazy_init=True)
    specs = model_geo_specs(branch_model('01000'), 32)
    assert fill_geo_specs(concat, specs) == 2
    assert fill_geo_specs(repeat, specs) == 1
    for d in inner:
        assert [s.key for s in d.pipeline.transforms[0].specs] == [
            'S2_k3x3_s1x1_p1x1_d1x1'
        ]
    explicit = Compose(
        [
            dict(
                type='GenerateGeodesicWeights',
                specs=['S1_k3x3_s1x1_p1x1_d1x1'],
            )
        ]
    )
    with pytest.raises(ValueError, match='S2_k3x3_s1x1_p1x1_d1x1'):
        fill_geo_specs(explicit, specs)
    assert explicit.transforms[0].specs[0].key == 'S1_k3x3_s1x1_p1x1_d1x1'


@pytest.mark.parametrize('stage', ['train', 'val', 'test'])
def test_hook_fills_the_loop_dataloader_before_it_runs(stage):
    dataset = list_dataset([dict(type='GenerateGeodesicWeights')])
    loop = SimpleNamespace(dataloader=SimpleNamespace(dataset=dataset))
    runner = SimpleNamespace(
        model=branch_model('00011'),
        cfg=dict(image_size=64),
        logger=logging.getLogger('test'),
        **{f'{stage}_loop': loop},
    )
    hook = HOOKS.build(dict(type='GeoSpecsHook'))
    getattr(hook, f'before_{stage}')(runner)
    assert [s.key for s in dataset.pipeline.transforms[0].specs] == [
        'S8_k3x3_s1x1_p1x1_d1x1',
        'S16_k3x3_s1x1_p1x1_d1x1',
    ]
