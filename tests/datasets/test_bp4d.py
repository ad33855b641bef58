import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from geoconv_mm.datasets import BP4DDataset
from geoconv_mm.datasets.converters import bp4d
from tests.fixtures.bp4d_tree import make_bp4d_tree
from tests.fixtures.builders import write_bp4d_csv
from tests.fixtures.paths import REPO_ROOT


def prepare(tmp_path, offset=0, extra=()):
    root, out = tmp_path / 'BP4D', tmp_path / 'out'
    make_bp4d_tree(str(root), offset)
    assert (
        bp4d.main([str(root), '--out', str(out), '--no-geometry', *extra]) == 0
    )
    report = json.loads((out / 'prepare_report.json').read_text())
    return root, out, report


def test_prepare_reports_everything(tmp_path):
    root, out, report = prepare(tmp_path)
    assert report['frame_offset'] == 0
    assert report['frame_mapping_matches'] == {
        'jpg = frame': 12,
        'jpg = frame-1': 9,
    }
    assert report['subjects'] == ['F001', 'F007', 'F018', 'M011']
    assert report['label_rows'] == 13 and report['images'] == 15
    assert report['problem_counts'] == dict(
        labelled_without_image=1, image_without_label=1, no_label_file=2
    )
    assert report['problems']['labelled_without_image'] == [
        dict(file=str(root / 'AUCoding/AU_OCC/F001_T2.csv'), frame=12)
    ]
    assert report['problems']['image_without_label'] == [
        dict(file=str(root / 'F001/T1/2445.jpg'), frame=2445)
    ]
    ann = json.loads((out / 'annotations/bp4d.json').read_text())
    assert ann['metainfo']['au_ids'] == [
        1,
        2,
        4,
        6,
        7,
        10,
        12,
        14,
        15,
        17,
        23,
        24,
    ]
    entries = {
        (e['subject'], e['sequence'], e['frame']): e for e in ann['data_list']
    }
    assert len(entries) == 12
    e = entries[('F001', 'T1', 2443)]
    assert e['source'] == osp.join('F001', 'T1', '2443.jpg')
    assert e['au_labels'][:3] == [9, 0, 9] and e['au_labels'][6] == 1
    assert entries[('F001', 'T2', 11)]['source'] == osp.join(
        'F001', 'T2', '11.jpg'
    )
    assert entries[('M011', 'T1', 100)]['source'] == osp.join(
        'M011', 'T1', '0100.jpg'
    )
    assert 'img_path' not in e and 'geo_path' not in e


def test_prepare_detects_jpg_is_frame_minus_one(tmp_path):
    _, out, report = prepare(tmp_path, offset=-1)
    assert report['frame_offset'] == -1
    assert report['frame_mapping_matches'] == {
        'jpg = frame': 9,
        'jpg = frame-1': 12,
    }
    ann = json.loads((out / 'annotations/bp4d.json').read_text())
    e = [
        e
        for e in ann['data_list']
        if e['subject'] == 'F001' and e['frame'] == 2440
    ]
    assert e[0]['source'] == osp.join('F001', 'T1', '2439.jpg')


def test_prepare_bad_label_value_names_file_and_frame(tmp_path):
    root = tmp_path / 'BP4D'
    make_bp4d_tree(str(root))
    bad = root / 'AUCoding/AU_OCC/F007_T1.csv'
    write_bp4d_csv(
        str(bad),
        [0, 1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24],
        [[5] + [0] * 12, [6] + [0] * 11 + [3]],
    )
    with pytest.raises(
        ValueError, match=r'F007_T1.csv: line 3, frame 6: AU24 = \'3\''
    ):
        bp4d.main([str(root), '--out', str(tmp_path / 'out'), '--no-geometry'])


