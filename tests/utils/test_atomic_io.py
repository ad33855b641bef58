import os

import pytest

from geoconv_mm.utils import atomic_path, atomic_write_json


def test_result_has_plain_open_permissions(tmp_path):
    path = tmp_path / 'out.json'
    atomic_write_json(str(path), {'a': 1})
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
    assert path.read_text() == '{"a": 1}'


def test_failure_leaves_neither_result_nor_temporary(tmp_path):
    path = tmp_path / 'out.bin'
    path.write_bytes(b'old')
    with pytest.raises(RuntimeError):
        with atomic_path(str(path), '.tmp') as tmp:
            with open(tmp, 'wb') as f:
                f.write(b'half')
            raise RuntimeError('crash mid-write')
    assert path.read_bytes() == b'old'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['out.bin']
