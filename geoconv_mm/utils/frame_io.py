"""Frames from images, image folders, videos, list files and webcams.

Every reader of the package (inference, the prepare tools, the dataset
converters) goes through this module, so that they accept the same inputs and
report a file that cannot be decoded the same way: the error names the file,
and for a video the frame.
"""

from __future__ import annotations

import os
import os.path as osp
import re
import time
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTENSIONS = (
    '.avi',
    '.mp4',
    '.mov',
    '.mkv',
    '.m4v',
    '.mpg',
    '.mpeg',
    '.wmv',
    '.webm',
)
# A list file: one image or video path per line, relative to the list's folder;
# blank lines and lines starting with '#' are skipped.
LIST_EXTENSIONS = ('.txt',)

Source = Union[str, int, os.PathLike, Sequence[Union[str, os.PathLike]]]


def _has_ext(path: Union[str, os.PathLike], exts: Tuple[str, ...]) -> bool:
    return osp.splitext(os.fspath(path))[1].lower() in exts


def is_image(path: Union[str, os.PathLike]) -> bool:
    """Whether ``path`` has an image extension."""
    return _has_ext(path, IMAGE_EXTENSIONS)


def is_video(path: Union[str, os.PathLike]) -> bool:
    """Whether ``path`` has a video extension."""
    return _has_ext(path, VIDEO_EXTENSIONS)


def is_list_file(path: Union[str, os.PathLike]) -> bool:
    """Whether ``path`` is a list file (see ``LIST_EXTENSIONS``)."""
    return _has_ext(path, LIST_EXTENSIONS)


def is_webcam(source) -> bool:
    """Whether ``source`` names a webcam: an int or a digit string."""
    return isinstance(source, int) or (
        isinstance(source, str) and source.isdigit()
    )


def natural_key(path: str) -> list:
    """Sort key putting ``2.jpg`` before ``10.jpg``."""
    return [
        int(t) if t.isdigit() else t.lower() for t in re.split(r'(\d+)', path)
    ]


def list_files(
    folder: str, recursive: bool = False, videos: bool = False
) -> List[str]:
    """Images (and, with ``videos``, videos) of ``folder``, natural order.

    Args:
        folder (str): The folder.
        recursive (bool): Search subfolders too.
        videos (bool): Also list video files.

    Returns:
        list[str]: Paths, naturally ordered by their path below ``folder``.
    """
    exts = IMAGE_EXTENSIONS + (VIDEO_EXTENSIONS if videos else ())
    if recursive:
        found = [
            osp.join(root, n)
            for root, _, names in os.walk(folder)
            for n in names
            if _has_ext(n, exts)
        ]
    else:
        found = [
            osp.join(folder, n)
            for n in os.listdir(folder)
            if _has_ext(n, exts)
        ]
    return sorted(found, key=lambda p: natural_key(osp.relpath(p, folder)))


def list_images(folder: str) -> List[str]:
    """Image files of ``folder`` in natural order; raises if there are none."""
    paths = list_files(folder)
    if not paths:
        raise ValueError(
            f'{folder}: no images ({", ".join(IMAGE_EXTENSIONS)}) '
            'in this folder'
        )
    return paths


def read_list_file(path: str) -> List[Tuple[str, str]]:
    """Entries of a list file.

    Args:
        path (str): The list file.

    Returns:
        list[tuple[str, str]]: (full path, entry as written) per entry;
        relative entries are taken from the list's folder.
    """
    base = osp.dirname(osp.abspath(path))
    with open(path) as fh:
        entries = [ln.strip() for ln in fh]
    entries = [e for e in entries if e and not e.startswith('#')]
    if not entries:
        raise ValueError(f'{path}: the list file names no image or video')
    return [(e if osp.isabs(e) else osp.join(base, e), e) for e in entries]


def read_image(path: Union[str, os.PathLike]) -> np.ndarray:
    """A BGR uint8 image; the error names the file that cannot be read."""
    path = os.fspath(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'image not found: {path}')
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(
            f'{path}: cannot decode image (corrupt or not an image)'
        )
    return image


