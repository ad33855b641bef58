"""Frames from an image, a list of images, an image folder, a video file or a webcam."""
from __future__ import annotations

import os
import os.path as osp
import re
import time
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Union

import cv2
import numpy as np

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTENSIONS = ('.avi', '.mp4', '.mov', '.mkv', '.m4v', '.mpg', '.mpeg', '.wmv', '.webm')

Source = Union[str, int, os.PathLike, Sequence[Union[str, os.PathLike]]]


@dataclass
class Frame:
    """One input frame.

    Args:
        index (int): 0-based position in the input.
        timestamp (float): Seconds from the start (video position, wall clock for a
            webcam, ``index / fps`` for image sequences, as OpenFace does).
        image (np.ndarray): (H, W, 3) uint8 BGR.
        name (str): Where it came from (file, or ``video:frame``), for messages and CSVs.
    """

    index: int
    timestamp: float
    image: np.ndarray
    name: str


def _natural_key(path: str):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r'(\d+)', path)]


def _read_image(path: str) -> np.ndarray:
    if not osp.isfile(path):
        raise FileNotFoundError(f'image not found: {path}')
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f'{path}: cannot decode image (corrupt or not an image)')
    return image


def list_images(folder: str) -> List[str]:
    """Image files of ``folder`` in natural order (``2.jpg`` before ``10.jpg``)."""
    names = [n for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTENSIONS)]
    if not names:
        raise ValueError(f'{folder}: no images ({", ".join(IMAGE_EXTENSIONS)}) in this folder')
    return [osp.join(folder, n) for n in sorted(names, key=_natural_key)]


def _is_webcam(source) -> bool:
    return isinstance(source, int) or (isinstance(source, str) and source.isdigit())


class FrameSource:
    """Iterates the frames of ``source``.

    Args:
        source: An image path, a sequence of image paths, an image folder, a video file,
            or a webcam index (int or digit string).
        fps (float): Frame rate assumed for image sequences (OpenFace's default, 30).
        max_frames (int, optional): Stop after this many frames (webcams run forever).
    """

    def __init__(self, source: Source, fps: float = 30.0,
                 max_frames: Optional[int] = None) -> None:
        self.fps = fps
        self.max_frames = max_frames
        self.kind, self.items = self._resolve(source)

    @staticmethod
    def _resolve(source):
        if _is_webcam(source):
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
        if path.lower().endswith(VIDEO_EXTENSIONS):
            return 'video', path
        if path.lower().endswith(IMAGE_EXTENSIONS):
            return 'images', [path]
        raise ValueError(f'{path}: not an image ({", ".join(IMAGE_EXTENSIONS)}) or a video '
                         f'({", ".join(VIDEO_EXTENSIONS)})')

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
        frames = {'images': self._images, 'video': self._video, 'webcam': self._webcam}
        for i, frame in enumerate(frames[self.kind]()):
            if self.max_frames is not None and i >= self.max_frames:
                return
            yield frame

    def _images(self) -> Iterator[Frame]:
        for i, path in enumerate(self.items):
            yield Frame(i, i / self.fps, _read_image(path), path)

    @staticmethod
    def _capture(cap, name: str, clock) -> Iterator[Frame]:
        """Frames of an opened ``cv2.VideoCapture``; ``clock(i)`` gives timestamps."""
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
            raise ValueError(f'{name}: no frame could be decoded (corrupt video?)')

    def _video(self) -> Iterator[Frame]:
        path = self.items
        cap = cv2.VideoCapture(path)
        if not cap.isOpened():
            raise ValueError(f'{path}: cannot open video (corrupt or unsupported codec)')
        fps = cap.get(cv2.CAP_PROP_FPS) or self.fps
        yield from self._capture(cap, path, lambda i: i / fps)

    def _webcam(self) -> Iterator[Frame]:
        cap = cv2.VideoCapture(self.items)
        if not cap.isOpened():
            raise ValueError(f'cannot open webcam {self.items}')
        start = time.monotonic()
        yield from self._capture(cap, f'webcam{self.items}', lambda i: time.monotonic() - start)
