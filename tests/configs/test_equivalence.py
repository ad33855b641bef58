"""Every config builds the model and the resolved data pipelines stored for
it (tests/fixtures/resolved_configs.py says how the expectations were made
and how to update them on purpose)."""

import json

import pytest

from tests.fixtures.resolved_configs import (
    STORED,
    cases,
    load,
    resolved,
    specs_of,
)


@pytest.fixture(scope='module')
def stored():
    with open(STORED) as fh:
        return json.load(fh)


def test_every_config_has_a_stored_expectation(stored):
    names = {name for name, _, _ in cases()}
    assert len(names) > 50
    assert sorted(names - set(stored)) == [], 'configs without expectation'
    assert sorted(set(stored) - names) == [], 'expectations without config'


def test_configs_build_their_stored_models_and_pipelines(stored):
    mismatches = []
    for name, path, fold in cases():
        now = resolved(load(path, fold))
        for key in sorted(set(now) | set(stored[name])):
            if now.get(key) != stored[name].get(key):
                mismatches.append(f'{name}: {key}')
    assert not mismatches, mismatches


def test_resolution_is_not_vacuous(stored):
    """G(00111) asks for exactly its three GeoConv layers' weights, VGG-19
    for none, and the stored pipelines compute exactly those."""
    g00111 = load('configs/ablations/geocnn-g00111_bp4d.py')
    assert sorted(specs_of(g00111)) == [
        'S16_k3x3_s1x1_p1x1_d1x1',
        'S4_k3x3_s1x1_p1x1_d1x1',
        'S8_k3x3_s1x1_p1x1_d1x1',
    ]
    assert specs_of(load('configs/ablations/vgg19_bp4d.py')) == []
    for name, geo in (
        (
            'configs/ablations/geocnn-g00111_bp4d.py@fold1',
            sorted(specs_of(g00111)),
        ),
        ('configs/ablations/vgg19_bp4d.py@fold2', None),
    ):
        steps = [
            t['specs']
            for t in stored[name]['train_dataloader']['dataset']['pipeline']
            if t['type'] == 'GenerateGeodesicWeights'
        ]
        assert steps == ([geo] if geo else [])
