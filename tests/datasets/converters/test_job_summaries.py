"""The job summaries' one reading rule."""

import json
import os

import pytest

from geoconv_mm.datasets.converters.common import read_geometry_status
from geoconv_mm.datasets.converters.jobs import read_summaries


def write(path, frames, mtime):
    path.write_text(json.dumps(dict(counts={}, frames=frames)))
    os.utime(path, (mtime, mtime))


def entry(source, status, out_name='x'):
    return dict(
        source=source,
        frame_index=0,
        out_name=out_name,
        status=status,
        reason='',
    )


def test_newer_summaries_win_and_damaged_ones_are_skipped(tmp_path):
    # Named against time order: the rule is modification time, then name.
    write(
        tmp_path / 'summary.shard-1-of-2.json',
        [entry('a.jpg', 'ok', 'a')],
        mtime=2000,
    )
    write(
        tmp_path / 'summary.json',
        [entry('a.jpg', 'error', 'a'), entry('b.jpg', 'no_face', 'b')],
        mtime=1000,
    )
    (tmp_path / 'summary.shard-2-of-2.json').write_text('{"frames": [')
    with pytest.warns(UserWarning, match=r'summary\.shard-2-of-2\.json'):
        entries = read_summaries(str(tmp_path))
    assert {k: e['status'] for k, e in entries.items()} == {
        ('a.jpg', 0): 'ok',
        ('b.jpg', 0): 'no_face',
    }
    with pytest.warns(UserWarning):
        status = read_geometry_status(str(tmp_path))
    assert {k: e['status'] for k, e in status.items()} == dict(
        a='ok', b='no_face'
    )
