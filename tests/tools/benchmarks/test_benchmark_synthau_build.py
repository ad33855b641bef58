"""A tiny run of the SynthAU build benchmark, and its file comparison."""

import os.path as osp
import subprocess
import sys

import pytest

from tests.fixtures.paths import REPO_ROOT as ROOT
from tests.fixtures.tools import load_tool

TOOL = osp.join(ROOT, 'tools', 'benchmarks', 'benchmark_synthau_build.py')


@pytest.fixture(scope='module')
def tool():
    return load_tool(TOOL)


def test_same_files_sees_a_changed_a_missing_and_a_nested_file(tool, tmp_path):
    for side in 'ab':
        (tmp_path / side / 'sub').mkdir(parents=True)
        (tmp_path / side / 'x.txt').write_text('x')
        (tmp_path / side / 'sub' / 'y.txt').write_text('y')
    a, b = str(tmp_path / 'a'), str(tmp_path / 'b')
    assert tool.same_files(a, b)
    (tmp_path / 'b' / 'sub' / 'y.txt').write_text('z')
    assert not tool.same_files(a, b)
    (tmp_path / 'b' / 'sub' / 'y.txt').write_text('y')
    (tmp_path / 'b' / 'sub' / 'extra.txt').write_text('')
    assert not tool.same_files(a, b)


def test_tiny_run_compares_and_reports_both_builds():
    # A child process: the benchmark spawns workers of its own.
    run = subprocess.run(
        [sys.executable, TOOL, '--workers', '2', '--num-subjects', '3'],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert any('1 worker(s)' in line for line in lines)
    assert any('2 worker(s)' in line for line in lines)
    assert 'ratio' in lines[-1] and 'load average' in lines[-1]
