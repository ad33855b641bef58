"""tools/visualization/browse_dataset.py on a tiny BP4D-format tree: the
grid's layout, its crops, and overlays that follow --scale."""

import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

from tests.fixtures.paths import REPO_ROOT as ROOT
from tests.fixtures.tiny_config import write_tiny_config
from tests.fixtures.tiny_data import make_tiny_au_tree

TOOL = osp.join(ROOT, 'tools', 'visualization', 'browse_dataset.py')
SIZE = 32
TILE = 48


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp('tiny_bp4d')
    make_tiny_au_tree(str(root), 'BP4D', size=SIZE, frames_per_subject=4)
    return root, write_tiny_config(root, SIZE)


def run_tool(cfg, out, *args):
    return subprocess.run(
        [sys.executable, TOOL, cfg, '--out', str(out), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={
            'PYTHONPATH': ROOT,
            'PATH': '/usr/bin:/bin',
            'OMP_NUM_THREADS': '1',
        },
        timeout=300,
    )


def grid(tree, scale):
    root, cfg = tree
    out = root / f'grid_s{scale}.png'
    res = run_tool(
        cfg,
        out,
        '--num-samples',
        '4',
        '--cols',
        '3',
        '--tile-size',
        str(TILE),
        '--scale',
        str(scale),
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    img = cv2.imread(str(out))
    assert img is not None, f'{out} missing or not a PNG'
    return img


def test_grid_layout_crops_and_scales(tree):
    root, _ = tree
    s1, s4 = grid(tree, 1), grid(tree, 4)
    # 4 samples in rows of 3: 2 rows of tiles, each a crop and its overlay
    # side by side above a label band.
    assert s1.shape == s4.shape
    h, w = s1.shape[:2]
    assert w == 3 * 2 * TILE
    assert h % 2 == 0 and TILE < h // 2 < 2 * TILE
    # Fold 1 tests on the last subject: tile 0 is its first frame, as read
    # from disk (the test pipeline only resizes to the size it already has).
    frame = cv2.imread(str(root / 'frames' / 'F007' / 'T1' / '00000.jpg'))
    ref = cv2.resize(frame, (TILE, TILE), interpolation=cv2.INTER_AREA)
    crop = s1[:TILE, :TILE].astype(int)
    assert np.abs(crop - ref).mean() < 1.0
    np.testing.assert_array_equal(s1[:TILE, :TILE], s4[:TILE, :TILE])
    # The overlays show different GeoCNN scales' weights.
    diff = np.abs(
        s1[:TILE, TILE : 2 * TILE].astype(int)
        - s4[:TILE, TILE : 2 * TILE].astype(int)
    )
    assert diff.mean() > 1.0
    # The second row holds the fourth sample and two blank cells.
    assert (s1[h // 2 :, 2 * TILE :] == 255).all()
    assert (s1[h // 2 :, : 2 * TILE] != 255).any()


def test_scale_the_model_lacks_is_named(tree):
    root, cfg = tree
    res = run_tool(cfg, root / 'bad.png', '--scale', '3')
    assert res.returncode != 0
    assert '--scale 3' in res.stderr and '[1, 2, 4, 8, 16]' in res.stderr
    assert not (root / 'bad.png').exists()
    missing = str(root / 'absent')
    res = run_tool(
        cfg,
        root / 'bad.png',
        '--split',
        'train',
        '--cfg-options',
        f'train_dataloader.dataset.data_root={missing}',
    )
    assert res.returncode != 0
    assert '--split train' in res.stderr and missing in res.stderr
    assert 'Traceback' not in res.stderr


def first_crop(tree, *args):
    root, cfg = tree
    out = root / 'one.png'
    res = run_tool(
        cfg,
        out,
        '--num-samples',
        '1',
        '--cols',
        '1',
        '--tile-size',
        str(TILE),
        *args,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    img = cv2.imread(str(out))
    assert img.shape[1] == 2 * TILE
    return img[:TILE, :TILE].astype(int)


def frame_tile(root, subject):
    frame = cv2.imread(str(root / 'frames' / subject / 'T1' / '00000.jpg'))
    return cv2.resize(frame, (TILE, TILE), interpolation=cv2.INTER_AREA)


def test_fold_and_cfg_options_pick_the_data(tree):
    root, _ = tree
    # Fold 2 tests on the second protocol part.
    crop = first_crop(tree, '--fold', '2')
    assert np.abs(crop - frame_tile(root, 'M011')).mean() < 1.0
    # The val loader turned to fold 1's training split starts at part 1.
    crop = first_crop(
        tree,
        '--split',
        'val',
        '--cfg-options',
        'val_dataloader.dataset.split=train',
    )
    assert np.abs(crop - frame_tile(root, 'F001')).mean() < 1.0
