"""A tiny in-run A/B of one tree against itself, and its report."""

import json
import os.path as osp

import pytest

from tests.fixtures.paths import REPO_ROOT as ROOT
from tests.fixtures.tools import load_tool

TOOL = osp.join(ROOT, 'tools', 'benchmarks', 'benchmark_pipeline_ab.py')


@pytest.fixture(scope='module')
def tool():
    return load_tool(TOOL)


def test_tree_against_itself(tool, tmp_path, capsys):
    out = tmp_path / 'ab.json'
    argv = ['--a', ROOT, '--b', ROOT, '--frames', '2', '--rounds', '3']
    argv += ['--work-dir', str(tmp_path / 'tree'), '--out', str(out)]
    assert tool.main(argv) == 0
    result = json.loads(out.read_text())
    assert result['rounds'] == 3 and len(result['load_average']) == 3
    printed = capsys.readouterr().out
    for split in ('train', 'test'):
        fig = result[split]
        assert all(ms > 0 for ms in fig['ms'])
        lo, hi = fig['ratio_quartiles']
        assert 0 < lo <= fig['ratio'] <= hi
        stages = fig['stages_ms']
        assert 'GenerateGeodesicWeights' in stages
        assert all(len(v) == 2 and min(v) >= 0 for v in stages.values())
        assert f'{split}: A ' in printed


def test_not_a_source_tree_is_named(tool, tmp_path):
    with pytest.raises(SystemExit):
        tool.main(['--a', str(tmp_path), '--b', ROOT])


def test_summarise_by_hand(tool):
    def run(ms):
        return dict(ms=ms, stages=dict(Load=ms / 10))

    a = [run(10.0), run(20.0), run(10.0)]
    b = [run(9.0), run(16.0), run(10.0)]
    s = tool.summarise(a, b)
    assert s['ms'] == [10.0, 10.0]
    assert s['ratio'] == pytest.approx(0.9)  # of 0.9, 0.8, 1.0
    assert s['stages_ms']['Load'] == [1.0, 1.0]
