"""Bit-for-bit comparison of two builds of the geodesic kernel."""

import os.path as osp
import re
import shutil

import numpy as np
import pytest

from tests.fixtures.meshes import wavy_sheet
from tests.fixtures.paths import REPO_ROOT as ROOT
from tests.fixtures.tools import load_tool

TOOL = osp.join(ROOT, 'tools', 'analysis_tools', 'compare_geodesic_builds.py')


@pytest.fixture(scope='module')
def tool():
    return load_tool(TOOL)


@pytest.fixture(scope='module')
def records(tmp_path_factory):
    folder = tmp_path_factory.mktemp('records')
    for i, hole in enumerate([(10, 16, 12, 20), (30, 40, 5, 9)]):
        wavy_sheet(48, hole, 2.0 + i).save(str(folder / f'face{i}.npz'))
    return str(folder / '*.npz')


def test_differences_by_hand(tool):
    a = dict(same=np.array([1.0, np.nan]), off=np.array([1.0, 2.0]))
    a.update(nan=np.array([1.0, 2.0]), gone=np.zeros(2))
    b = dict(same=np.array([1.0, np.nan]), off=np.array([1.0, 2.5]))
    b.update(nan=np.array([np.nan, 2.0]), new=np.zeros(2))
    got = tool.differences(a, b)
    assert got == dict(off=0.5, nan=np.inf, gone=np.inf, new=np.inf)


def test_a_tree_against_itself_and_its_baseline_loops(tool, records, capsys):
    argv = ['--a', ROOT, '--b', ROOT, '--records', records]
    assert tool.main(argv + ['--env-b', 'GEOCONV_NO_AVX2=1']) == 0
    n = 2 * 2 * len(tool.LAYERS) * 2  # faces, hole settings, layers, kinds
    assert f'{n} arrays, 0 differ' in capsys.readouterr().out


def test_a_changed_build_is_caught(tool, records, tmp_path, capsys):
    # A tree whose weights differ: the same package with a ratio cap that
    # every tap reaches.
    changed = tmp_path / 'changed'
    shutil.copytree(osp.join(ROOT, 'geoconv_mm'), changed / 'geoconv_mm')
    weights = changed / 'geoconv_mm' / 'geodesic' / 'weights.py'
    text = weights.read_text()
    changed_text = re.sub(r'\nRATIO_CAP = [^\n]*', '\nRATIO_CAP = 0.5', text)
    assert changed_text != text
    weights.write_text(changed_text)
    argv = ['--a', ROOT, '--b', str(changed), '--records', records]
    assert tool.main(argv) == 1
    assert '/weights: max |a - b|' in capsys.readouterr().out


@pytest.mark.parametrize(
    'extra, message',
    [
        (['--records', 'nowhere/*.npz'], 'no file matches'),
        (['--env-b', 'oops'], 'KEY=VALUE'),
        (['--a', 'nowhere'], 'not a source tree'),
    ],
)
def test_bad_arguments_are_named(tool, capsys, extra, message):
    with pytest.raises(SystemExit):
        tool.main(['--a', ROOT, '--b', ROOT, *extra])
    assert message in capsys.readouterr().err
