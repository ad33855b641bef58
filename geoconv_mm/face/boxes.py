"""Axis-aligned boxes (x0, y0, x1, y1) in pixels: overlap and suppression."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def as_boxes(boxes) -> np.ndarray:
    """(N, 4) float64 array of xyxy boxes; raises on another shape."""
    arr = np.asarray(boxes, np.float64)
    if arr.size == 0:
        return np.zeros((0, 4))
    if arr.shape == (4,):
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f'boxes must be (N, 4) xyxy, got {arr.shape}')
    if not np.isfinite(arr).all():
        raise ValueError('boxes must be finite')
    return arr


def box_area(boxes: np.ndarray) -> np.ndarray:
    """(N,) areas; inverted boxes count as empty."""
    b = as_boxes(boxes)
    return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(
        b[:, 3] - b[:, 1], 0, None
    )


def box_intersection(a, b) -> np.ndarray:
    """(N, M) intersection areas of two box sets."""
    a, b = as_boxes(a), as_boxes(b)
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(hi - lo, 0, None)
    return wh[..., 0] * wh[..., 1]


def box_iou(a, b) -> np.ndarray:
    """(N, M) intersection over union; 0 where both boxes are empty."""
    inter = box_intersection(a, b)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def box_containment(a, b) -> np.ndarray:
    """(N, M) intersection over the smaller box's area."""
    inter = box_intersection(a, b)
    small = np.minimum(box_area(a)[:, None], box_area(b)[None, :])
    return np.divide(inter, small, out=np.zeros_like(inter), where=small > 0)


def nms(
    boxes,
    scores: Sequence[float],
    iou_threshold: float = 0.3,
    containment_threshold: float = 1.0,
) -> np.ndarray:
    """Greedy non-maximum suppression.

    A box is dropped when it overlaps a higher-scoring kept box by more than
    ``iou_threshold`` (IoU) or ``containment_threshold`` (intersection over
    the smaller box; 1.0 turns this test off). Ties in score keep the earlier
    box, so the result is deterministic.

    Args:
        boxes: (N, 4) xyxy boxes.
        scores: (N,) scores.
        iou_threshold (float): IoU above which the lower box goes.
        containment_threshold (float): Containment above which it goes.

    Returns:
        np.ndarray: int64 indices of the kept boxes, best first.
    """
    b = as_boxes(boxes)
    s = np.asarray(scores, np.float64).reshape(-1)
    if len(s) != len(b):
        raise ValueError(f'{len(b)} boxes but {len(s)} scores')
    order = np.argsort(-s, kind='stable')
    iou = box_iou(b, b)
    cont = box_containment(b, b)
    keep = []
    suppressed = np.zeros(len(b), bool)
    for i in order:
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= (iou[i] > iou_threshold) | (
            cont[i] > containment_threshold
        )
    return np.asarray(keep, np.int64)
