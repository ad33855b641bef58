"""The machine fingerprint of study records."""

import json
import os
import subprocess
import sys

from geoconv_mm.utils.host import describe_host, host_fingerprint
from tests.fixtures.paths import REPO_ROOT


def _fingerprint_in_child(**env) -> dict:
    code = (
        'import json; from geoconv_mm.utils.host import host_fingerprint; '
        'print(json.dumps(host_fingerprint()))'
    )
    out = subprocess.run(
        [sys.executable, '-c', code],
        env=dict(os.environ, PYTHONPATH=REPO_ROOT, **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_fingerprint_names_the_cpu_and_torch():
    import torch

    host = host_fingerprint()
    assert set(host) == {'cpu', 'cpu_capability', 'torch'}
    assert host['torch'] == torch.__version__
    if os.path.isfile('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as fh:
            names = [
                line.split(':', 1)[1].strip()
                for line in fh
                if line.startswith('model name')
            ]
        if names:
            assert host['cpu'].startswith(names[0])


def test_forced_kernel_dispatch_changes_the_fingerprint():
    # torch's portable kernels: another dispatch, so another machine for
    # seed pairing, though the CPU is the same.
    forced = _fingerprint_in_child(ATEN_CPU_CAPABILITY='default')
    assert forced['cpu_capability'] == 'DEFAULT'
    assert forced['cpu'] == host_fingerprint()['cpu']


def test_describe_host():
    assert describe_host(None) == 'an unrecorded machine'
    host = dict(cpu='Some CPU', cpu_capability='AVX2', torch='2.0')
    assert describe_host(host) == 'Some CPU, AVX2, torch 2.0'
