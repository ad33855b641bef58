import json

import numpy as np
import pytest

from geoconv_mm.datasets import DISFADataset
from geoconv_mm.datasets.converters import disfa
from tests.fixtures.builders import (
    disfa_video_path,
    tiny_image,
    write_disfa_labels,
    write_disfa_video,
)

AUS = (1, 2, 4, 5, 6, 9, 12, 15, 17, 20, 25, 26)
#: subject -> (video frames, {AU: intensities}); other AUs are 0
SUBJECTS = {
    'SN001': (6, {1: [0, 1, 2, 3, 4, 5], 25: [0, 0, 2, 2, 0, 0]}),  # part 1
    'SN013': (
        5,
        {1: [2, 2, 1, 0, 3, 5], 25: [0, 0, 0, 0, 0, 5]},
    ),  # part 2, short video
    'SN003': (6, {1: [1, 2, 3, 4], 25: [2, 0, 0, 1]}),  # part 3, long video
}


def make_disfa_tree(root, subjects=SUBJECTS):
    for subject, (n_video, cols) in subjects.items():
        n = len(next(iter(cols.values())))
        write_disfa_labels(
            str(root), subject, {au: cols.get(au, [0] * n) for au in AUS}
        )
        write_disfa_video(
            disfa_video_path(str(root), subject),
            [tiny_image(t, (16, 16)) for t in range(n_video)],
        )


def prepare(tmp_path, extra=()):
    root, out = tmp_path / 'DISFA', tmp_path / 'out'
    make_disfa_tree(root)
    assert (
        disfa.main([str(root), '--out', str(out), '--no-geometry', *extra])
        == 0
    )
    return root, out, json.loads((out / 'prepare_report.json').read_text())


def test_prepare_reports_and_labels(tmp_path):
    root, out, report = prepare(tmp_path)
    assert report['subjects'] == ['SN001', 'SN003', 'SN013']
    assert report['per_subject']['SN013'] == dict(
        video_frames=5, label_frames=6
    )
    assert report['label_frame_index_base'] == [1]
    assert report['problem_counts'] == dict(
        video_without_labels=2, video_shorter_than_labels=1
    )
    assert report['problems']['video_shorter_than_labels'] == [
        dict(file='Videos_LeftCamera/LeftVideoSN013_comp.avi', frame=5)
    ]
    assert [
        p['frame'] for p in report['problems']['video_without_labels']
    ] == [4, 5]
    ann = json.loads((out / 'annotations/disfa.json').read_text())
    assert ann['metainfo']['au_ids'] == list(AUS)
    assert len(ann['data_list']) == 6 + 5 + 4
    e = [
        e
        for e in ann['data_list']
        if e['subject'] == 'SN001' and e['frame'] == 3
    ][0]
    assert e['frame_idx'] == 4 and e['source_frame'] == 3
    assert e['au_intensities'][0] == 3 and e['au_labels'][0] == 1
    assert e['au_intensities'][AUS.index(25)] == 2


def test_dataset_threshold_and_statistics(tmp_path):
    _, out, _ = prepare(tmp_path)
    ann = str(out / 'annotations/disfa.json')
    train = DISFADataset(ann, fold=3, split='train', au_ids=[1, 25])
    assert train.get_subjects() == ['SN003', 'SN013'] and len(train) == 9
    s = train.get_au_statistics()
    assert s['num_known'].tolist() == [9, 9] and s[
        'num_positive'
    ].tolist() == [6, 1]
    s = DISFADataset(
        ann, fold=3, split='train', au_ids=[1, 25], intensity_threshold=3
    ).get_au_statistics()
    assert s['num_positive'].tolist() == [3, 0]
    test = DISFADataset(ann, fold=3, split='test', au_ids=[1])
    assert test.get_subjects() == ['SN001']
    assert test.get_au_statistics()['num_positive'].tolist() == [4]
    info = test.get_data_info(2)
    assert info['au_intensities'].tolist() == [2] and info[
        'gt_au'
    ].tolist() == [1]
    assert info['au_mask'].tolist() == [True]
    full = DISFADataset(ann, fold=1, split='test')
    assert full.au_ids == [1, 2, 4, 6, 9, 12, 25, 26]
    with pytest.raises(ValueError, match='intensity_threshold'):
        DISFADataset(ann, intensity_threshold=0)


