"""tools/analysis_tools/au_f1_by_pose.py on a tools/test.py --out pickle."""

import os.path as osp
import pickle

import numpy as np
import pytest
import torch

from tests.evaluation.metrics.test_au_f1_by_yaw import (
    F1,
    LABELS,
    MASK,
    SCORES,
    YAW,
)
from tests.fixtures.paths import REPO_ROOT as ROOT
from tests.fixtures.tools import load_tool

TOOL = osp.join(ROOT, 'tools', 'analysis_tools', 'au_f1_by_pose.py')


@pytest.fixture(scope='module')
def tool():
    return load_tool(TOOL)


def _dump(path, pose_key='pose', with_pose=True):
    # What mmengine's DumpResults writes: one dict per frame, tensors on CPU.
    rows = []
    for i in range(len(YAW)):
        r = dict(
            pred_score=torch.tensor(SCORES[i], dtype=torch.float32),
            gt_au=torch.tensor(LABELS[i], dtype=torch.float32),
            au_mask=torch.tensor(MASK[i]),
            img_path=f'f{i}.png',
        )
        if with_pose:
            r[pose_key] = [float(YAW[i]), 1.0, 2.0]
        rows.append(r)
    with open(path, 'wb') as fh:
        pickle.dump(rows, fh)


def test_table_and_plot(tool, tmp_path, capsys):
    path = str(tmp_path / 'preds.pkl')
    _dump(path)
    assert (
        tool.main(
            [
                path,
                '--yaw-key',
                'pose',
                '--yaw-index',
                '0',
                '--yaw-unit',
                'deg',
                '--au-names',
                'AU1',
                'AU2',
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    lines = {
        ln.split()[0]: ln.split()[1:]
        for ln in out.splitlines()
        if ln.split() and ln.split()[0] in ('AU1', 'AU2', 'mean', 'frames')
    }
    np.testing.assert_allclose(
        [float(v) for v in lines['AU1']], [100 * f[0] for f in F1], atol=0.01
    )
    np.testing.assert_allclose(
        [float(v) for v in lines['AU2']], [100 * f[1] for f in F1], atol=0.01
    )
    np.testing.assert_allclose(
        [float(v) for v in lines['mean']],
        [100 * np.mean(f) for f in F1],
        atol=0.01,
    )
    assert lines['frames'] == ['3', '3', '2']
    png = tmp_path / 'preds_f1_by_yaw.png'
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_errors_name_the_file(tool, tmp_path, capsys):
    path = str(tmp_path / 'preds.pkl')
    _dump(path, with_pose=False)
    assert tool.main([path]) == 1
    assert 'no frame has "pose_Ry"' in capsys.readouterr().err
    bad = tmp_path / 'bad.pkl'
    bad.write_bytes(b'not a pickle')
    assert tool.main([str(bad)]) == 1
    assert 'bad.pkl' in capsys.readouterr().err
    assert tool.main([str(tmp_path / 'missing.pkl')]) == 1
    assert 'not found' in capsys.readouterr().err
