"""Annotated inference frames: the input, the aligned face crop, and a bar per AU."""

from __future__ import annotations

import os
import os.path as osp
from typing import Optional, Sequence

import cv2
import numpy as np

PANEL_WIDTH = 260
_ON, _OFF, _TEXT = (60, 180, 75), (150, 150, 150), (255, 255, 255)


def draw_au_frame(
    image: np.ndarray,
    crop: Optional[np.ndarray],
    probabilities: Optional[np.ndarray],
    au_names: Sequence[str],
    threshold: float = 0.5,
    height: int = 480,
) -> np.ndarray:
    """The frame (scaled to ``height``) with a side panel: the face crop on top, then one
    bar per AU whose length is its probability, green when detected.

    Returns:
        np.ndarray: (height, W, 3) uint8 BGR.
    """
    scale = height / image.shape[0]
    frame = cv2.resize(image, (max(1, round(image.shape[1] * scale)), height))
    panel = np.full((height, PANEL_WIDTH, 3), 30, np.uint8)
    y = 8
    if crop is not None:
        side = min(PANEL_WIDTH - 16, height // 2)
        panel[y : y + side, 8 : 8 + side] = cv2.resize(crop, (side, side))
        y += side + 10
    if probabilities is None:
        cv2.putText(
            panel,
            'no face',
            (10, y + 20),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.7,
            (80, 80, 230),
            2,
            cv2.LINE_AA,
        )
        return np.concatenate([frame, panel], 1)
    row = max(10, min(22, (height - y - 4) // max(1, len(au_names))))
    bar_x, bar_w = 62, PANEL_WIDTH - 70
    for name, p in zip(au_names, probabilities):
        colour = _ON if p >= threshold else _OFF
        cv2.putText(
            panel,
            name,
            (6, y + row - 6),
            cv2.FONT_HERSHEY_SIMPLEX,
            row / 36,
            _TEXT,
            1,
            cv2.LINE_AA,
        )
        cv2.rectangle(
            panel,
            (bar_x, y + 3),
            (bar_x + int(bar_w * float(p)), y + row - 3),
            colour,
            -1,
        )
        cv2.putText(
            panel,
            f'{p:.2f}',
            (bar_x + 2, y + row - 6),
            cv2.FONT_HERSHEY_SIMPLEX,
            row / 40,
            _TEXT,
            1,
            cv2.LINE_AA,
        )
        y += row
    return np.concatenate([frame, panel], 1)


class AnnotatedFrameWriter:
    """Writes annotated frames to a video (``.mp4``/``.avi``) or an image folder.

    Video files are written under a temporary name and renamed on :meth:`close`, so an
    interrupted run leaves no half-written file behind.
    """

    def __init__(self, out: str, fps: float = 30.0) -> None:
        self.out, self.fps = out, fps
        self.is_video = out.lower().endswith(('.mp4', '.avi'))
        self.writer = None
        self.size = None
        self.tmp = None
        if not self.is_video:
            os.makedirs(out, exist_ok=True)

    def write(self, index: int, frame: np.ndarray) -> None:
        if not self.is_video:
            path = osp.join(self.out, f'{index:06d}.jpg')
            ok, buf = cv2.imencode('.jpg', frame)
            if not ok:
                raise RuntimeError(f'cannot encode annotated frame {index}')
            tmp = path + '.tmp'
            with open(tmp, 'wb') as f:
                f.write(buf.tobytes())
            os.replace(tmp, path)
            return
        if self.writer is None:
            self.size = (frame.shape[1], frame.shape[0])
            os.makedirs(
                osp.dirname(osp.abspath(self.out)) or '.', exist_ok=True
            )
            root, ext = osp.splitext(self.out)
            self.tmp = f'{root}.partial{ext}'
            fourcc = cv2.VideoWriter_fourcc(
                *('mp4v' if ext.lower() == '.mp4' else 'MJPG')
            )
            self.writer = cv2.VideoWriter(
                self.tmp, fourcc, self.fps, self.size
            )
            if not self.writer.isOpened():
                raise RuntimeError(f'cannot open {self.out} for writing')
        if (frame.shape[1], frame.shape[0]) != self.size:
            frame = cv2.resize(frame, self.size)
        self.writer.write(frame)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
            os.replace(self.tmp, self.out)
            self.writer = None
