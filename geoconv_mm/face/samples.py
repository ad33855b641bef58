"""Sample faces from scikit-image's photographs, for benchmarks and checks.

``skimage.data.astronaut()`` ships with scikit-image, so these faces exist on
every machine without a download: the geodesic benchmarks time the kernel on
them, and the build comparison compares two builds' weights on them.
"""

from __future__ import annotations

from typing import Dict, List

import cv2
import numpy as np

from .pipeline import FacePipeline


def sample_images() -> Dict[str, np.ndarray]:
    """The astronaut photograph as it is, mirrored, scaled by 0.6 and 1.5 and
    rotated by 10 degrees, as BGR images by name."""
    from skimage import data

    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
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


def sample_surfaces() -> List:
    """The aligned 224 x 224 ``FaceSurface`` of every :func:`sample_images`
    image, by ``FacePipeline``'s default reconstructor (MediaPipe)."""
    pipeline = FacePipeline()
    return [pipeline.process(v).surface for v in sample_images().values()]
