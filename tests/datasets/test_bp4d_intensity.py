"""BP4D's intensity codes (AUCoding/AU_INT, the FERA 2015 layout): the
prepare tool, the dataset's masks and the FERA 2015 split, against the hand
values of tests/fixtures/bp4d_tree.py."""

import json
import os.path as osp
import shutil

import numpy as np
import pytest

from geoconv_mm.datasets import BP4D_INTENSITY_AU_IDS, BP4DDataset
from geoconv_mm.datasets.converters import bp4d
from tests.fixtures.bp4d_tree import (
    INTENSITY_AUS,
    PROTOCOL,
    intensity_path,
    make_bp4d_tree,
    write_intensity_file,
)
from tests.fixtures.builders import (
    BP4D_HEADER,
    bp4d_rows,
    write_bp4d_csv,
)


def prepare(root, out, extra=()):
    assert (
        bp4d.main([str(root), '--out', str(out), '--no-geometry', *extra]) == 0
    )
    report = json.loads((out / 'prepare_report.json').read_text())
    ann = json.loads((out / 'annotations/bp4d.json').read_text())
    return report, ann


def by_frame(ann):
    return {
        (e['subject'], e['sequence'], e['frame']): e for e in ann['data_list']
    }


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / 'BP4D'
    make_bp4d_tree(str(root))
    return root


def test_fixture_matches_the_fera_layout(tree):
    # One folder per AU, one headerless "frame,intensity" file per sequence.
    path = tree / 'AUCoding/AU_INT/AU06/F001_T1_AU06.csv'
    assert path.read_text().splitlines() == [
        '2440,0',
        '2441,2',
        '2442,9',
        '2443,3',
        '2444,0',
    ]
    assert sorted(p.name for p in (tree / 'AUCoding/AU_INT').iterdir()) == [
        'AU06',
        'AU10',
        'AU12',
        'AU14',
        'AU17',
    ]


def test_prepare_reads_intensities_beside_occurrence(tree, tmp_path):
    report, ann = prepare(tree, tmp_path / 'out')
    assert BP4D_INTENSITY_AU_IDS == tuple(INTENSITY_AUS)
    assert ann['metainfo']['intensity_au_ids'] == INTENSITY_AUS
    assert ann['metainfo']['intensity_values']['9'] == 'not coded'
    assert report['intensity_au_ids'] == INTENSITY_AUS
    # every AU's files list the occurrence CSVs' 13 rows
    assert report['intensity_rows'] == {f'AU{a}': 13 for a in INTENSITY_AUS}
    entries = by_frame(ann)
    assert len(entries) == 12
    col = {au: PROTOCOL.index(au) for au in PROTOCOL}
    e = entries[('F001', 'T1', 2441)]
    assert len(e['au_intensities']) == 12
    assert e['au_intensities'][col[6]] == 2
    assert e['au_intensities'][col[12]] == 3
    # AUs without intensity folders are "not coded", never 0.
    for au in (1, 2, 4, 7, 15, 23, 24):
        assert e['au_intensities'][col[au]] == 9
    for au in (10, 14, 17):
        assert e['au_intensities'][col[au]] == 0
    # the 9 of the file stays a 9
    assert entries[('F001', 'T1', 2442)]['au_intensities'][col[6]] == 9
    assert entries[('M011', 'T1', 101)]['au_intensities'][col[12]] == 9
    assert entries[('F001', 'T2', 11)]['au_intensities'][col[12]] == 4
    # the occurrence labels are those of AU_OCC
    assert e['au_labels'][col[12]] == 1 and e['au_labels'][col[1]] == 0


def test_occurrence_preparation_without_the_intensity_folder(tree, tmp_path):
    with_int = prepare(tree, tmp_path / 'a')
    shutil.rmtree(tree / 'AUCoding/AU_INT')
    report, ann = prepare(tree, tmp_path / 'b')
    assert ann['metainfo']['intensity_au_ids'] == []
    assert 'intensity_values' not in ann['metainfo']
    assert report['intensity_rows'] == {}
    assert report['problem_counts'] == with_int[0]['problem_counts']
    stripped = [
        {k: v for k, v in e.items() if k != 'au_intensities'}
        for e in with_int[1]['data_list']
    ]
    assert ann['data_list'] == stripped
    assert all('au_intensities' not in e for e in ann['data_list'])


