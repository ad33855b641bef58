"""The configs that derive geodesic specs from the model (specs='auto') and
serve every fold from one file (--fold) give the same models and the same
resolved data pipelines as the hand-written configs of commit e12378b."""

import copy
import glob
import io
import json
import os.path as osp
import re
import subprocess
import tarfile

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

import geoconv_mm  # noqa: F401
from geoconv_mm.ops import GeoSpec, model_geo_specs
from geoconv_mm.utils import set_fold
from tests.fixtures.paths import REPO_ROOT as ROOT

OLD_COMMIT = 'e12378b'
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
# The old RGB-D demo computed five specs' weights for a model without GeoConv
# (its pipeline came from a base that still had the step); nothing read them.
WASTED_WEIGHTS = {'configs/rgbd-g00000_synthau_demo.py'}
# The SynthAU demo's schedule was shortened since (9 epochs, not 12): the
# model and the data are what must not have moved.
SCHEDULE = ('max_epochs', 'param_scheduler', 'train_cfg')
TRANSFORM_DEFAULTS = dict(
    hierarchy_compensation=True, backend='fast', close_holes=False
)


@pytest.fixture(scope='module')
def old_root(tmp_path_factory):
    try:
        tar = subprocess.run(
            ['git', '-C', ROOT, 'archive', OLD_COMMIT, 'configs'],
            check=True,
            capture_output=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f'the configs of {OLD_COMMIT} are not in git here: {exc}')
    root = tmp_path_factory.mktemp('old')
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(root)
    return str(root)


def old_configs(root):
    return sorted(
        osp.relpath(p, root)
        for p in glob.glob(
            osp.join(root, 'configs', '**', '*.py'), recursive=True
        )
        if '_base_' not in p
    )


def new_counterpart(old_path):
    """(new config, fold to set) of an old config: ablations and extensions
    lost their per-fold copies."""
    if old_path.startswith(('configs/ablations/', 'configs/extensions/')):
        m = re.match(r'(.*)_fold(\d)\.py$', old_path)
        return m.group(1) + '.py', int(m.group(2))
    return old_path, None


def load(path):
    init_default_scope('mmpretrain')
    return Config.fromfile(path)


def resolve_pipeline(pipeline, model_specs):
    """The pipeline as it runs: specs resolved, defaults spelled out, no-op
    geodesic steps (no spec to compute) dropped."""
    out = []
    for t in pipeline:
        t = copy.deepcopy(dict(t))
        if t['type'] == 'GenerateGeodesicWeights':
            specs = t.get('specs', 'auto')
            specs = model_specs if specs == 'auto' else specs
            keys = sorted(
                GeoSpec.from_key(s).key if isinstance(s, str) else s.key
                for s in specs
            )
            if not keys:
                continue
            t = dict(TRANSFORM_DEFAULTS, **t)
            t['specs'] = keys
        out.append(t)
    return out


def resolved(cfg, model_specs):
    """What a run uses: model, loaders with resolved pipelines, the rest.
    Pipeline variables and private names are config-file scaffolding."""
    d = copy.deepcopy(cfg.to_dict())
    for name in LOADERS:
        if d.get(name):
            d[name]['dataset']['pipeline'] = resolve_pipeline(
                d[name]['dataset']['pipeline'], model_specs
            )
    for name in list(d):
        if name.startswith('_') or name in (
            'train_pipeline',
            'test_pipeline',
            'geo_specs',
            'geo_weights',
        ):
            del d[name]
    # Registration, the spec hook and the thread count are how a run is set
    # up on its host, not what it computes.
    d.pop('custom_imports', None)
    d['custom_hooks'] = [
        h
        for h in d.get('custom_hooks', [])
        if h['type'] not in ('GeoSpecsHook', 'TorchThreadsHook')
    ]
    return d


_SPECS = {}

# Configs with no ancestor at the reference commit: the SynthAU study's arms.
ADDED = {
    'configs/geocnn-neutral_synthau_demo.py',
    'configs/geocnn-temperature_synthau_demo.py',
    'configs/geocnn-offsurface-zero_synthau_demo.py',
    'configs/geocnn-offsurface-cap_synthau_demo.py',
}


def specs_of(cfg):
    key = json.dumps(cfg.model.to_dict(), sort_keys=True, default=str)
    if key not in _SPECS:
        model = MODELS.build(copy.deepcopy(cfg.model))
        _SPECS[key] = [
            s.key for s in model_geo_specs(model, cfg.get('image_size', 224))
        ]
    return _SPECS[key]


def test_every_old_config_has_a_counterpart_and_every_new_one_an_ancestor(
    old_root,
):
    old = old_configs(old_root)
    assert len(old) > 50
    counterparts = {new_counterpart(p)[0] for p in old}
    new = {
        osp.relpath(p, ROOT)
        for p in glob.glob(
            osp.join(ROOT, 'configs', '**', '*.py'), recursive=True
        )
        if '_base_' not in p
    }
    assert counterparts.isdisjoint(ADDED)
    assert counterparts | ADDED == new


def test_new_configs_build_the_old_models_and_pipelines(old_root):
    mismatches = []
    for old_path in old_configs(old_root):
        new_path, fold = new_counterpart(old_path)
        old = load(osp.join(old_root, old_path))
        new = load(osp.join(ROOT, new_path))
        if fold is not None:
            set_fold(new, fold)
        if new.model.to_dict() != old.model.to_dict():
            mismatches.append(f'{old_path}: model')
            continue
        specs = specs_of(new)
        a, b = resolved(old, specs), resolved(new, specs)
        if old_path in WASTED_WEIGHTS:
            assert specs == []
            for name in LOADERS:
                pipeline = a[name]['dataset']['pipeline']
                geo = [
                    t
                    for t in pipeline
                    if t['type'] == 'GenerateGeodesicWeights'
                ]
                assert len(geo) == 1 and geo[0]['specs'], old_path
                pipeline.remove(geo[0])
        for name in sorted(set(a) | set(b)):
            if 'synthau_demo' in old_path and name in SCHEDULE:
                continue
            if a.get(name) != b.get(name):
                mismatches.append(f'{old_path}: {name}')
    assert not mismatches, mismatches


def test_resolution_is_not_vacuous(old_root):
    """The old G(00111) config listed three specs: resolution from the new
    config's model must give exactly those, and VGG-19 none."""
    g00111 = load(osp.join(ROOT, 'configs/ablations/geocnn-g00111_bp4d.py'))
    assert sorted(specs_of(g00111)) == sorted(
        [
            'S4_k3x3_s1x1_p1x1_d1x1',
            'S8_k3x3_s1x1_p1x1_d1x1',
            'S16_k3x3_s1x1_p1x1_d1x1',
        ]
    )
    vgg = load(osp.join(ROOT, 'configs/ablations/vgg19_bp4d.py'))
    assert specs_of(vgg) == []
    old = load(
        osp.join(old_root, 'configs/ablations/geocnn-g00111_bp4d_fold1.py')
    )
    a = resolved(old, [])['train_dataloader']['dataset']['pipeline']
    assert [
        t['specs'] for t in a if t['type'] == 'GenerateGeodesicWeights'
    ] == [sorted(specs_of(g00111))]
