"""One frame reader: images, folders, list files, videos; errors name the
file and the frame."""

import os

import cv2
import numpy as np
import pytest

from geoconv_mm.utils.frame_io import (
    FrameSource,
    count_video_frames,
    is_image,
    is_list_file,
    is_video,
    list_files,
    read_image,
    read_list_file,
    read_video_frames,
)


def write_video(path, n, size=32):
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*'MJPG'), 10.0, (size, size)
    )
    assert writer.isOpened()
    for k in range(n):
        writer.write(np.full((size, size, 3), 20 * k, np.uint8))
    writer.release()


def write_image(path, value=0):
    assert cv2.imwrite(str(path), np.full((8, 8, 3), value, np.uint8))


def test_extensions_are_case_insensitive():
    assert is_image('a/B.JPG') and is_image('x.webp') and not is_image('x.mp4')
    assert is_video('clip.MP4') and is_video('c.avi') and not is_video('a.png')
    assert is_list_file('list.txt') and not is_list_file('a.jpg')


def test_folder_listing_is_natural_and_optionally_recursive(tmp_path):
    for name in ('10.jpg', '2.jpg', 'notes.md'):
        write_image(tmp_path / name) if name.endswith('.jpg') else (
            tmp_path / name
        ).write_text('x')
    (tmp_path / 'sub').mkdir()
    write_image(tmp_path / 'sub' / '1.png')
    write_video(tmp_path / 'clip.avi', 2)
    names = [os.path.relpath(p, tmp_path) for p in list_files(str(tmp_path))]
    assert names == ['2.jpg', '10.jpg']
    names = [
        os.path.relpath(p, tmp_path)
        for p in list_files(str(tmp_path), recursive=True, videos=True)
    ]
    assert names == [
        '2.jpg',
        '10.jpg',
        'clip.avi',
        os.path.join('sub', '1.png'),
    ]


def test_list_file_entries_are_relative_to_the_list(tmp_path):
    write_image(tmp_path / 'a.jpg')
    lst = tmp_path / 'frames.txt'
    lst.write_text('# comment\n\na.jpg\n/abs/b.png\n')
    assert read_list_file(str(lst)) == [
        (str(tmp_path / 'a.jpg'), 'a.jpg'),
        ('/abs/b.png', '/abs/b.png'),
    ]
    empty = tmp_path / 'empty.txt'
    empty.write_text('# nothing\n')
    with pytest.raises(ValueError, match='empty.txt'):
        read_list_file(str(empty))
    lst.write_text('a.jpg\n')
    frames = list(FrameSource(str(lst), fps=10))
    assert [f.name for f in frames] == [str(tmp_path / 'a.jpg')]


def test_decode_errors_name_the_file_and_the_frame(tmp_path):
    bad = tmp_path / 'bad.jpg'
    bad.write_bytes(b'not a jpeg')
    with pytest.raises(ValueError, match=r'bad\.jpg: cannot decode'):
        read_image(bad)
    with pytest.raises(FileNotFoundError, match='missing.png'):
        read_image(tmp_path / 'missing.png')
    video = tmp_path / 'clip.avi'
    write_video(video, 3)
    got = dict(read_video_frames(str(video), [0, 2, 7]))
    assert got[0].shape == (32, 32, 3) and got[2].shape == (32, 32, 3)
    assert isinstance(got[7], ValueError)
    assert str(got[7]) == f'{video}: cannot read frame 7'
    broken = tmp_path / 'broken.mp4'
    broken.write_bytes(b'\0' * 64)
    out = list(read_video_frames(str(broken), [1, 0]))
    assert [i for i, _ in out] == [0, 1]
    assert all(
        isinstance(e, ValueError) and 'broken.mp4' in str(e) for _, e in out
    )
    with pytest.raises(ValueError, match='broken.mp4'):
        count_video_frames(str(broken))


def test_video_frames_are_counted_and_iterated(tmp_path):
    video = tmp_path / 'clip.avi'
    write_video(video, 5)
    assert count_video_frames(str(video)) == 5
    frames = list(FrameSource(str(video)))
    assert [f.index for f in frames] == list(range(5))
    assert frames[3].name == f'{video}:3'
    assert frames[3].timestamp == pytest.approx(0.3)
    assert abs(int(frames[3].image.mean()) - 60) <= 3


def test_a_list_for_inference_holds_images_only(tmp_path):
    write_video(tmp_path / 'clip.avi', 2)
    lst = tmp_path / 'l.txt'
    lst.write_text('clip.avi\n')
    with pytest.raises(ValueError, match='clip.avi'):
        FrameSource(str(lst))


def test_keep_errors_turns_a_bad_image_into_a_frame(tmp_path):
    good = np.full((8, 8, 3), 200, np.uint8)
    cv2.imwrite(str(tmp_path / '1.png'), good)
    (tmp_path / '2.png').write_bytes(b'\x89PNG broken')
    cv2.imwrite(str(tmp_path / '3.png'), good)
    with pytest.raises(ValueError, match=r'2\.png'):
        list(FrameSource(str(tmp_path)))
    frames = list(FrameSource(str(tmp_path), keep_errors=True))
    assert [f.index for f in frames] == [0, 1, 2]
    assert frames[1].image is None and isinstance(frames[1].error, ValueError)
    assert '2.png' in str(frames[1].error)
    for f in (frames[0], frames[2]):
        assert f.error is None
        np.testing.assert_array_equal(f.image, good)
    missing = tmp_path / 'list.txt'
    missing.write_text('1.png\ngone.png\n')
    frames = list(FrameSource(str(missing), keep_errors=True))
    assert isinstance(frames[1].error, FileNotFoundError)
