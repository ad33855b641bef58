"""tools/analysis_tools/synthau_experiment.py: the analysis of synthetic
records with the headline table pasted into a page, run claims, and the
checks that stop a study before any training."""

import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from geoconv_mm.study.analysis import TOO_FEW_PAIRS
from geoconv_mm.study.report import table_marks
from tests.fixtures.paths import REPO_ROOT
from tests.fixtures.study_records import balanced, write_plan, write_run
from tests.fixtures.tools import load_tool

TOOL = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'synthau_experiment.py')


def test_analyse_only_writes_summary_and_page_table(tmp_path):
    study = tmp_path / 'results' / 'toy'
    study.mkdir(parents=True)
    # GeoCNN is 3 F1 points above plain on every AU of both seeds.
    for seed, (plain, geo) in enumerate(
        [((47, 70), (50, 73)), ((61, 58), (64, 61))]
    ):
        write_run(str(study), 'plain', seed, balanced(*plain))
        write_run(str(study), 'geo', seed, balanced(*geo))
    plan = tmp_path / 'plan.md'
    write_plan(plan, ['plain', 'geo'], ('geo', 'plain'), (), [0, 1, 2])
    page = tmp_path / 'page.md'
    before, after = '# Title\n\ntext\n\n', '\n\n## Next\n'
    begin, end = table_marks('toy')
    page.write_text(f'{before}{begin}\nSTALE TABLE\n{end}{after}')
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [
            sys.executable,
            TOOL,
            '--plan',
            str(plan),
            '--results-dir',
            str(tmp_path / 'results'),
            '--analyse-only',
            '--page',
            str(page),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((study / 'summary.json').read_text())
    c = summary['variants']['default']['comparisons']['geo - plain']
    assert c['verdict'] == TOO_FEW_PAIRS and abs(c['diff'] - 3) < 1e-9
    assert (study / 'intervals.png').stat().st_size > 0
    text = page.read_text()
    assert text.startswith(before + begin) and text.endswith(end + after)
    assert 'STALE TABLE' not in text
    table = (study / 'summary.md').read_text()
    block = table[table.index(begin) : table.index(end)]
    assert block in text
    assert '| 2 of 3 | 1 |' in block and TOO_FEW_PAIRS in block


def test_a_study_without_a_committed_pre_registration_does_not_start(
    tmp_path,
):
    """The plan is not committed (tmp_path is no git checkout of it, but the
    file is outside any repository: the hash rule still applies): a plan
    described after the fact is refused before any training."""
    plan = tmp_path / 'plan.md'
    write_plan(plan, ['plain', 'geo'], ('geo', 'plain'))
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, OMP_NUM_THREADS='1')
    args = [
        sys.executable,
        TOOL,
        '--results-dir',
        str(tmp_path / 'results'),
        '--work-dir',
        str(tmp_path / 'work'),
    ]
    proc = subprocess.run(
        args + ['--plan', str(plan)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode != 0
    assert 'error: ' in proc.stderr and 'after the fact' in proc.stderr
    assert not (tmp_path / 'work').exists()
    proc = subprocess.run(
        args + ['--plan', str(tmp_path / 'missing.md')],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode != 0
    assert 'pre-registration not found' in proc.stderr


def test_a_claim_held_by_a_live_process_is_respected_and_a_stale_one_taken(
    tmp_path,
):
    tool = load_tool(TOOL)
    claim = str(tmp_path / 'geo__default__seed0__fold1.claim')
    assert tool.take_claim(claim)
    with open(claim) as fh:
        assert int(fh.read()) == os.getpid()
    assert not tool.take_claim(claim)  # held by this (live) process
    # A process that has exited: its claim is stale.
    child = subprocess.run(
        [sys.executable, '-c', 'import os; print(os.getpid())'],
        capture_output=True,
        text=True,
        check=True,
    )
    with open(claim, 'w') as fh:
        fh.write(child.stdout.strip())
    assert tool.take_claim(claim)
    open(claim, 'w').close()  # created but never written
    assert tool.take_claim(claim)


def test_a_claimed_run_is_left_to_its_holder(tmp_path):
    tool = load_tool(TOOL)
    work_root = tmp_path / 'work'
    work_root.mkdir()
    name = 'geo__default__seed0__fold1'
    (work_root / (name + '.claim')).write_text(str(os.getppid()))
    plan = write_plan(tmp_path / 'plan.md', ['plain', 'geo'], ('geo', 'plain'))
    status = tool.run_one(
        plan, 'geo', 'default', 0, 1, str(tmp_path / 'study'), str(work_root)
    )
    assert status == 'claimed'
    assert not (work_root / name).exists()


def test_status_counts_the_runs_without_their_results(tmp_path, capsys):
    """Recorded, training (a live claim), failed and left runs per arm, and
    the time left at the recorded runs' wall time; a stale claim is not a
    run in training."""
    tool = load_tool(TOOL)
    plan = tmp_path / 'plan.md'
    write_plan(plan, ['plain', 'geo'], ('geo', 'plain'), (), seeds=(0, 1, 2))
    study = tmp_path / 'results' / 'toy'
    study.mkdir(parents=True)
    write_run(str(study), 'plain', 0, balanced(50, 50))  # 60 s each
    write_run(str(study), 'geo', 0, balanced(50, 50))
    (study / 'failed').mkdir()
    (study / 'failed' / 'geo__default__seed1__fold1.json').write_text('{}')
    work = tmp_path / 'work' / 'toy'
    work.mkdir(parents=True)
    live = work / 'plain__default__seed1__fold1.claim'
    live.write_text(str(os.getpid()))
    child = subprocess.run(
        [sys.executable, '-c', 'import os; print(os.getpid())'],
        capture_output=True,
        text=True,
        check=True,
    )
    stale = work / 'plain__default__seed2__fold1.claim'
    stale.write_text(child.stdout.strip())
    argv = ['--plan', str(plan), '--status']
    argv += ['--results-dir', str(tmp_path / 'results')]
    argv += ['--work-dir', str(tmp_path / 'work')]
    tool.main(argv)
    out = capsys.readouterr().out
    assert (
        'toy: 2 of 6 runs recorded, 1 training, 1 failed (retried by the '
        'next run of the study), 4 left'
    ) in out
    lines = [line.split() for line in out.splitlines()[1:3]]
    assert lines == [['plain', '1', '/', '3'], ['geo', '1', '/', '3']]
    # 4 runs of 1 min, 1 at a time.
    assert 'about 4 min left at 1.0 min per run, 1 at a time' in out
    assert not (study / 'summary.json').exists()  # nothing analysed
    # Two runs training: twice as fast.
    stale.write_text(str(os.getppid()))
    tool.main(argv)
    out = capsys.readouterr().out
    assert '2 training, 1 failed' in out and ', 4 left' in out
    assert 'about 2 min left at 1.0 min per run, 2 at a time' in out


def test_status_says_whether_this_machine_may_add_the_runs_left(
    tmp_path, capsys, monkeypatch
):
    """Only the machine of the recorded runs may add runs: --status names
    it, and this machine when it is another."""
    from geoconv_mm.utils.host import host_fingerprint

    tool = load_tool(TOOL)
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    plan = tmp_path / 'plan.md'
    write_plan(plan, ['plain', 'geo'], ('geo', 'plain'), (), seeds=(0, 1))
    study = tmp_path / 'results' / 'toy'
    study.mkdir(parents=True)
    argv = ['--plan', str(plan), '--status']
    argv += ['--results-dir', str(tmp_path / 'results')]
    argv += ['--work-dir', str(tmp_path / 'work')]
    here = host_fingerprint()
    write_run(str(study), 'plain', 0, balanced(50, 50), 3, here, '1')
    tool.main(argv)
    assert 'this machine may add them (' in capsys.readouterr().out
    other = dict(here, cpu='Another CPU', cpu_capability='AVX2')
    for arm in ('plain', 'geo'):
        write_run(str(study), arm, 0, balanced(50, 50), 3, other, '1')
    tool.main(argv)
    out = capsys.readouterr().out
    assert (
        "only the study's machine may add them: Another CPU, AVX2, torch "
        f'{here["torch"]}, OMP_NUM_THREADS=1; this one is '
        f'{here["cpu"]}, {here["cpu_capability"]}'
    ) in out
    for arm in ('plain', 'geo'):
        for seed in (0, 1):
            write_run(str(study), arm, seed, balanced(50, 50), 3, other, '1')
    tool.main(argv)
    assert 'may add' not in capsys.readouterr().out  # nothing left


def test_runs_of_another_machine_stop_the_study_before_any_training(
    tmp_path,
):
    tool = load_tool(TOOL)
    study = tmp_path / 'study'
    study.mkdir()
    for args in (
        ['init', '-q'],
        ['add', 'plan.md'],
        ['commit', '-q', '-m', 'p'],
    ):
        if args[0] == 'add':
            plan = write_plan(
                tmp_path / 'plan.md',
                ['plain', 'geo'],
                ('geo', 'plain'),
                (),
                [0],
                [1],
                True,
            )
        subprocess.run(
            ['git', '-c', 'user.name=t', '-c', 'user.email=t@t', *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )
    from geoconv_mm.utils.host import host_fingerprint

    here = host_fingerprint()

    def add_run(arm, host):
        threads = os.environ.get('OMP_NUM_THREADS')
        write_run(
            str(study),
            arm,
            0,
            balanced(50, 50),
            3,
            host,
            threads,
            preregistration_sha256=plan.sha256,
        )

    add_run('plain', here)
    tool.check_study(plan, str(study))  # this machine's runs: carry on
    add_run('geo', dict(here, cpu_capability='another instruction set'))
    with pytest.raises(SystemExit) as stop:
        tool.check_study(plan, str(study))
    message = str(stop.value)
    assert message.startswith('error: ') and str(study) in message
    assert 'another instruction set' in message