def test_missing_files_rows_and_intensity_only_frames(tree, tmp_path):
    # F007_T1 has no AU14 file; F001_T1's AU06 file lacks frame 2441 and
    # codes frame 2445, which has an image but no occurrence row.
    (tree / 'AUCoding/AU_INT/AU14/F007_T1_AU14.csv').unlink()
    write_intensity_file(
        intensity_path(str(tree), 'F001', 'T1', 6),
        [2440, 2442, 2443, 2444, 2445],
        [0, 9, 3, 0, 4],
    )
    report, ann = prepare(tree, tmp_path / 'out')
    assert report['problem_counts'] == dict(
        labelled_without_image=1,
        no_label_file=2,
        intensity_file_missing=1,
        intensity_row_missing=1 + 4,
        occurrence_row_missing=1,
    )
    assert report['problems']['intensity_file_missing'] == [
        dict(file=intensity_path(str(tree), 'F007', 'T1', 14))
    ]
    missing = report['problems']['intensity_row_missing']
    assert (
        dict(file=intensity_path(str(tree), 'F001', 'T1', 6), frame=2441)
        in missing
    )
    # frame 2445 is only in the AU06 file: the other four AUs' files lack it
    assert sorted(m['file'] for m in missing if m['frame'] == 2445) == sorted(
        intensity_path(str(tree), 'F001', 'T1', au) for au in (10, 12, 14, 17)
    )
    assert report['problems']['occurrence_row_missing'] == [
        dict(file=intensity_path(str(tree), 'F001', 'T1', 6), frame=2445)
    ]
    entries = by_frame(ann)
    assert len(entries) == 13
    col = PROTOCOL.index
    extra = entries[('F001', 'T1', 2445)]
    assert extra['au_labels'] == [9] * 12
    assert extra['au_intensities'][col(6)] == 4
    assert extra['au_intensities'][col(12)] == 9
    assert entries[('F001', 'T1', 2441)]['au_intensities'][col(6)] == 9
    assert all(
        entries[('F007', 'T1', f)]['au_intensities'][col(14)] == 9
        for f in (5, 6)
    )


def test_au_ids_select_the_stored_intensities(tree, tmp_path):
    _, ann = prepare(tree, tmp_path / 'out', ['--au-ids', '1,12,6'])
    assert ann['metainfo']['intensity_au_ids'] == [12, 6]
    e = by_frame(ann)[('F001', 'T2', 10)]
    assert e['au_intensities'] == [9, 0, 1]


@pytest.mark.parametrize(
    'text,match',
    [
        ('2440,0\n2441,7\n', r'F001_T1_AU06.csv: line 2, frame 2441: '),
        ('2440,0\n2440,1\n', 'frame 2440 appears on lines 1 and 2'),
        ('frame,intensity\n2440,1\n', 'line 1: expected'),
        ('2440,inf\n', 'line 1: expected'),
        ('2440;1\n', 'line 1: expected'),
        ('\n', 'empty intensity file'),
    ],
)
def test_bad_intensity_files_name_file_and_line(tree, tmp_path, text, match):
    with open(intensity_path(str(tree), 'F001', 'T1', 6), 'w') as f:
        f.write(text)
    with pytest.raises(ValueError, match=match):
        prepare(tree, tmp_path / 'out')


def test_file_of_another_au_in_a_folder_is_an_error(tree, tmp_path):
    shutil.copy(
        intensity_path(str(tree), 'F001', 'T1', 6),
        osp.join(str(tree), 'AUCoding/AU_INT/AU12/F001_T1_AU06.csv'),
    )
    with pytest.raises(ValueError, match='an AU6 file in the AU12 folder'):
        prepare(tree, tmp_path / 'out')


def test_header_only_occurrence_csv_names_the_file(tree, tmp_path):
    write_bp4d_csv(str(tree / 'AUCoding/AU_OCC/F007_T1.csv'), BP4D_HEADER, [])
    with pytest.raises(
        ValueError, match='F007_T1.csv: a header row and no frame rows'
    ):
        prepare(tree, tmp_path / 'out')


def fera_tree(tree):
    """The fixture plus an even-numbered subject (F018, FERA's development
    partition), labelled on its two images."""
    write_bp4d_csv(
        str(tree / 'AUCoding/AU_OCC/F018_T3.csv'),
        BP4D_HEADER,
        bp4d_rows([1, 2], np.ones((2, 12), int)),
    )
    for au in INTENSITY_AUS:
        write_intensity_file(
            intensity_path(str(tree), 'F018', 'T3', au), [1, 2], [5, 9]
        )