def test_dataset_folds_masks_and_statistics(tmp_path):
    _, out, _ = prepare(tmp_path)
    ann = str(out / 'annotations/bp4d.json')
    train = BP4DDataset(ann, fold=1, split='train', au_ids=[1, 2, 4, 12])
    test = BP4DDataset(ann, fold=1, split='test', au_ids=[1, 2, 4, 12])
    assert len(train) == 10 and len(test) == 2
    assert train.get_subjects() == [
        'F001',
        'M011',
    ] and test.get_subjects() == ['F007']
    assert train.metainfo['classes'] == ('AU1', 'AU2', 'AU4', 'AU12')
    assert train.metainfo['au_names'][3] == 'Lip Corner Puller'
    # hand counts (bp4d_fixture.SEQUENCES, F001_T2 frame 12 has no image)
    stats = train.get_au_statistics()
    assert stats['num_known'].tolist() == [8, 9, 4, 7]
    assert stats['num_positive'].tolist() == [5, 4, 1, 6]
    stats = test.get_au_statistics()
    assert stats['num_known'].tolist() == [2, 2, 2, 2]
    assert stats['num_positive'].tolist() == [2, 1, 0, 0]
    info = [train.get_data_info(i) for i in range(len(train))]
    m011 = [d for d in info if d['subject'] == 'M011' and d['frame'] == 101][0]
    assert m011['gt_au'].tolist() == [0, 1, 0, 0]
    assert m011['au_mask'].tolist() == [False, True, True, False]
    full = BP4DDataset(ann, fold=2, split='test')
    assert full.au_ids == [1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24]
    assert full.get_subjects() == ['M011'] and len(full) == 3
    subj = BP4DDataset(ann, subjects=['F007', 'M011'], au_ids=[12])
    assert len(subj) == 5
    assert subj.get_au_statistics()['num_known'].tolist() == [2]


def test_dataset_bad_arguments(tmp_path):
    _, out, _ = prepare(tmp_path)
    ann = str(out / 'annotations/bp4d.json')
    with pytest.raises(ValueError, match=r'no labels for AU \[27\]'):
        BP4DDataset(ann, au_ids=[1, 27])
    with pytest.raises(ValueError, match='fold and split go together'):
        BP4DDataset(ann, fold=1)
    with pytest.raises(ValueError, match='either subjects or fold'):
        BP4DDataset(ann, fold=1, split='test', subjects=['F001'])
    from geoconv_mm.datasets import DISFADataset

    with pytest.raises(ValueError, match="expects 'DISFA'"):
        DISFADataset(ann)
    # more AUs are available when the prepare tool stores them
    _, out2, _ = prepare(tmp_path / 'b', extra=['--au-ids', '1,27'])
    ds = BP4DDataset(str(out2 / 'annotations/bp4d.json'), au_ids=['AU27'])
    assert not np.any(
        [ds.get_data_info(i)['au_mask'][0] for i in range(len(ds))]
    )


def test_prepare_tool_command_line(tmp_path):
    root, out = tmp_path / 'BP4D', tmp_path / 'out'
    make_bp4d_tree(str(root))
    repo = REPO_ROOT
    env = dict(os.environ, PYTHONPATH=repo)
    proc = subprocess.run(
        [
            sys.executable,
            osp.join(repo, 'tools/dataset_converters/prepare_bp4d.py'),
            str(root),
            '--out',
            str(out),
            '--no-geometry',
            '--subjects',
            'F001,F007',
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert (
        'frame mapping: jpg = frame (9 labelled frames matched' in proc.stderr
    )
    assert 'F001_T2.csv frame 12' in proc.stderr
    ann = json.loads((out / 'annotations/bp4d.json').read_text())
    assert {e['subject'] for e in ann['data_list']} == {'F001', 'F007'}
    assert len(ann['data_list']) == 9


def test_ambiguous_frame_mapping_needs_frame_offset(tmp_path):
    from tests.fixtures.builders import (
        BP4D_HEADER,
        bp4d_rows,
        write_bp4d_images,
    )

    root = tmp_path / 'BP4D'
    write_bp4d_csv(
        str(root / 'AUCoding/AU_OCC/F001_T1.csv'),
        BP4D_HEADER,
        bp4d_rows([1, 3], np.zeros((2, 12), int)),
    )
    write_bp4d_images(str(root), 'F001', 'T1', [1, 2], padded=False)
    out = str(tmp_path / 'out')
    with pytest.raises(ValueError, match='ambiguous.*--frame-offset'):
        bp4d.main([str(root), '--out', out, '--no-geometry'])
    assert (
        bp4d.main(
            [str(root), '--out', out, '--no-geometry', '--frame-offset', '-1']
        )
        == 0
    )
    ann = json.loads((tmp_path / 'out/annotations/bp4d.json').read_text())
    assert [(e['frame'], e['source']) for e in ann['data_list']] == [
        (3, osp.join('F001', 'T1', '2.jpg'))
    ]
