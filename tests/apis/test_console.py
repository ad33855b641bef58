"""QuietConsole: native chatter on descriptor 2 dropped, every other line
kept, Python's stderr unfiltered (run in a child process: it rewires the
process's descriptor 2)."""

import subprocess
import sys

import pytest

from geoconv_mm.apis.console import NATIVE_CHATTER

CHILD = r'''
import os, sys
from geoconv_mm.apis.console import QuietConsole

def native(text):
    os.write(2, text.encode())

with QuietConsole(verbose={verbose}):
    native('W0000 00:00:1796592247.561802    8048 inference_feedback_'
           'manager.cc:114] Feedback manager requires a model.\n')
    native('INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n')
    native('WARNING: All log messages before absl::InitializeLog() is '
           'called are written to STDERR\n')
    native('E1206 21:45:11.557000 16842 graph.cc:12] a real native error\n')
    native('a plain native line\n')
    print('progress 50%', end='\r', file=sys.stderr, flush=True)
    print('python line', file=sys.stderr)
    native('no newline at the end')
print('after', file=sys.stderr)
'''


def run_child(verbose):
    res = subprocess.run(
        [sys.executable, '-c', CHILD.format(verbose=verbose)],
        capture_output=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    return res.stderr.decode()  # bytes: a carriage return stays one


def test_chatter_dropped_the_rest_kept():
    err = run_child(False)
    assert 'Feedback manager' not in err
    assert 'TensorFlow Lite' not in err and 'absl::' not in err
    # glog's error format is chatter too; a plain native line is not.
    assert 'a real native error' not in err
    python_writes = err
    for kept in ('a plain native line\n', 'no newline at the end'):
        assert kept in err, kept
        python_writes = python_writes.replace(kept, '', 1)
    # Python's writes skip the filter thread, so the native lines may fall
    # anywhere among them (even between a text and its carriage return);
    # without the native lines, they are whole and in order.
    assert python_writes == 'progress 50%\rpython line\nafter\n'


def test_verbose_changes_nothing():
    err = run_child(True)
    for line in ('Feedback manager', 'TensorFlow Lite', 'a plain native'):
        assert line in err


@pytest.mark.parametrize(
    'line, chatter',
    [
        (b'W0000 00:00:1796592247.561802    8048 x.cc:114] m', True),
        (b'I1206 21:45:11.557000 16842 torch/utils/a.py:183] m', True),
        (b'INFO: Created TensorFlow Lite XNNPACK delegate for CPU.', True),
        (b'WARNING: All log messages before absl::InitializeLog() is', True),
        (b'WARNING: clip.mp4:3: cannot decode (row with success 0)', False),
        (b'ERROR: x.avi: cannot open video', False),
        (b'W0000 is not a log line', False),
    ],
)
def test_what_counts_as_chatter(line, chatter):
    assert bool(NATIVE_CHATTER.match(line)) == chatter
