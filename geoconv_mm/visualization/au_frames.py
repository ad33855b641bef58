"""Annotated inference frames: the input, the aligned face crop and a bar per
AU; or every face of the frame boxed with its id and its AU bars.

A bar's length is the AU's occurrence probability (green when detected),
and, for a model with an intensity head, an orange bar gives its intensity
on the 0-5 scale: under the probability's, or alone for a model with no
occurrence output."""

from __future__ import annotations

import os
import os.path as osp
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from geoconv_mm.datasets.au_info import MAX_INTENSITY

PANEL_WIDTH = 260
_ON, _OFF, _TEXT = (60, 180, 75), (150, 150, 150), (255, 255, 255)
#: BGR of the intensity bars.
INTENSITY_COLOUR = (40, 150, 250)
# Share of a row's bar height that the probability bar keeps when an
# intensity bar sits under it.
_PROBABILITY_SHARE = 0.6


def draw_au_frame(
    image: np.ndarray,
    crop: Optional[np.ndarray],
    probabilities: Optional[np.ndarray],
    au_names: Sequence[str],
    threshold: Optional[float] = 0.5,
    height: int = 480,
    intensities: Optional[np.ndarray] = None,
) -> np.ndarray:
    """The frame (scaled to ``height``) with a side panel: the face crop on
    top, then one bar per AU whose length is its probability, green when
    detected, and its intensity (0-5) in orange when given.

    Args:
        image (np.ndarray): (H, W, 3) uint8 BGR frame.
        crop (np.ndarray | None): The aligned face crop.
        probabilities (np.ndarray | None): (A,) probabilities; None for
            a frame without a face or a model without occurrence.
        au_names (Sequence[str]): AU names, in the values' order.
        threshold (float | None): Presence threshold.
        height (int): Output height.
        intensities (np.ndarray, optional): (A,) intensities, 0-5.

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
    if probabilities is None and intensities is None:
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
    _bars(
        panel,
        y,
        row,
        probabilities,
        au_names,
        threshold,
        margin=3,
        values=True,
        intensities=intensities,
    )
    return np.concatenate([frame, panel], 1)


def face_colour(face_id: int) -> Tuple[int, int, int]:
    """A BGR colour per face id, distinct for neighbouring ids (golden-ratio
    hue steps)."""
    hue = int((face_id * 0.618034 % 1.0) * 180)
    hsv = np.uint8([[[hue, 200, 255]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def _bars(
    panel: np.ndarray,
    y: int,
    row: int,
    probabilities: Optional[Sequence[float]],
    au_names: Sequence[str],
    threshold: Optional[float],
    margin: int = 1,
    values: bool = False,
    intensities: Optional[Sequence[float]] = None,
) -> None:
    """One labelled row per AU from ``y`` down, ``row`` pixels each: the
    probability's bar, and the intensity's under it (or alone).

    Args:
        panel (np.ndarray): (H, W, 3) uint8 BGR panel, drawn in place.
        y (int): Top of the first row.
        row (int): Row height in pixels.
        probabilities (Sequence[float] | None): One per AU, in
            ``au_names`` order; None for a model without occurrence.
        au_names (Sequence[str]): The bars' labels.
        threshold (float | None): Probability bars at or above it are
            drawn as detected.
        margin (int): Gap between the bars and their row's top and bottom.
        values (bool): Also write each value on its bar.
        intensities (Sequence[float], optional): One per AU, 0-5.
    """
    bar_x, bar_w = 62, PANEL_WIDTH - 70
    count = len(au_names)
    probs = [None] * count if probabilities is None else probabilities
    levels = [None] * count if intensities is None else intensities
    for name, p, r in zip(au_names, probs, levels):
        top, bottom = y + margin, y + row - margin
        split = bottom
        if p is not None and r is not None:
            split = top + max(1, round((bottom - top) * _PROBABILITY_SHARE))
        baseline = y + row - 2 * margin
        cv2.putText(
            panel,
            name,
            (6, baseline),
            cv2.FONT_HERSHEY_SIMPLEX,
            row / 36,
            _TEXT,
            1,
            cv2.LINE_AA,
        )
        text = []
        if p is not None:
            on = threshold is not None and p >= threshold
            cv2.rectangle(
                panel,
                (bar_x, top),
                (bar_x + int(bar_w * float(p)), split),
                _ON if on else _OFF,
                -1,
            )
            text.append(f'{p:.2f}')
        if r is not None:
            cv2.rectangle(
                panel,
                (bar_x, split if p is not None else top),
                (bar_x + int(bar_w * float(r) / MAX_INTENSITY), bottom),
                INTENSITY_COLOUR,
                -1,
            )
            text.append(f'{r:.1f}')
        if values:
            cv2.putText(
                panel,
                ' | '.join(text),
                (bar_x + 2, baseline),
                cv2.FONT_HERSHEY_SIMPLEX,
                row / 40,
                _TEXT,
                1,
                cv2.LINE_AA,
            )
        y += row


def draw_au_faces(
    image: np.ndarray,
    faces: Sequence,
    au_names: Sequence[str],
    threshold: Optional[float] = 0.5,
    height: int = 480,
) -> np.ndarray:
    """Every face of a frame: its box and ``id`` on the frame (scaled to
    ``height``) and, in a side panel of fixed width, one section per face
    with its id and one bar per AU (green when detected; the intensity in
    orange for a model with an intensity head).

    The output width depends only on the frame's, so the frames of a video
    stay one size however many faces they hold. Faces that do not fit the
    panel are counted at its foot.

    Args:
        image (np.ndarray): (H, W, 3) uint8 BGR frame.
        faces (Sequence): Predictions with ``success``, ``face_id``,
            ``box`` (xyxy, frame pixels), ``probabilities`` and
            ``intensities`` (:class:`~geoconv_mm.apis.AUPrediction`);
            those without a face are skipped.
        au_names (Sequence[str]): AU names, in the values' order.
        threshold (float | None): Presence threshold.
        height (int): Output height.

    Returns:
        np.ndarray: (height, W, 3) uint8 BGR.
    """
    scale = height / image.shape[0]
    frame = cv2.resize(image, (max(1, round(image.shape[1] * scale)), height))
    panel = np.full((height, PANEL_WIDTH, 3), 30, np.uint8)
    faces = [
        f
        for f in faces
        if f.success
        and (f.probabilities is not None or f.intensities is not None)
    ]
    font = cv2.FONT_HERSHEY_SIMPLEX
    if not faces:
        cv2.putText(
            panel,
            'no face',
            (10, 28),
            font,
            0.7,
            (80, 80, 230),
            2,
            cv2.LINE_AA,
        )
        return np.concatenate([frame, panel], 1)
    for f in faces:
        x0, y0, x1, y1 = (int(round(v * scale)) for v in f.box)
        colour = face_colour(f.face_id)
        cv2.rectangle(frame, (x0, y0), (x1, y1), colour, 2)
        cv2.putText(
            frame,
            f'id {f.face_id}',
            (x0, max(14, y0 - 6)),
            font,
            0.55,
            colour,
            2,
            cv2.LINE_AA,
        )
    header, min_row = 18, 6
    section = header + min_row * len(au_names) + 6
    fits = max(1, min(len(faces), (height - 22) // section))
    row = max(
        min_row,
        min(18, ((height - 22) // fits - header - 6) // max(1, len(au_names))),
    )
    y = 4
    for f in faces[:fits]:
        cv2.putText(
            panel,
            f'id {f.face_id}',
            (6, y + 14),
            font,
            0.5,
            face_colour(f.face_id),
            1,
            cv2.LINE_AA,
        )
        _bars(
            panel,
            y + header,
            row,
            f.probabilities,
            au_names,
            threshold,
            intensities=f.intensities,
        )
        y += header + row * len(au_names) + 6
    if len(faces) > fits:
        cv2.putText(
            panel,
            f'+{len(faces) - fits} more',
            (6, height - 6),
            font,
            0.45,
            _TEXT,
            1,
            cv2.LINE_AA,
        )
    return np.concatenate([frame, panel], 1)


class AnnotatedFrameWriter:
    """Writes annotated frames to a video (``.mp4``/``.avi``) or an image
    folder.

    Video files are written under a temporary name and renamed on
    :meth:`close`, so an interrupted run leaves no half-written file behind.
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
