"""The inputs of a many-input run: folders, lists, names, shards."""

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geoconv_mm.apis.inference_inputs import (
    InferenceInput,
    find_inputs,
    shard_inputs,
)


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'')
    return str(path)


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / 'study'
    for rel in ('a.mp4', 'B.avi', '2.png', '10.png', 'notes.csv'):
        touch(root / rel)
    for rel in ('s01/t1.mp4', 's01/frames/1.jpg', 's01/frames/2.jpg'):
        touch(root / rel)
    return root


def summary(inputs):
    return [
        (i.kind, i.name, [os.path.basename(p) for p in i.items])
        for i in inputs
    ]


def test_a_folder_gives_its_videos_and_one_image_sequence(tree):
    assert summary(find_inputs([str(tree)])) == [
        ('video', 'a', []),
        ('video', 'B', []),
        ('images', 'study', ['2.png', '10.png']),  # natural order
    ]


def test_recursive_mirrors_the_tree(tree):
    found = find_inputs([str(tree)], recursive=True)
    assert summary(found) == [
        ('video', 'a', []),
        ('video', 'B', []),
        ('images', 'study', ['2.png', '10.png']),
        ('video', 's01/t1', []),
        ('images', 's01/frames', ['1.jpg', '2.jpg']),
    ]
    out = os.path.join('o', 'u', 't')
    by_name = {i.name: i for i in found}
    assert by_name['s01/t1'].csv_path(out) == os.path.join(
        out, 's01', 't1.csv'
    )
    assert by_name['s01/t1'].sequence and not by_name['study'].sequence


def test_a_list_file_names_videos_folders_and_images(tree, tmp_path):
    lst = tmp_path / 'todo.txt'
    lst.write_text(
        '# lab videos\nstudy/a.mp4\n\nstudy/s01\nstudy/2.png\ngone.mp4\n'
    )
    found = find_inputs([str(lst)])
    assert summary(found) == [
        ('video', 'study/a', []),
        ('video', 'study/s01/t1', []),
        ('missing', 'gone', []),
        ('images', 'todo', ['2.png']),
    ]
    with pytest.raises(FileNotFoundError, match='gone.mp4'):
        found[2].open()


def test_webcams_single_files_and_bad_paths(tree):
    found = find_inputs(['0', str(tree / 'a.mp4'), str(tree / '2.png')])
    assert summary(found) == [
        ('webcam', 'webcam0', []),
        ('video', 'a', []),
        ('images', '2', ['2.png']),
    ]
    with pytest.raises(FileNotFoundError, match='nothere.mp4'):
        find_inputs([str(tree / 'nothere.mp4')])
    with pytest.raises(ValueError, match='notes.csv'):
        find_inputs([str(tree / 'notes.csv')])
    empty = tree / 'empty'
    empty.mkdir()
    with pytest.raises(ValueError, match='--recursive'):
        find_inputs([str(empty)])


def test_two_inputs_for_one_csv_is_an_error(tmp_path):
    one = touch(tmp_path / 'x' / 'clip.mp4')
    two = touch(tmp_path / 'y' / 'clip.mp4')
    with pytest.raises(ValueError, match='both write clip.csv'):
        find_inputs([one, two])


@given(
    names=st.lists(
        st.from_regex(r'[a-z0-9]{1,6}', fullmatch=True), unique=True
    ),
    count=st.integers(1, 7),
    seed=st.randoms(),
)
def test_shards_partition_the_inputs_whatever_their_order(names, count, seed):
    inputs = [InferenceInput('video', f'{n}.mp4', n) for n in names]
    shuffled = list(inputs)
    seed.shuffle(shuffled)
    shards = [shard_inputs(inputs, i, count) for i in range(1, count + 1)]
    again = [shard_inputs(shuffled, i, count) for i in range(1, count + 1)]
    assert shards == again  # the order of the paths does not matter
    flat = [i for s in shards for i in s]
    assert sorted(flat, key=lambda i: i.name) == sorted(
        inputs, key=lambda i: i.name
    )
    sizes = [len(s) for s in shards]
    assert max(sizes) - min(sizes) <= 1