def open_video(path: str) -> cv2.VideoCapture:
    """An opened capture of ``path``; raises naming the file otherwise."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'video not found: {path}')
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise ValueError(
            f'{path}: cannot open video (corrupt or unsupported codec)'
        )
    return cap


def count_video_frames(path: str, trust_container: bool = False) -> int:
    """Frames of a video.

    Args:
        path (str): The video.
        trust_container (bool): Use the container's frame count when it gives
            one; otherwise (the default) count the decodable frames.

    Returns:
        int: The number of frames, at least 1.
    """
    cap = open_video(path)
    try:
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if trust_container else 0
        if n <= 0:
            n = 0
            while cap.grab():
                n += 1
    finally:
        cap.release()
    if n == 0:
        raise ValueError(f'{path}: no frame could be decoded (corrupt video?)')
    return n


def read_video_frames(
    path: str, indices: Sequence[int]
) -> Iterator[Tuple[int, Union[np.ndarray, Exception]]]:
    """The wanted frames of a video, decoded in order.

    A frame that cannot be read comes as an exception naming the file and the
    frame, so that one bad frame does not stop a job.

    Args:
        path (str): The video.
        indices (Sequence[int]): 0-based frames to read.

    Yields:
        tuple: (frame index, BGR image or Exception), in increasing index.
    """
    try:
        cap = open_video(path)
    except (OSError, ValueError) as exc:
        for idx in sorted(indices):
            yield idx, exc
        return
    try:
        pos = 0
        for idx in sorted(indices):
            while pos < idx and cap.grab():
                pos += 1
            ok, frame = cap.read() if pos == idx else (False, None)
            pos += 1 if ok else 0
            yield (
                idx,
                frame
                if ok
                else ValueError(f'{path}: cannot read frame {idx}'),
            )
    finally:
        cap.release()


@dataclass
class Frame:
    """One input frame.

    Args:
        index (int): 0-based position in the input.
        timestamp (float): Seconds from the start (video position, wall clock
            for a webcam, ``index / fps`` for image sequences, as OpenFace
            does).
        image (np.ndarray | None): (H, W, 3) uint8 BGR; None when the frame
            could not be read.
        name (str): Where it came from (file, or ``video:frame``), for
            messages and CSVs.
        error (Exception, optional): Why the frame could not be read (only
            from a :class:`FrameSource` with ``keep_errors``).
    """

    index: int
    timestamp: float
    image: Optional[np.ndarray]
    name: str
    error: Optional[Exception] = None


class FrameSource:
    """Iterates the frames of ``source``.

    Args:
        source: An image path, a sequence of image paths, an image folder, a
            list file of images, a video file, or a webcam index (int or digit
            string).
        fps (float): Frame rate assumed for image sequences (OpenFace's
            default, 30).
        max_frames (int, optional): Stop after this many frames (webcams run
            forever).
        keep_errors (bool): An image of a sequence that cannot be read
            becomes a :class:`Frame` with ``image`` None and its ``error``
            instead of raising, so one bad file does not end the sequence.
    """

    def __init__(
        self,
        source: Source,
        fps: float = 30.0,
        max_frames: Optional[int] = None,
        keep_errors: bool = False,
    ) -> None:
        self.fps = fps
        self.max_frames = max_frames
        self.keep_errors = keep_errors
        self.kind, self.items = self._resolve(source)

    @staticmethod
    def _resolve(source):
        if is_webcam(source):
            return 'webcam', int(source)
        if isinstance(source, (list, tuple)):
            if not source:
                raise ValueError('empty list of images')
            return 'images', [os.fspath(p) for p in source]
        path = os.fspath(source)
        if osp.isdir(path):
            return 'images', list_images(path)
        if not osp.exists(path):
            raise FileNotFoundError(f'input not found: {path}')
        if is_video(path):
            return 'video', path
        if is_image(path):
            return 'images', [path]
        if is_list_file(path):
            paths = [full for full, _ in read_list_file(path)]
            videos = [p for p in paths if is_video(p)]
            if videos:
                raise ValueError(
                    f'{path}: lists videos ({videos[0]}); a list '
                    'for inference holds images only'
                )
            return 'images', paths
        raise ValueError(
            f'{path}: not an image ({", ".join(IMAGE_EXTENSIONS)}), a video '
            f'({", ".join(VIDEO_EXTENSIONS)}) or a list file '
            f'({", ".join(LIST_EXTENSIONS)})'
        )

    def __len__(self) -> int:
        """Number of frames when known in advance (0 for webcams)."""
        if self.kind == 'images':
            n = len(self.items)
        elif self.kind == 'video':
            cap = cv2.VideoCapture(self.items)
            n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
            cap.release()
        else:
            n = 0
        return min(n, self.max_frames) if self.max_frames else n

    def __iter__(self) -> Iterator[Frame]:
        frames = {
            'images': self._images,
            'video': self._video,
            'webcam': self._webcam,
        }
        for i, frame in enumerate(frames[self.kind]()):
            if self.max_frames is not None and i >= self.max_frames:
                return
            yield frame

    def _images(self) -> Iterator[Frame]:
        for i, path in enumerate(self.items):
            try:
                image = read_image(path)
            except (OSError, ValueError) as exc:
                if not self.keep_errors:
                    raise
                yield Frame(i, i / self.fps, None, path, exc)
                continue
            yield Frame(i, i / self.fps, image, path)

    @staticmethod
    def _capture(cap, name: str, clock) -> Iterator[Frame]:
        """Frames of an opened ``cv2.VideoCapture``; ``clock(i)`` gives
        timestamps."""
        try:
            i = 0
            while True:
                ok, image = cap.read()
                if not ok:
                    break
                yield Frame(i, clock(i), image, f'{name}:{i}')
                i += 1
        finally:
            cap.release()
        if i == 0:
            raise ValueError(
                f'{name}: no frame could be decoded (corrupt video?)'
            )

    def _video(self) -> Iterator[Frame]:
        path = self.items
        cap = open_video(path)
        fps = cap.get(cv2.CAP_PROP_FPS) or self.fps
        yield from self._capture(cap, path, lambda i: i / fps)

    def _webcam(self) -> Iterator[Frame]:
        cap = cv2.VideoCapture(self.items)
        if not cap.isOpened():
            raise ValueError(f'cannot open webcam {self.items}')
        start = time.monotonic()
        yield from self._capture(
            cap, f'webcam{self.items}', lambda i: time.monotonic() - start
        )
