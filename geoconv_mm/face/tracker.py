"""Face identities across a video: a light tracker on box overlap and
landmarks (no motion model, no appearance model)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

import numpy as np
from scipy.optimize import linear_sum_assignment

from .boxes import as_boxes, box_iou


@dataclass
class Track:
    """A face identity: its last box and landmarks, and frames since seen."""

    face_id: int
    box: np.ndarray
    landmarks: Optional[np.ndarray]
    missed: int = 0


class FaceTracker:
    """Give each face in a frame a ``face_id`` that it keeps over frames.

    Each frame's faces are matched to the live tracks by one optimal
    assignment (Hungarian, :func:`scipy.optimize.linear_sum_assignment`) on

    ``cost = (1 - IoU(box, track box)) + landmark_weight * d``

    where ``d`` is the mean landmark distance over the track box's side. A
    pair is allowed only if ``IoU >= min_iou`` or ``d <= max_landmark_dist``
    (fast motion can lose the overlap but keep the landmarks close). A face
    left unmatched starts a new track with the next id (0, 1, 2, ... in
    order of appearance; within a frame, in input order). A track unmatched
    for more than ``max_missed`` frames is retired, so a face that leaves
    the picture, or is missed for longer, and comes back gets a *new* id:
    nothing recognises a person. Results depend only on the inputs.

    Args:
        min_iou (float): Smallest box overlap that can continue a track.
        landmark_weight (float): Weight of the landmark term.
        max_landmark_dist (float): Largest normalised landmark distance
            that continues a track without overlap.
        max_missed (int): Frames a track survives without a match.
    """

    def __init__(
        self,
        min_iou: float = 0.2,
        landmark_weight: float = 1.0,
        max_landmark_dist: float = 0.5,
        max_missed: int = 10,
    ) -> None:
        if max_missed < 0:
            raise ValueError(f'max_missed must be >= 0, got {max_missed}')
        self.min_iou = min_iou
        self.landmark_weight = landmark_weight
        self.max_landmark_dist = max_landmark_dist
        self.max_missed = max_missed
        self.reset()

    def reset(self) -> None:
        """Forget every track; ids restart at 0 (a new video)."""
        self.tracks: List[Track] = []
        self.next_id = 0

    def _landmark_dist(
        self, n: int, landmarks: Optional[np.ndarray]
    ) -> np.ndarray:
        """(n, tracks) landmark distance over the track box's side; inf
        where either side has no landmarks."""
        d = np.full((n, len(self.tracks)), np.inf)
        if landmarks is None:
            return d
        for j, t in enumerate(self.tracks):
            if t.landmarks is None or t.landmarks.shape != landmarks.shape[1:]:
                continue
            side = max((t.box[2] - t.box[0] + t.box[3] - t.box[1]) / 2, 1e-9)
            d[:, j] = (
                np.linalg.norm(landmarks - t.landmarks[None], axis=-1).mean(-1)
                / side
            )
        return d

    def update(self, boxes, landmarks=None) -> List[int]:
        """Assign ids to one frame's faces.

        Args:
            boxes: (N, 4) xyxy face boxes (N may be 0: a frame without faces
                still ages the tracks).
            landmarks: Optional (N, K, 2) points per face in a fixed order
                (detector keypoints or mesh landmarks).

        Returns:
            list[int]: The ``face_id`` of each input face, in input order.
        """
        b = as_boxes(boxes)
        lm = None
        if landmarks is not None:
            lm = np.asarray(landmarks, np.float64)
            if lm.ndim != 3 or len(lm) != len(b) or lm.shape[2] != 2:
                raise ValueError(
                    f'landmarks must be (N={len(b)}, K, 2), got {lm.shape}'
                )
        ids = [-1] * len(b)
        matched = set()
        if len(b) and self.tracks:
            iou = box_iou(b, np.stack([t.box for t in self.tracks]))
            dist = self._landmark_dist(len(b), lm)
            allowed = (iou >= self.min_iou) | (dist <= self.max_landmark_dist)
            term = np.where(np.isfinite(dist), dist, 0.0)
            cost = (1 - iou) + self.landmark_weight * term
            cost = np.where(allowed, cost, 1e6)
            rows, cols = linear_sum_assignment(cost)
            for i, j in zip(rows, cols):
                if allowed[i, j]:
                    t = self.tracks[j]
                    ids[i] = t.face_id
                    t.box = b[i].copy()
                    t.landmarks = None if lm is None else lm[i].copy()
                    t.missed = 0
                    matched.add(j)
        survivors = []
        for j, t in enumerate(self.tracks):
            if j not in matched:
                t.missed += 1
            if t.missed <= self.max_missed:
                survivors.append(t)
        self.tracks = survivors
        for i in range(len(b)):
            if ids[i] < 0:
                ids[i] = self.next_id
                self.tracks.append(
                    Track(
                        self.next_id,
                        b[i].copy(),
                        None if lm is None else lm[i].copy(),
                    )
                )
                self.next_id += 1
        return ids
