"""ensure_writable_dir: folders are made, probed and left as they were; a
folder that cannot be written is an OSError naming it."""

import errno
import sys

import pytest

from geoconv_mm.utils import ensure_writable_dir
from tests.fixtures.processes import read_only, run_bounded


def test_it_makes_the_folder_and_leaves_nothing_behind(tmp_path):
    out = tmp_path / 'a' / 'b'
    assert ensure_writable_dir(str(out)) == str(out)
    assert out.is_dir() and list(out.iterdir()) == []
    ensure_writable_dir(str(out))  # an existing folder is fine


def test_a_folder_below_a_file_names_the_folder(tmp_path):
    (tmp_path / 'file').write_text('')
    out = tmp_path / 'file' / 'out'
    with pytest.raises(OSError, match=f'output folder {out}') as info:
        ensure_writable_dir(str(out))
    assert info.value.errno in (errno.ENOTDIR, errno.EEXIST)


def test_a_read_only_folder_is_refused(tmp_path):
    locked = tmp_path / 'locked'
    locked.mkdir()
    code = (
        'from geoconv_mm.utils import ensure_writable_dir\n'
        f'ensure_writable_dir({str(locked)!r})\n'
    )
    cmd = read_only(str(locked), [sys.executable, '-c', code])
    if cmd is None:
        pytest.skip('cannot make a folder read-only on this host')
    res = run_bounded(cmd, 120)
    assert res.returncode == 1
    last = res.stderr.strip().splitlines()[-1]
    assert f'cannot write to the output folder {locked}' in last
    assert 'Read-only file system' in last or 'Permission denied' in last
