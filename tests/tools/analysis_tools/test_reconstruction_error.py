"""The reconstruction-quality tool: the study's noise sizes read from the
configs, every measure on a tiny SynthAU build with MediaPipe's meshes, its
tables, and the dose-response chart from a hand-made study summary."""

import json
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from geoconv_mm.datasets.synthau import SynthAUSpec, generate_synthau
from geoconv_mm.ops import collect_geo_specs
from tests.fixtures.paths import REPO_ROOT
from tests.fixtures.tools import load_tool

TOOL = 'tools/analysis_tools/reconstruction_error.py'
CONFIG = osp.join(REPO_ROOT, 'configs', 'geocnn-recon_synthau_demo.py')


@pytest.fixture(scope='module')
def tool():
    return load_tool(TOOL)


def test_noise_sizes_are_the_noise_arms(tool):
    """The sizes the tool measures are those the study's noise configs
    train with."""
    sizes = tool.noise_sizes()
    assert sizes == sorted(sizes) and len(sizes) >= 2
    for mm in sizes:
        path = osp.join(
            REPO_ROOT, 'configs', f'geocnn-meshnoise-{mm:g}mm_synthau_demo.py'
        )
        steps = Config.fromfile(path).test_dataloader.dataset.pipeline
        (noise,) = [s for s in steps if s['type'] == 'PerturbFaceSurface']
        assert noise['rms_mm'] == mm


@pytest.fixture(scope='module')
def quality(tool, tmp_path_factory):
    pytest.importorskip('mediapipe')
    spec = SynthAUSpec(
        seed=5,
        num_subjects=3,
        images_per_subject=2,
        image_size=112,
        reconstruct=True,
    )
    build = generate_synthau(str(tmp_path_factory.mktemp('synthau')), spec)
    with open(osp.join(build, 'annotations', 'synthau.json')) as fh:
        entries = json.load(fh)['data_list']
    init_default_scope('mmpretrain')
    model = MODELS.build(Config.fromfile(CONFIG).model)
    specs = collect_geo_specs(model, (112, 112))
    return (
        tool.measure(build, entries, specs, [1.0, 4.0]),
        build,
        entries,
        specs,
    )


def test_measures_of_a_tiny_build(quality):
    q, _, entries, specs = quality
    assert q['frames'] == len(entries) >= 4
    assert q['noise_mm'] == [1.0, 4.0]
    ve = q['vertex_error_mm']
    assert set(ve) == {'recon', 'recon_neutral', 'noise1mm', 'noise4mm'}
    for lo, mid, hi in ve.values():
        assert 0 < lo <= mid <= hi
    # MediaPipe's mesh is the same face, millimetres off; the similarity
    # alignment takes out part of the smooth noise, never adds to it.
    assert 0.5 < ve['recon'][1] < 15
    assert 0 < ve['noise1mm'][1] < ve['noise4mm'][1] <= 4.0
    assert ve['noise4mm'][1] > 1.5
    disp = q['displacement']['all']
    assert disp['cosine']['frames'] == len(entries)
    assert -1 <= disp['cosine']['mean'] <= 1
    keys = [s.key for s in specs]
    assert q['layers'] == keys
    for k in keys:
        w = q['weights'][f'all|{k}']
        assert set(w) == {
            'au_in_truth',
            'au_in_recon',
            'recon_error',
            'noise1mm_error',
            'noise4mm_error',
        }
        assert w['recon_error'] > 0 and w['au_in_truth'] >= 0
        assert w['noise1mm_error'] < w['noise4mm_error']


def test_markdown_has_a_row_per_mesh_and_layer(tool, quality):
    q, _, _, specs = quality
    text = tool.markdown(q)
    assert (
        f'# MediaPipe against the ground truth, {q["frames"]} frames' in text
    )
    assert '| noise4mm |' in text and '| recon_neutral |' in text
    assert '| noise 1 mm | noise 4 mm |' in text
    rows = [line for line in text.splitlines() if line.startswith('| all |')]
    assert len(rows) == len(specs)


def _comparison(diff, interval, by_fold=None):
    return dict(diff=diff, interval=interval, by_fold=by_fold or {})


def test_dose_response_points(tool, tmp_path):
    """The ground truth's fold-1 gain at 0 mm, each noise arm at its
    median vertex error, the reconstruction apart; a chart is written."""
    q = dict(
        noise_mm=[1.0, 4.0],
        vertex_error_mm={
            'recon': [3.0, 4.0, 5.0],
            'noise1mm': [0.7, 0.8, 0.9],
            'noise4mm': [2.9, 3.1, 3.3],
        },
    )
    comparisons = {
        'geo - plain': _comparison(
            5.0, [2.0, 8.0], {'1': dict(diff=6.0, interval=[1.0, 11.0])}
        ),
        'geo_noise1mm - plain': _comparison(4.0, [0.5, 7.5]),
        'geo_noise4mm - plain': _comparison(1.0, [-2.0, 4.0]),
        'geo_recon - plain': _comparison(
            0.5, [-1.0, 2.0], {'1': dict(diff=0.2, interval=[-3.0, 3.4])}
        ),
    }
    study = tmp_path / 'study'
    study.mkdir()
    (study / 'summary.json').write_text(
        json.dumps(dict(variants=dict(recon=dict(comparisons=comparisons))))
    )
    png = tmp_path / 'dose_response.png'
    out = tool.plot_dose_response(q, str(study), str(png))
    assert [
        (p['label'], p['vertex_error_mm'], p['diff'], p['interval'])
        for p in out['points']
    ] == [
        ('ground truth', 0.0, 6.0, [1.0, 11.0]),
        ('+1 mm noise', 0.8, 4.0, [0.5, 7.5]),
        ('+4 mm noise', 3.1, 1.0, [-2.0, 4.0]),
    ]
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert not list(tmp_path.glob('*.tmp*'))


def test_errors_recomputed_by_hand(quality):
    """The first layer's reconstruction error (mean over frames and entries
    of the squared weight difference) and the per-AU frame counts, from the
    build's meshes and labels."""
    from geoconv_mm.datasets.synthau import SYNTHAU_AU_IDS, mesh_path
    from geoconv_mm.geodesic import FaceSurface, compute_geodesic_weights

    q, build, entries, specs = quality
    key = specs[0].key
    squares = []
    for d in entries:
        geo = osp.join(build, d['geo_path'])
        w = {
            m: compute_geodesic_weights(
                FaceSurface.load(mesh_path(geo, m)), specs[:1]
            )[key]
            for m in ('gt', 'recon')
        }
        squares.append((np.asarray(w['recon']) - np.asarray(w['gt'])) ** 2)
    want = float(np.mean(squares))
    assert q['weights'][f'all|{key}']['recon_error'] == pytest.approx(want)
    for au, frames in zip(
        SYNTHAU_AU_IDS, np.sum([d['au_labels'] for d in entries], axis=0)
    ):
        got = q['displacement'].get(str(au), {}).get('cosine', {})
        assert got.get('frames', 0) == frames
