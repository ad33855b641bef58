"""A tiny run of the inference benchmark: frames/s and faces/s, the per-face
fit, the alternated comparison of the detection paths, and onnxruntime
against PyTorch."""

import json
import os.path as osp

import numpy as np
import pytest

from tests.fixtures.paths import REPO_ROOT as ROOT
from tests.fixtures.tools import load_tool

pytest.importorskip('mediapipe')

TOOL = osp.join(ROOT, 'tools', 'benchmarks', 'benchmark_inference.py')
CONFIG = osp.join(ROOT, 'configs', 'geocnn_synthau_demo.py')


@pytest.fixture(scope='module')
def tool():
    return load_tool(TOOL)


def test_linear_fit_recovers_a_line(tool):
    counts = [1, 2, 4, 8]
    seconds = [0.1 + 0.05 * k for k in counts]
    fit = tool.linear_fit(counts, seconds)
    assert fit['fixed_ms'] == pytest.approx(100)
    assert fit['per_face_ms'] == pytest.approx(50)
    assert fit['max_relative_residual'] < 1e-9
    bent = tool.linear_fit(counts, [0.1 + 0.05 * k * k for k in counts])
    assert bent['max_relative_residual'] > 0.1
    assert tool.linear_fit([2, 2], [0.1, 0.2]) == {}


def test_group_frames_hold_the_asked_number_of_faces(tool):
    spots = tool.face_spots(8)
    for i, (x, y, s) in enumerate(spots):
        assert x + s <= tool.CANVAS[1] and y + s <= tool.CANVAS[0]
        for x2, y2, _ in spots[i + 1 :]:
            assert abs(x - x2) >= s or abs(y - y2) >= s  # no overlap
    (frame,) = tool.make_group_frames(1, 3)
    background = (frame.image == 90).all(-1)
    assert (~background).sum() == pytest.approx(3 * 200 * 200, rel=0.02)


def test_tiny_run_reports_rates_fit_and_ratio(tool, tmp_path, capsys):
    out = tmp_path / 'bench.json'
    argv = [CONFIG, '--frames', '2', '--batch-size', '2', '--faces', '1', '2']
    argv += ['--compare-paths', '--compare-backends', '--device', 'cpu']
    argv += ['--rounds', '2', '--out', str(out)]
    assert tool.main(argv) == 0
    result = json.loads(out.read_text())
    # One-face frames: as many faces per second as frames per second.
    assert result['pipeline_faces_per_s'] == pytest.approx(
        result['pipeline_fps']
    )
    runs = result['multi_face']['runs']
    assert sorted((r['faces'], r['round']) for r in runs) == [
        (1, 0),
        (1, 1),
        (2, 0),
        (2, 1),
    ]
    for r in runs:
        assert r['faces_per_s'] == pytest.approx(r['faces'] * r['fps'])
        assert r['ms_per_frame'] == pytest.approx(1e3 / r['fps'])
        assert r['cpu_ms_per_frame'] > 0
    for fit in ('fit', 'cpu_fit'):
        assert set(result['multi_face'][fit]) == {
            'fixed_ms',
            'per_face_ms',
            'max_relative_residual',
        }
    cmp = result['compare_paths']
    assert len(cmp['runs']) == 2 * len(tool.PATHS)
    by = {}
    for r in cmp['runs']:
        by.setdefault(r['path'], {})[r['round']] = r['fps']
    last = list(tool.PATHS)[-1]
    expected = np.median(
        [by[list(tool.PATHS)[0]][k] / by[last][k] for k in (0, 1)]
    )
    assert cmp['ratio'] == pytest.approx(expected)
    cpu = {}
    for r in cmp['runs']:
        cpu.setdefault(r['path'], {})[r['round']] = r['cpu_fps']
    assert cmp['cpu_ratio'] == pytest.approx(
        np.median([cpu[list(tool.PATHS)[0]][k] / cpu[last][k] for k in (0, 1)])
    )
    backends = result['compare_backends']
    assert backends['max_abs_output_difference'] < 1e-4
    for stage in ('network', 'pipeline'):
        fps = {}
        for r in backends['runs']:
            if r['stage'] == stage:
                fps.setdefault(r['backend'], {})[r['round']] = r['fps']
        assert sorted(fps) == ['onnxruntime', 'pytorch']
        paired = [fps['onnxruntime'][k] / fps['pytorch'][k] for k in (0, 1)]
        assert backends[stage]['ratio'] == pytest.approx(np.median(paired))
    printed = capsys.readouterr().out
    assert 'onnxruntime / pytorch' in printed
    assert 'faces/s' in printed and 'load' in printed
    assert 'ms/face' in printed and f'/ {last}:' in printed
    assert 'frames/CPU-s' in printed and 'CPU ms/frame' in printed
