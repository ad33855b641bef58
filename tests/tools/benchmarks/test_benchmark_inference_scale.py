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
    printed = capsys.readouterr().out
    assert 'videos/h' in printed and 'load' in printed
