"""Sample faces from scikit-image's photographs, for benchmarks and checks.

``skimage.data.astronaut()`` ships with scikit-image, so these faces exist on
every machine without a download: the geodesic benchmarks time the kernel on
them, the build comparison compares two builds' weights on them, and the
inference benchmarks feed them to the inference tool as frames.
"""

from __future__ import annotations

from typing import Dict, List

import cv2
import numpy as np

from ..utils.frame_io import Frame
from .pipeline import FacePipeline


def astronaut_bgr() -> np.ndarray:
    """``skimage.data.astronaut()`` as a BGR image, as OpenCV reads one."""
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def sample_images() -> Dict[str, np.ndarray]:
    """The astronaut photograph as it is, mirrored, scaled by 0.6 and 1.5 and
    rotated by 10 degrees, as BGR images by name."""
    image = astronaut_bgr()
    h, w = image.shape[:2]
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), 10, 1.0)
    return {
        'astronaut': image,
        'mirrored': np.ascontiguousarray(image[:, ::-1]),
        'scaled_0.6': cv2.resize(
            image, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA
        ),
        'scaled_1.5': cv2.resize(image, None, fx=1.5, fy=1.5),
        'rotated_10': cv2.warpAffine(
            image, rot, (w, h), borderMode=cv2.BORDER_REFLECT
        ),
    }


def sample_frames(n: int) -> List[Frame]:
    """``n`` one-face frames at 30 frames/s: the astronaut photograph as it
    is, mirrored, and resized to 384 and 640 pixels, in turn."""
    image = astronaut_bgr()
    variants = [
        image,
        np.ascontiguousarray(image[:, ::-1]),
        cv2.resize(image, (384, 384)),
        cv2.resize(image, (640, 640)),
    ]
    return [
        Frame(i, i / 30.0, variants[i % len(variants)], f'astronaut:{i}')
        for i in range(n)
    ]


def sample_surfaces() -> List:
    """The aligned 224 x 224 ``FaceSurface`` of every :func:`sample_images`
    image, by ``FacePipeline``'s default reconstructor (MediaPipe)."""
    pipeline = FacePipeline()
    return [pipeline.process(v).surface for v in sample_images().values()]
