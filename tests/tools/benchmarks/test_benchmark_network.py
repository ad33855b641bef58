"""A tiny run of the network benchmark: every variant (onnxruntime's
included) timed and checked against the contiguous layout, the operator
profile, the pipeline."""

import json
import os.path as osp

import pytest

from tests.fixtures.paths import REPO_ROOT as ROOT
from tests.fixtures.tools import load_tool

pytest.importorskip('mediapipe')

TOOL = osp.join(ROOT, 'tools', 'benchmarks', 'benchmark_network.py')
CONFIG = osp.join(ROOT, 'configs', 'geocnn_synthau_demo.py')


def test_tiny_run_reports_variants_profile_and_pipeline(tmp_path, capsys):
    tool = load_tool(TOOL)
    out = tmp_path / 'net.json'
    pytest.importorskip('onnxruntime')
    argv = [CONFIG, '--frames', '2', '--batch-size', '2', '--rounds', '2']
    argv += ['--onnxruntime']
    assert tool.main(argv + ['--out', str(out)]) == 0
    recorded = json.loads(out.read_text())
    assert 'out' not in recorded['args']
    (result,) = recorded['results']
    assert result['faces'] == 2
    net = result['network']
    assert set(net) == {n for n, v in tool.VARIANTS.items() if not v[2]} | set(
        tool.ONNX_VARIANTS
    )
    assert net['nchw']['ratio_to_nchw'] == pytest.approx(1.0)
    assert net['nchw']['max_abs_diff'] == 0.0
    for name, fig in net.items():
        assert fig['same_outputs'], name
        assert fig['median_fps'] > 0 and fig['median_cpu_fps'] > 0
    runs = result['network_runs']
    assert sorted((r['variant'], r['round']) for r in runs) == sorted(
        (n, k) for n in net for k in (0, 1)
    )
    shares = [o['share'] for o in result['ops']]
    assert 0 < sum(shares) <= 1 + 1e-9 and shares == sorted(shares)[::-1]
    assert any('conv' in o['op'] for o in result['ops'])
    assert set(result['pipeline']['median_fps']) == {
        'default',
        'nchw',
        'onnxruntime',
    }
    printed = capsys.readouterr().out
    assert 'load' in printed and 'frames/CPU-s' in printed
