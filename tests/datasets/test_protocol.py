import pytest

from geoconv_mm.datasets.protocol import (
    BP4D_PARTS,
    DISFA_PARTS,
    FERA2015_BP4D_SPLITS,
    fold_subjects,
    validate_parts,
)

# The full subject lists, written independently of the parts (datasets.md).
BP4D_ALL = {f'F{i:03d}' for i in range(1, 24)} | {
    f'M{i:03d}' for i in range(1, 19)
}
DISFA_ALL = {
    f'SN{i:03d}'
    for i in (
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        9,
        10,
        11,
        12,
        13,
        16,
        17,
        18,
        21,
        23,
        24,
        25,
        26,
        27,
        28,
        29,
        30,
        31,
        32,
    )
}


@pytest.mark.parametrize(
    'parts,everyone', [(BP4D_PARTS, BP4D_ALL), (DISFA_PARTS, DISFA_ALL)]
)
def test_folds_are_subject_exclusive_and_cover_everyone(parts, everyone):
    assert len(everyone) in (41, 27)
    test_count = {s: 0 for s in everyone}
    for fold in (1, 2, 3):
        train = fold_subjects(parts, fold, 'train')
        test = fold_subjects(parts, fold, 'test')
        assert not set(train) & set(test)
        assert set(train) | set(test) == everyone
        assert len(train) + len(test) == len(everyone)
        for s in test:
            test_count[s] += 1
    assert set(test_count.values()) == {1}


def test_fold_to_part_assignment():
    # fold 1 tests on part 3, fold 2 on part 2, fold 3 on part 1
    assert fold_subjects(BP4D_PARTS, 1, 'test')[:3] == ['F007', 'F015', 'F006']
    assert fold_subjects(BP4D_PARTS, 2, 'test')[0] == 'M011'
    assert fold_subjects(DISFA_PARTS, 3, 'test')[0] == 'SN002'
    assert 'SN003' in fold_subjects(DISFA_PARTS, 3, 'train')


def test_bad_arguments():
    with pytest.raises(ValueError, match='fold'):
        fold_subjects(BP4D_PARTS, 4, 'test')
    with pytest.raises(ValueError, match='split'):
        fold_subjects(BP4D_PARTS, 1, 'val')
    with pytest.raises(ValueError, match="'A'.*part 1 and part 2"):
        validate_parts([['A'], ['A', 'B']])


def test_fera2015_split_of_bp4d():
    # As the FERA 2015 sub-challenge lists them (datasets.md), written out.
    train = (
        'F001 F003 F005 F007 F009 F011 F013 F015 F017 F019 F021 F023 '
        'M001 M003 M005 M007 M009 M011 M013 M015 M017'
    ).split()
    devel = (
        'F002 F004 F006 F008 F010 F012 F014 F016 F018 F020 F022 '
        'M002 M004 M006 M008 M010 M012 M014 M016 M018'
    ).split()
    assert list(FERA2015_BP4D_SPLITS['train']) == train
    assert list(FERA2015_BP4D_SPLITS['test']) == devel
    assert set(train) | set(devel) == BP4D_ALL
    assert not set(train) & set(devel)
    assert set(FERA2015_BP4D_SPLITS) == {'train', 'test'}
