"""AUDataset's intensity handling on hand-written annotations: codes selected
with the AUs, 9 kept as "not coded", thresholds against a loop, and the
errors that name the annotation, subject and frame."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoconv_mm.datasets import AUDataset, split_intensities


def write(path, entries, au_ids=(1, 2, 4), **meta):
    data = dict(
        metainfo=dict(dataset='X', au_ids=list(au_ids), **meta),
        data_list=[
            dict(subject=f'S{i % 2}', frame=i, **e)
            for i, e in enumerate(entries)
        ],
    )
    path.write_text(json.dumps(data))
    return str(path)


def test_intensities_follow_the_selected_aus(tmp_path):
    ann = write(
        tmp_path / 'a.json',
        [
            dict(au_labels=[1, 0, 9], au_intensities=[3, 0, 9]),
            dict(au_labels=[0, 1, 1], au_intensities=[0, 2, 5]),
        ],
    )
    ds = AUDataset(ann, au_ids=[4, 1])
    first = ds.get_data_info(0)
    assert first['au_intensities'].tolist() == [9, 3]
    assert first['au_intensities'].dtype == np.uint8
    # occurrence from au_labels, unaffected by the intensities
    assert first['gt_au'].tolist() == [0, 1]
    assert first['au_mask'].tolist() == [False, True]
    assert ds.get_data_info(1)['au_intensities'].tolist() == [5, 0]
    assert ds.metainfo['with_intensity'] is False


@settings(max_examples=40, deadline=None)
@given(
    codes=st.lists(
        st.lists(
            st.sampled_from([0, 1, 2, 3, 4, 5, 9]), min_size=3, max_size=3
        ),
        min_size=1,
        max_size=12,
    ),
    threshold=st.integers(1, 5),
)
def test_threshold_against_a_loop(tmp_path_factory, codes, threshold):
    path = tmp_path_factory.mktemp('t') / 'a.json'
    ann = write(path, [dict(au_intensities=c) for c in codes])
    ds = AUDataset(ann, intensity_threshold=threshold, with_intensity=True)
    for i, row in enumerate(codes):
        info = ds.get_data_info(i)
        assert info['au_mask'].tolist() == [c != 9 for c in row]
        assert info['gt_au'].tolist() == [
            int(c != 9 and c >= threshold) for c in row
        ]
        values, known = split_intensities(info['au_intensities'])
        assert known.tolist() == [c != 9 for c in row]
        assert values.tolist() == [0 if c == 9 else c for c in row]
    stats = ds.get_au_statistics()
    arr = np.array(codes)
    assert stats['num_known'].tolist() == (arr != 9).sum(0).tolist()
    assert (
        stats['num_positive'].tolist()
        == ((arr != 9) & (arr >= threshold)).sum(0).tolist()
    )


@pytest.mark.parametrize(
    'entry,kwargs,match',
    [
        (
            dict(au_labels=[0, 0, 0]),
            dict(with_intensity=True),
            'with_intensity',
        ),
        (
            dict(au_labels=[0, 0, 0]),
            dict(intensity_threshold=2),
            'intensity_threshold',
        ),
        (
            dict(au_labels=[0, 0, 0], au_intensities=[0, 6, 0]),
            {},
            'frame 0: intensity code 6',
        ),
        (
            dict(au_labels=[0, 0, 0], au_intensities=[0, 1]),
            {},
            'frame 0: 2 intensities for 3 AUs',
        ),
    ],
)
def test_errors_name_file_subject_and_frame(tmp_path, entry, kwargs, match):
    ann = write(tmp_path / 'a.json', [entry])
    with pytest.raises(ValueError, match=match) as info:
        AUDataset(ann, **kwargs)
    assert 'a.json' in str(info.value)
    if 'frame' in match:
        assert 'subject S0 frame 0' in str(info.value)


def test_coded_aus_of_the_metainfo(tmp_path):
    ann = write(
        tmp_path / 'a.json',
        [dict(au_labels=[0, 0, 0], au_intensities=[9, 2, 9])],
        intensity_au_ids=[2],
    )
    assert len(AUDataset(ann, au_ids=[2], with_intensity=True)) == 1
    with pytest.raises(
        ValueError, match=r'no intensity codes for AU \[1, 4\]'
    ):
        AUDataset(ann, with_intensity=True)


def test_empty_selection_is_an_error(tmp_path):
    ann = write(tmp_path / 'a.json', [dict(au_labels=[0, 0, 0])])
    with pytest.raises(ValueError, match=r"selected subjects has no frames"):
        AUDataset(ann, subjects=['S7'])
    empty = tmp_path / 'e.json'
    empty.write_text(json.dumps(dict(metainfo=dict(au_ids=[1]), data_list=[])))
    with pytest.raises(ValueError, match='e.json lists no frames'):
        AUDataset(str(empty))
