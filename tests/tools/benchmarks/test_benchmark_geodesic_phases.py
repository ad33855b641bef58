"""The phase benchmark: parsing the kernel's timer, and one tiny run in a
child process (the kernel writes to file descriptor 2, which the run
redirects)."""

import os
import os.path as osp
import subprocess
import sys

from tests.fixtures.paths import REPO_ROOT as ROOT
from tests.fixtures.tools import load_tool

TOOL = osp.join(ROOT, 'tools', 'benchmarks', 'benchmark_geodesic_phases.py')


def test_phase_means_sum_each_phase_over_frames_and_skip_other_lines():
    tool = load_tool(TOOL)
    text = 'raster 1.0 ms\nlifted 3.0 ms\npending 47\nraster 3.0 ms\nnoise\n'
    assert tool.phase_means(text, 2) == {'raster': 2.0, 'lifted': 1.5}


def test_capture_stderr_sees_writes_to_the_descriptor():
    tool = load_tool(TOOL)
    assert tool.capture_stderr(lambda: os.write(2, b'raster 1 ms\n')) == (
        'raster 1 ms\n'
    )


def test_tiny_run_reports_every_kernel_phase():
    run = subprocess.run(
        [sys.executable, TOOL, '--calls', '1'],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    phases = {
        line.split()[0]
        for line in run.stdout.splitlines()
        if line.startswith('  ')
    }
    assert {'raster', 'lifted', 'around', 'eq4', 'total'} <= phases