def test_video_much_shorter_than_labels_is_an_error(tmp_path):
    root = tmp_path / 'DISFA'
    make_disfa_tree(root, {'SN001': (3, {1: [0, 1, 2, 3, 4, 5]})})
    with pytest.raises(
        ValueError,
        match=r'LeftVideoSN001_comp.avi has 3 frames.*'
        r'frames 3..5 missing',
    ):
        disfa.main(
            [str(root), '--out', str(tmp_path / 'out'), '--no-geometry']
        )


def test_missing_au_file_and_missing_label_dir(tmp_path):
    root = tmp_path / 'DISFA'
    make_disfa_tree(root, {'SN001': (3, {1: [0, 1, 2]})})
    (root / 'ActionUnit_Labels/SN001/SN001_au26.txt').unlink()
    with pytest.raises(FileNotFoundError, match='SN001_au26.txt'):
        disfa.main(
            [str(root), '--out', str(tmp_path / 'out'), '--no-geometry']
        )
    # --au-ids without AU26 works; a video without labels is reported, not
    # dropped
    write_disfa_video(
        disfa_video_path(str(root), 'SN002'), [tiny_image(0, (16, 16))] * 2
    )
    out = tmp_path / 'out2'
    assert (
        disfa.main(
            [str(root), '--out', str(out), '--no-geometry', '--au-ids', '1,2']
        )
        == 0
    )
    report = json.loads((out / 'prepare_report.json').read_text())
    assert report['problems']['video_without_labels'] == [
        dict(file='Videos_LeftCamera/LeftVideoSN002_comp.avi', frame=0),
        dict(file='Videos_LeftCamera/LeftVideoSN002_comp.avi', frame=1),
    ]
    ann = json.loads((out / 'annotations/disfa.json').read_text())
    assert {e['subject'] for e in ann['data_list']} == {'SN001'}
    assert np.array([e['au_intensities'] for e in ann['data_list']]).shape == (
        3,
        2,
    )


def test_infinite_label_names_the_file_and_line(tmp_path):
    root = tmp_path / 'DISFA'
    make_disfa_tree(root, {'SN001': (3, {1: [0, 1, 2]})})
    label = root / 'ActionUnit_Labels/SN001/SN001_au2.txt'
    label.write_text('1,0\n2,inf\n3,0\n')
    with pytest.raises(
        ValueError, match=r'SN001_au2.txt: line 2: expected "frameIdx'
    ):
        disfa.main(
            [str(root), '--out', str(tmp_path / 'out'), '--no-geometry']
        )


def test_intensity_annotation_and_dataset(tmp_path):
    _, out, _ = prepare(tmp_path)
    ann = json.loads((out / 'annotations/disfa.json').read_text())
    assert ann['metainfo']['intensity_au_ids'] == list(AUS)
    ds = DISFADataset(
        str(out / 'annotations/disfa.json'),
        fold=3,
        split='test',
        au_ids=AUS,
        with_intensity=True,
    )
    # SN001's AU1 codes, every frame coded
    assert [
        ds.get_data_info(t)['au_intensities'][0] for t in range(len(ds))
    ] == [0, 1, 2, 3, 4, 5]
    assert all(ds.get_data_info(t)['au_mask'].all() for t in range(len(ds)))


def test_an_undecodable_video_is_a_problem_not_the_end(tmp_path):
    """One subject's video cannot be decoded: the others are prepared, the
    report names the video, and its labelled frames count as without a
    video."""
    root, out = tmp_path / 'DISFA', tmp_path / 'out'
    make_disfa_tree(root)
    with open(disfa_video_path(str(root), 'SN003'), 'wb') as fh:
        fh.write(b'not a video')
    assert disfa.main([str(root), '--out', str(out), '--no-geometry']) == 0
    report = json.loads((out / 'prepare_report.json').read_text())
    (bad,) = report['problems']['unreadable_video']
    assert bad['file'] == 'Videos_LeftCamera/LeftVideoSN003_comp.avi'
    assert 'LeftVideoSN003_comp.avi' in bad['reason']
    assert report['problem_counts']['labels_without_video'] == 4
    ann = json.loads((out / 'annotations/disfa.json').read_text())
    assert {e['subject'] for e in ann['data_list']} == {'SN001', 'SN013'}
