"""The image region the mesh stage runs on for one detected face."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

from .detectors import FaceDetection


@dataclass
class FaceCrop:
    """A square crop around one face and the map back to the image.

    Crop pixel ``(u, v)`` shows image pixel ``(x0 + u / scale,
    y0 + v / scale)``; parts outside the image are black.

    Args:
        image (np.ndarray): (S, S, 3) uint8 BGR crop.
        region (np.ndarray): (4,) float64 x0, y0, x1, y1 of the square in
            image pixels (may extend past the image).
        scale (float): Crop pixels per image pixel.
    """

    image: np.ndarray
    region: np.ndarray
    scale: float

    @property
    def affine(self) -> np.ndarray:
        """(2, 3) map from image pixels to crop pixels."""
        s = self.scale
        return np.array(
            [[s, 0.0, -s * self.region[0]], [0.0, s, -s * self.region[1]]]
        )

    def points_to_image(self, points: np.ndarray) -> np.ndarray:
        """Crop-frame points (N, 2) or mesh vertices (N, 3) to image pixels.

        A third column (depth scaled like x and y) is divided by the same
        scale, so meshes stay in the reconstructors' image frame.
        """
        p = np.array(points, np.float64, copy=True)
        p[:, :2] = p[:, :2] / self.scale + self.region[:2]
        if p.shape[1] > 2:
            p[:, 2:] = p[:, 2:] / self.scale
        return p


def crop_region(box, margin: float = 2.0) -> np.ndarray:
    """Square region centred on a face box, ``margin`` times its side.

    MediaPipe's face mesh finds a face filling a third to a half of its
    input best; twice the detector's box gives a half.
    """
    b = np.asarray(box, np.float64)
    centre = (b[:2] + b[2:]) / 2
    side = max(b[2] - b[0], b[3] - b[1]) * margin
    if not side > 0:
        raise ValueError(f'face box {b.tolist()} is empty')
    return np.concatenate([centre - side / 2, centre + side / 2])


def face_crop(
    image_bgr: np.ndarray,
    detection: FaceDetection,
    margin: float = 2.0,
    size: Optional[int] = 256,
) -> FaceCrop:
    """Cut the region the mesh stage should run on for one detection.

    Args:
        image_bgr (np.ndarray): (H, W, 3) source image.
        detection (FaceDetection): The face.
        margin (float): Crop side over the face box's side.
        size (int, optional): Resample the crop to ``size`` x ``size``
            pixels (small faces are enlarged, large ones shrunk: the mesh
            model's input is 192 px); ``None`` keeps the image's resolution.

    Returns:
        FaceCrop: The crop and its map back to the image.
    """
    region = crop_region(detection.box, margin)
    side = region[2] - region[0]
    out = int(round(side)) if size is None else int(size)
    scale = out / side
    crop = FaceCrop(np.zeros((out, out, 3), np.uint8), region, scale)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    crop.image = cv2.warpAffine(
        image_bgr,
        crop.affine,
        (out, out),
        flags=interp,
        borderMode=cv2.BORDER_CONSTANT,
    )
    return crop


def mesh_box(vertices: np.ndarray) -> np.ndarray:
    """(4,) xyxy extent of a mesh's image points (for matching and
    tracking)."""
    xy = np.asarray(vertices, np.float64)[:, :2]
    return np.concatenate([xy.min(0), xy.max(0)])


def mesh_in_detection(
    vertices: np.ndarray, detection: FaceDetection, min_fraction: float = 0.5
) -> bool:
    """Whether a mesh found in a crop is the detected face and not a
    neighbour reaching into the crop: its centre lies in the box and it
    covers at least ``min_fraction`` of the box's side."""
    mb = mesh_box(vertices)
    c = (mb[:2] + mb[2:]) / 2
    b = detection.box
    inside = b[0] <= c[0] <= b[2] and b[1] <= c[1] <= b[3]
    return bool(inside and (mb[2] - mb[0]) >= min_fraction * (b[2] - b[0]))