def test_dataset_intensities_masks_and_fera2015_split(tree, tmp_path):
    fera_tree(tree)
    _, ann = prepare(tree, tmp_path / 'out')
    path = str(tmp_path / 'out/annotations/bp4d.json')
    train = BP4DDataset(
        path,
        protocol='fera2015',
        split='train',
        au_ids=BP4D_INTENSITY_AU_IDS,
        with_intensity=True,
    )
    test = BP4DDataset(
        path,
        protocol='fera2015',
        split='test',
        au_ids=BP4D_INTENSITY_AU_IDS,
        with_intensity=True,
    )
    assert train.get_subjects() == ['F001', 'F007', 'M011']
    assert test.get_subjects() == ['F018'] and len(test) == 2
    assert [
        test.get_data_info(i)['au_intensities'].tolist() for i in (0, 1)
    ] == [
        [5] * 5,
        [9] * 5,
    ]
    info = {
        (d['subject'], d['frame']): d
        for d in (train.get_data_info(i) for i in range(len(train)))
    }
    # AUs 6, 10, 12, 14, 17 of F001/T1 frame 2442: 9, 0, 9, 0, 0
    assert info[('F001', 2442)]['au_intensities'].tolist() == [9, 0, 9, 0, 0]
    assert info[('F001', 2442)]['au_intensities'].dtype == np.uint8
    assert train.metainfo['with_intensity'] is True
    assert 'fera2015' in repr(train)
    # the 3-fold protocol serves intensity as well
    fold = BP4DDataset(
        path, fold=1, split='test', au_ids=[12], with_intensity=True
    )
    assert fold.get_subjects() == ['F007']


def test_threshold_of_intensities_keeps_uncoded_frames_unknown(tree, tmp_path):
    _, ann = prepare(tree, tmp_path / 'out')
    ds = BP4DDataset(
        str(tmp_path / 'out/annotations/bp4d.json'),
        subjects=['F001', 'M011'],
        au_ids=[6, 12],
        intensity_threshold=2,
    )
    info = {
        (d['subject'], d['frame']): d
        for d in (ds.get_data_info(i) for i in range(len(ds)))
    }
    # F001/T1 2442 is 9 for both: unknown, not "present" (9 >= 2)
    assert info[('F001', 2442)]['au_mask'].tolist() == [False, False]
    assert info[('F001', 2442)]['gt_au'].tolist() == [0, 0]
    assert info[('F001', 2443)]['gt_au'].tolist() == [1, 1]
    assert info[('F001', 2444)]['gt_au'].tolist() == [0, 0]
    assert info[('F001', 10)]['gt_au'].tolist() == [0, 0]
    stats = ds.get_au_statistics()
    # known: F001's 7 frames with an image (T2 frame 12 has none) minus one
    # 9 each; M011's 3 frames are all 9 for both
    assert stats['num_known'].tolist() == [6, 6]
    # AU6 >= 2: 2441 (2), 2443 (3); AU12 >= 2: 2440, 2441, 2443 and 11
    assert stats['num_positive'].tolist() == [2, 4]


def test_intensity_dataset_errors(tree, tmp_path):
    _, ann = prepare(tree, tmp_path / 'a')
    path = str(tmp_path / 'a/annotations/bp4d.json')
    with pytest.raises(ValueError, match=r'no intensity codes for AU \[1\]'):
        BP4DDataset(path, au_ids=[1, 12], with_intensity=True)
    with pytest.raises(ValueError, match="no protocol 'fera2013'"):
        BP4DDataset(path, protocol='fera2013', split='train')
    with pytest.raises(ValueError, match='has no folds'):
        BP4DDataset(path, protocol='fera2015', fold=1, split='train')
    with pytest.raises(ValueError, match='needs split'):
        BP4DDataset(path, protocol='fera2015', split='val')
    with pytest.raises(ValueError, match='either subjects or fold'):
        BP4DDataset(path, protocol='fera2015', subjects=['F001'])
    shutil.rmtree(tree / 'AUCoding/AU_INT')
    _, ann = prepare(tree, tmp_path / 'b')
    path = str(tmp_path / 'b/annotations/bp4d.json')
    with pytest.raises(
        ValueError, match=r'coded: \[\]\); choose.*prepare a copy'
    ):
        BP4DDataset(path, au_ids=[12], with_intensity=True)
    # an entry without codes in an annotation that claims them
    data = json.loads(open(path).read())
    data['metainfo']['intensity_au_ids'] = [12]
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(data))
    with pytest.raises(
        ValueError, match=r'subject F001 frame 2440: the entry has no'
    ):
        BP4DDataset(str(bad), au_ids=[12], with_intensity=True)
    data['data_list'][0]['au_intensities'] = [2.5] + [0] * 11
    bad.write_text(json.dumps(data))
    with pytest.raises(ValueError, match='frame 2440: intensity code 2.5'):
        BP4DDataset(str(bad), au_ids=[1])


def test_empty_test_split_is_a_clear_error(tree, tmp_path):
    # Only parts 1 and 2 prepared: fold 1 tests on part 3, which is absent.
    prepare(tree, tmp_path / 'out', ['--subjects', 'F001,M011'])
    path = str(tmp_path / 'out/annotations/bp4d.json')
    assert len(BP4DDataset(path, fold=1, split='train')) == 10
    with pytest.raises(
        ValueError,
        match=r"split 'test' of fold 1 has no frames in .*bp4d.json: none "
        r"of its subjects \['F007'",
    ):
        BP4DDataset(path, fold=1, split='test')
    with pytest.raises(ValueError, match="split 'test' of protocol"):
        BP4DDataset(path, protocol='fera2015', split='test')
