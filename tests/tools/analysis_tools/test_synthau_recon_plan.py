"""The reconstructed-geometry study's committed plan, analysed end to end on
synthetic records of every planned run: the verdicts, the page's table and
the dose-response chart come out of the analysis the study's last step
runs, before any real result is looked at."""

import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest

from geoconv_mm.study.analysis import TOO_FEW_PAIRS
from geoconv_mm.study.plan import read_plan
from geoconv_mm.study.report import table_marks
from tests.fixtures.paths import REPO_ROOT
from tests.fixtures.study_records import balanced, write_run
from tests.fixtures.tools import load_tool

PLAN = osp.join(REPO_ROOT, 'docs', 'en', 'study', 'preregistration.md')
PAGE = osp.join(REPO_ROOT, 'docs', 'en', 'study', 'does_geoconv_help.md')
TOOL = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'synthau_experiment.py')
# True positives (of 100) each arm adds to plain's, per AU.
GAIN = {'plain': 0, 'geo_recon': 2, 'geo': 6, 'geo_recon_neutral': 0}


def _gain(arm: str) -> int:
    if arm.startswith('geo_noise'):
        return 5 - int(float(arm[len('geo_noise') : -len('mm')]))
    return GAIN[arm]


@pytest.fixture(scope='module')
def analysed(tmp_path_factory):
    plan = read_plan(PLAN)
    root = tmp_path_factory.mktemp('recon_plan')
    study = root / 'results' / plan.study
    study.mkdir(parents=True)
    rng = np.random.default_rng(0)
    (variant,) = plan.variants
    for name, arm in plan.arms.items():
        for seed, fold in arm.runs(variant):
            # A run's level depends on its seed and fold (shared by the
            # arms), plus noise of its own.
            base = 50 + 3 * seed + 4 * fold
            tps = [
                base + _gain(name) + int(rng.integers(-2, 3)) for _ in range(2)
            ]
            write_run(
                str(study),
                name,
                seed,
                balanced(*tps),
                fold=fold,
                variant=variant,
            )
    page = root / 'page.md'
    shutil.copy(PAGE, page)
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, OMP_NUM_THREADS='1')
    argv = [sys.executable, TOOL, '--plan', PLAN, '--analyse-only']
    argv += ['--results-dir', str(root / 'results'), '--page', str(page)]
    proc = subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((study / 'summary.json').read_text())
    return plan, study, page, summary


def test_every_comparison_has_its_verdict(analysed):
    plan, _, _, summary = analysed
    ((variant, v),) = summary['variants'].items()
    assert variant == plan.variants[0]
    comparisons = v['comparisons']
    assert set(comparisons) == {
        f'{a} - {b}' for a, b in (plan.primary, *plan.secondary)
    }
    primary = comparisons[' - '.join(plan.primary)]
    assert primary['n_pairs'] == primary['planned_pairs'] == 30
    assert sorted(primary['by_fold']) == ['1', '2', '3']
    assert primary['diff'] == pytest.approx(2, abs=0.5)
    for c in comparisons.values():
        assert c['n_pairs'] == c['planned_pairs']
        assert c['verdict'] != TOO_FEW_PAIRS
        lo, hi = c['interval']
        assert lo < c['diff'] < hi


def test_the_page_gets_the_table(analysed):
    plan, study, page, _ = analysed
    begin, end = table_marks(plan.study)
    text = page.read_text()
    table = text[text.index(begin) : text.index(end)]
    assert table.count('\n|') > 5
    assert table in (study / 'summary.md').read_text()
    assert (study / 'intervals.png').stat().st_size > 0


def test_the_dose_response_reads_the_summary(analysed, tmp_path):
    _, study, _, summary = analysed
    tool = load_tool('tools/analysis_tools/reconstruction_error.py')
    noise = tool.noise_sizes()
    q = dict(
        noise_mm=noise,
        vertex_error_mm={
            'recon': [3.0, 4.0, 5.0],
            **{
                f'noise{mm:g}mm': [0.7 * mm, 0.8 * mm, 0.9 * mm]
                for mm in noise
            },
        },
    )
    out = tool.plot_dose_response(q, str(study), str(tmp_path / 'd.png'))
    labels = [p['label'] for p in out['points']]
    assert labels == ['ground truth'] + [f'+{mm:g} mm noise' for mm in noise]
    (v,) = summary['variants'].values()
    fold1 = v['comparisons']['geo - plain']['by_fold']['1']
    assert out['points'][0]['diff'] == fold1['diff']
