"""The scale benchmark's measuring pieces (process-tree memory, frames
written, the generated videos) and a tiny end-to-end run."""

import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import pytest

from tests.fixtures.paths import REPO_ROOT as ROOT
from tests.fixtures.tools import load_tool

TOOL = osp.join(ROOT, 'tools', 'benchmarks', 'benchmark_inference_scale.py')
CONFIG = osp.join(ROOT, 'configs', 'geocnn_synthau_demo.py')


@pytest.fixture(scope='module')
def tool():
    return load_tool(TOOL)


def test_tree_memory_counts_the_children(tool):
    child = subprocess.Popen(
        [
            sys.executable,
            '-c',
            'import sys, time; x = bytearray(300 << 20); '
            'x[::4096] = b"1" * len(x[::4096]); print(1, flush=True); '
            'time.sleep(60)',
        ],
        stdout=subprocess.PIPE,
    )
    try:
        child.stdout.readline()  # the memory is touched
        alone = tool.tree_rss_mb(child.pid)
        assert alone > 290
        assert tool.tree_rss_mb(os.getpid()) > alone
    finally:
        child.kill()
        child.wait()


def test_frames_written_and_the_video(tool, tmp_path):
    (tmp_path / 'a').mkdir()
    (tmp_path / 'a' / 'x.csv.partial').write_text('h\n1\n2\n')
    (tmp_path / 'y.csv').write_text('h\n1\n')
    (tmp_path / 'summary.csv').write_text('h\n1\n2\n3\n')
    assert tool.written_frames(str(tmp_path)) == 3
    path = str(tmp_path / 'v.avi')
    tool.write_video(path, 5)
    cap = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    assert len(frames) == 5
    assert frames[0].shape[:2] == tool.FRAME_SIZE
    assert (frames[0] != frames[4]).any()  # the face moves


def test_memory_growth_leaves_the_closing_out_of_the_fit(tool):
    # 1 MB per 1,000 frames while streaming, then a spike after the last
    # row; samples before the first row carry no frame count.
    samples = [(0, 500.0)] + [(n, 100 + n / 1000) for n in range(0, 1001, 100)]
    samples += [(1000, 100.5), (1000, 300.0)]
    growth = tool.memory_growth(samples, 1000)
    assert growth['mb_per_1000_frames'] == pytest.approx(1.0)
    assert growth['closing_peak_mb'] == 300.0
    assert [n for n, _ in growth['streaming']] == list(range(100, 1000, 100))
    flat = tool.memory_growth([(10, 5.0), (60, 5.0), (80, 5.0)], 100)
    assert flat['mb_per_1000_frames'] == pytest.approx(0.0, abs=1e-9)
    assert flat['closing_peak_mb'] is None
    assert 'mb_per_1000_frames' not in tool.memory_growth([(60, 5.0)], 100)


def test_tiny_run(tool, tmp_path, capsys):
    pytest.importorskip('mediapipe')
    out = tmp_path / 'scale.json'
    argv = [CONFIG, '--videos', '2', '--frames', '3', '--workers', '0']
    argv += ['--rounds', '1', '--long-frames', '6', '--batch-size', '4']
    argv += ['--work-dir', str(tmp_path / 'w'), '--out', str(out)]
    assert tool.main(argv) == 0
    result = json.loads(out.read_text())
    (run,) = result['throughput']['runs']
    assert run['frames'] == 6 and run['workers'] == 0
    assert run['fps'] == pytest.approx(6 / run['seconds'])
    assert run['videos_per_hour'] == pytest.approx(3600 * 2 / run['seconds'])
    memory = result['memory']
    assert memory['frames'] == 6 and memory['peak_mb'] > 100
    # The command as given, without the paths this run made up for itself.
    assert result['args']['checkpoint'] is None
    assert not {'out', 'work_dir'} & set(result['args'])
    printed = capsys.readouterr().out
    assert 'videos/h' in printed and 'load' in printed
