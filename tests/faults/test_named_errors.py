"""Errors that named nothing in the report now name the file, line or
argument: a BP4D label CSV without rows, a DISFA label of ``inf``, an
oversized record, ``geo_conv2d(stride=0)`` and a kernel larger than its
input, ``--fps 0``, a fold whose test split is empty. (The owners' modules
fixed them; these cases keep them fixed.)"""

import json
import os
import os.path as osp
import sys

import numpy as np
import pytest
import torch

from geoconv_mm.datasets import BP4DDataset
from geoconv_mm.datasets.label_readers import (
    read_bp4d_occ_csv,
    read_disfa_subject,
)
from geoconv_mm.geodesic import FaceSurface
from geoconv_mm.ops import geo_conv2d
from tests.fixtures.paths import REPO_ROOT
from tests.fixtures.processes import run_bounded
from tests.fixtures.tiny_data import make_tiny_au_tree


def test_a_bp4d_label_csv_without_rows_names_the_file(tmp_path):
    path = tmp_path / 'F001_T1.csv'
    path.write_text('0,1,2,4,6,7,10,12,14,15,17,23,24\n')
    with pytest.raises(ValueError, match=f'{path}: .*no frame rows'):
        read_bp4d_occ_csv(str(path), [1, 2])


def test_a_disfa_label_of_inf_names_file_and_line(tmp_path):
    (tmp_path / 'SN001').mkdir()
    path = tmp_path / 'SN001' / 'SN001_au1.txt'
    path.write_text('1,0\n2,inf\n')
    with pytest.raises(ValueError, match=f'{path}: line 2: .*inf'):
        read_disfa_subject(str(tmp_path), 'SN001', [1])


def test_an_oversized_record_says_why(tmp_path):
    path = str(tmp_path / 'big.npz')
    np.savez_compressed(
        path,
        vertices=np.zeros((6_000_000, 3), np.float32),
        faces=np.zeros((1, 3), np.int32),
        image_size=np.array([8, 8], np.int32),
    )
    with pytest.raises(ValueError, match=r'big\.npz: .*vertices holds \d+'):
        FaceSurface.load(path)


def test_geo_conv2d_names_a_zero_stride_and_a_kernel_too_large():
    x, w = torch.randn(1, 2, 8, 8), torch.randn(3, 2, 3, 3)
    with pytest.raises(ValueError, match='stride must be positive'):
        geo_conv2d(x, w, torch.ones(1, 9, 8, 8), stride=0)
    with pytest.raises(ValueError, match='11x11.*larger than the padded'):
        geo_conv2d(x, torch.randn(3, 2, 11, 11), torch.ones(1, 121, 1, 1))


def test_fps_zero_is_an_argument_error():
    res = run_bounded(
        [
            sys.executable,
            osp.join(REPO_ROOT, 'tools', 'infer.py'),
            'config.py',
            'weights.pth',
            'face.jpg',
            '--fps',
            '0',
        ],
        300,
    )
    assert res.returncode == 2
    assert 'argument --fps: must be a number > 0' in res.stderr


def test_an_empty_test_split_names_the_annotation(tmp_path):
    ann = make_tiny_au_tree(str(tmp_path), 'BP4D', size=16)
    with open(ann) as fh:
        data = json.load(fh)
    # Fold 1 tests on part 3, whose only subject here is F007: drop it.
    data['data_list'] = [
        d for d in data['data_list'] if d['subject'] != 'F007'
    ]
    with open(ann, 'w') as fh:
        json.dump(data, fh)
    with pytest.raises(ValueError) as info:
        BP4DDataset(
            ann_file=ann,
            data_root=str(tmp_path),
            fold=1,
            split='test',
            pipeline=[],
        )
    assert "split 'test' of fold 1 has no frames in" in str(info.value)
    assert os.path.basename(ann) in str(info.value)
