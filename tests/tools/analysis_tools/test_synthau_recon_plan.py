"""The reconstructed-geometry study's committed plan and its completion,
analysed end to end on synthetic records of every planned run: the verdicts,
the page's table and the dose-response chart come out of the analysis the
study's last step runs, before any real result is looked at."""

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
from geoconv_mm.study.records import run_name
from geoconv_mm.study.report import table_marks
from tests.fixtures.paths import REPO_ROOT
from tests.fixtures.study_records import balanced, write_run
from tests.fixtures.tools import load_tool

PLAN = osp.join(REPO_ROOT, 'docs', 'en', 'study', 'preregistration.md')
COMPLETION = osp.join(REPO_ROOT, 'docs', 'en', 'study', 'completion.md')
PAGE = osp.join(REPO_ROOT, 'docs', 'en', 'study', 'does_geoconv_help.md')
TOOL = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'synthau_experiment.py')
# True positives (of 100) each arm adds to plain's, per AU.
GAIN = {'plain': 0, 'geo_recon': 2, 'geo': 6, 'geo_recon_neutral': 0}


def _gain(arm: str) -> int:
    if arm.startswith('geo_noise'):
        return 5 - int(float(arm[len('geo_noise') : -len('mm')]))
    return GAIN[arm]


def _write_runs(folder, runs, rng, host=None):
    """Synthetic records of (arm, variant, seed, fold) runs: a run's level
    depends on its seed and fold (shared by the arms), plus its arm's gain
    and noise of its own."""
    folder.mkdir(parents=True)
    for name, variant, seed, fold in runs:
        base = 50 + 3 * seed + 4 * fold
        tps = [base + _gain(name) + int(rng.integers(-2, 3)) for _ in range(2)]
        write_run(
            str(folder),
            name,
            seed,
            balanced(*tps),
            fold=fold,
            variant=variant,
            host=host,
        )


def _analyse(plan_page, root, page=None):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, OMP_NUM_THREADS='1')
    argv = [sys.executable, TOOL, '--plan', plan_page, '--analyse-only']
    argv += ['--results-dir', str(root / 'results')]
    argv += ['--page', str(page)] if page else []
    proc = subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def _recorded_runs(plan):
    """The runs the committed records of the study hold (file names only)."""
    folder = osp.join(REPO_ROOT, 'docs', 'results', plan.study)
    names = {f[: -len('.json')] for f in os.listdir(folder)}
    return {j for j in plan.jobs() if run_name(*j) in names}


@pytest.fixture(scope='module')
def analysed(tmp_path_factory):
    plan = read_plan(PLAN)
    root = tmp_path_factory.mktemp('recon_plan')
    study = root / 'results' / plan.study
    _write_runs(study, plan.jobs(), np.random.default_rng(0))
    _analyse(PLAN, root)
    summary = json.loads((study / 'summary.json').read_text())
    return plan, study, summary


@pytest.fixture(scope='module')
def completed(tmp_path_factory):
    """The study's committed runs on one machine, the completion's on
    another, and the page's table from their analysis."""
    plan = read_plan(COMPLETION)
    root = tmp_path_factory.mktemp('recon_completion')
    rng = np.random.default_rng(1)
    _write_runs(
        root / 'results' / plan.completes.study,
        sorted(_recorded_runs(plan.completes)),
        rng,
        host=dict(cpu='CPU A', cpu_capability='AVX2', torch='2.0'),
    )
    folder = root / 'results' / plan.study
    _write_runs(
        folder,
        plan.jobs(),
        rng,
        host=dict(cpu='CPU B', cpu_capability='AVX512', torch='2.0'),
    )
    page = root / 'page.md'
    shutil.copy(PAGE, page)
    _analyse(COMPLETION, root, page)
    summary = json.loads((folder / 'summary.json').read_text())
    return plan, folder, page, summary


def test_the_completion_runs_both_runs_of_every_missing_pair():
    """Derived from the committed records: every pair the study lacks, and
    nothing else, is the completion's to run."""
    plan = read_plan(COMPLETION)
    study = plan.completes
    held = {(a, v, s, f) for a, v, s, f in _recorded_runs(study)}
    needed = set()
    for a, b in study.comparisons:
        for v in study.variants:
            for s, f in study.planned_pairs(a, b, v):
                if not {(a, v, s, f), (b, v, s, f)} <= held:
                    needed |= {(a, v, s, f), (b, v, s, f)}
    assert set(plan.jobs()) == needed
    assert len(needed) == len(plan.jobs())


def test_every_comparison_has_its_verdict(analysed):
    plan, _, summary = analysed
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


def test_the_completed_study_has_every_verdict(completed):
    plan, _, _, summary = completed
    ((_, v),) = summary['variants'].items()
    comparisons = v['comparisons']
    assert set(comparisons) == {f'{a} - {b}' for a, b in plan.comparisons}
    from_completion = {
        name: len(c['pairs_from_completion'])
        for name, c in comparisons.items()
    }
    assert from_completion == {
        'geo_recon - plain': 0,
        'geo - plain': 2,
        'geo_recon - geo_recon_neutral': 3,
        'geo - geo_recon': 2,
        'geo_recon_neutral - plain': 3,
        **{f'geo_noise{s}mm - plain': 1 for s in ('0.5', '1', '2', '4')},
    }
    for c in comparisons.values():
        assert c['n_pairs'] == c['planned_pairs']
        assert c['verdict'] != TOO_FEW_PAIRS
    same = summary['completion']['same_runs']
    assert sorted((r['arm'], r['fold']) for r in same) == [
        (a, f) for a in ('geo_recon', 'plain') for f in (1, 2, 3)
    ]


def test_the_page_gets_the_table(completed):
    plan, folder, page, _ = completed
    begin, end = table_marks(plan.study)
    text = page.read_text()
    table = text[text.index(begin) : text.index(end)]
    assert table.count('\n|') > 5
    assert '(3 from the completion)' in table
    assert table in (folder / 'summary.md').read_text()
    assert (folder / 'intervals.png').stat().st_size > 0


def test_the_dose_response_reads_the_summary(analysed, tmp_path):
    _, study, summary = analysed
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
