import glob
import os.path as osp

import pytest
from mmengine.config import Config

from tests.fixtures.paths import REPO_ROOT as ROOT

CONFIGS = sorted(
    osp.relpath(p, ROOT)
    for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p
)


@pytest.mark.parametrize('path', CONFIGS)
def test_config_loads(path):
    # A config that names a variable its base no longer defines fails here,
    # not at the start of a study run.
    cfg = Config.fromfile(osp.join(ROOT, path))
    assert 'model' in cfg and 'train_dataloader' in cfg


def test_off_surface_arms_keep_the_base_weights_transform():
    base = Config.fromfile(osp.join(ROOT, 'configs/geocnn_synthau_demo.py'))
    for rule in ('cap', 'zero'):
        cfg = Config.fromfile(
            osp.join(ROOT, f'configs/geocnn-offsurface-{rule}_synthau_demo.py')
        )
        for loader in ('train_dataloader', 'val_dataloader'):
            got = [
                t
                for t in cfg[loader].dataset.pipeline
                if t['type'] == 'GenerateGeodesicWeights'
            ]
            want = [
                dict(t, off_surface=rule)
                for t in base[loader].dataset.pipeline
                if t['type'] == 'GenerateGeodesicWeights'
            ]
            assert got == want
