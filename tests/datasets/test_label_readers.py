import pytest
from hypothesis import given
from hypothesis import strategies as st

from geoconv_mm.datasets.label_readers import (
    list_frame_images,
    parse_integer,
    read_bp4d_int_csv,
    read_bp4d_occ_csv,
    read_disfa_au_file,
    read_disfa_subject,
)
from tests.fixtures.builders import write_bp4d_csv


def test_bp4d_csv_reads_columns_by_name(tmp_path):
    path = str(tmp_path / 'F001_T1.csv')
    write_bp4d_csv(path, [0, 2, 1, 27], [[2440, 1, 0, 9], [2441, 9, 1, 0]])
    frames, labels = read_bp4d_occ_csv(path, [1, 2])
    assert frames.tolist() == [2440, 2441]
    assert labels.tolist() == [[0, 1], [1, 9]]


@pytest.mark.parametrize(
    'header,rows,match',
    [
        (['frame', 1, 2], [[1, 0, 0]], 'unexpected columns'),
        ([0, 1], [[1, 0]], r'missing \[2\]'),
        ([0, 1, 1, 2], [[1, 0, 0, 0]], 'duplicate columns'),
        ([0, 1, 2], [[1, 0, 2]], r'F001_T1.csv: line 2, frame 1: AU2 = \'2\''),
        ([0, 1, 2], [[1, 0, 0], [2, '', 1]], r'line 3, frame 2: AU1'),
        (
            [0, 1, 2],
            [[1, 0, 0], [1, 0, 0]],
            'frame 1 appears on lines 2 and 3',
        ),
        ([0, 1, 2], [[1, 0]], 'line 2 has 2 cells'),
        ([0, 1, 2], [['inf', 0, 0]], "line 2: frame number 'inf'"),
        ([0, 1, 2], [[1, 0, 'nan']], r"frame 1: AU2 = 'nan'"),
        ([0, 1, 2], [], 'F001_T1.csv: a header row and no frame rows'),
    ],
)
def test_bp4d_csv_errors_name_file_and_frame(tmp_path, header, rows, match):
    path = str(tmp_path / 'F001_T1.csv')
    write_bp4d_csv(path, header, rows)
    with pytest.raises(ValueError, match=match):
        read_bp4d_occ_csv(path, [1, 2])


def test_disfa_file_and_subject(tmp_path):
    folder = tmp_path / 'SN001'
    folder.mkdir()
    (folder / 'SN001_au1.txt').write_text('1,0\n2,3\n3,5\n\n')
    (folder / 'SN001_au2.txt').write_text('1,1\n2,0\n3,2\n')
    values, base = read_disfa_au_file(str(folder / 'SN001_au1.txt'))
    assert values.tolist() == [0, 3, 5] and base == 1
    both, base = read_disfa_subject(str(tmp_path), 'SN001', [2, 1])
    assert both.tolist() == [[1, 0], [0, 3], [2, 5]]
    (folder / 'SN001_au4.txt').write_text('1,1\n2,0\n')
    with pytest.raises(ValueError, match='different lengths'):
        read_disfa_subject(str(tmp_path), 'SN001', [1, 4])
    with pytest.raises(FileNotFoundError, match='SN001_au9.txt'):
        read_disfa_subject(str(tmp_path), 'SN001', [1, 9])


@pytest.mark.parametrize(
    'text,match',
    [
        ('1,0\n2,7\n', 'line 2, frame 2: intensity 7'),
        ('1,0\n3,1\n', 'line 2: frameIdx 3, expected 2'),
        ('1;0\n', 'line 1: expected'),
        ('1,2.5\n', 'line 1: expected'),
        ('1,0\n2,inf\n', r'SN001_au1.txt: line 2: expected'),
        ('1,-inf\n', r'SN001_au1.txt: line 1: expected'),
        ('1,nan\n', r'SN001_au1.txt: line 1: expected'),
        ('1e400,1\n', r'SN001_au1.txt: line 1: expected'),
        ('', 'empty'),
    ],
)
def test_disfa_file_errors(tmp_path, text, match):
    path = tmp_path / 'SN001_au1.txt'
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        read_disfa_au_file(str(path))


def test_frame_images_padded_and_unpadded(tmp_path):
    for name in ('0732.jpg', '733.jpg', 'Thumbs.db'):
        (tmp_path / name).write_bytes(b'')
    images, others = list_frame_images(str(tmp_path))
    assert images == {732: '0732.jpg', 733: '733.jpg'} and others == [
        'Thumbs.db'
    ]
    (tmp_path / '732.jpg').write_bytes(b'')
    with pytest.raises(
        ValueError, match='0732.jpg and 732.jpg both name frame 732'
    ):
        list_frame_images(str(tmp_path))


def test_bp4d_intensity_file(tmp_path):
    path = tmp_path / 'F001_T1_AU06.csv'
    path.write_text('2440,0\n2441,5\n\n2442,9\n2443,3.0\n')
    frames, codes = read_bp4d_int_csv(str(path))
    assert frames.tolist() == [2440, 2441, 2442, 2443]
    assert codes.tolist() == [0, 5, 9, 3] and codes.dtype.name == 'uint8'


@pytest.mark.parametrize(
    'text,match',
    [
        ('2440,6\n', 'line 1, frame 2440: intensity 6 is not 0-5 or 9'),
        ('2440,-1\n', 'intensity -1'),
        ('2440,1\n2441,inf\n', 'line 2: expected'),
        ('2440,1,0\n', 'line 1: expected'),
        ('0,6\n', 'frame 0: intensity 6'),
        ('2440,1\n2440,1\n', 'frame 2440 appears on lines 1 and 2'),
        ('', 'empty intensity file'),
    ],
)
def test_bp4d_intensity_file_errors(tmp_path, text, match):
    path = tmp_path / 'F001_T1_AU06.csv'
    path.write_text(text)
    with pytest.raises(ValueError, match=match) as info:
        read_bp4d_int_csv(str(path))
    assert str(path) in str(info.value)


@given(st.integers(-(10**30), 10**30))
def test_parse_integer_reads_integers_in_any_spelling(n):
    assert parse_integer(str(n)) == n
    assert parse_integer(f' {n} ') == n
    if abs(n) < 2**53:
        assert parse_integer(f'{n}.0') == n


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_parse_integer_refuses_what_is_not_an_integer(x):
    # Never an exception other than a None: inf and nan included.
    value = parse_integer(repr(x))
    if x != x or x in (float('inf'), float('-inf')) or not x.is_integer():
        assert value is None
    else:
        assert value == int(x)


@pytest.mark.parametrize('text', ['', ' ', 'a', '1,2', '0x1', '1e', '--1'])
def test_parse_integer_junk(text):
    assert parse_integer(text) is None
