"""Image in, aligned face crop and its 3D surface out (paper Sec. 4.1 preprocessing).

The face is found and reconstructed by a pluggable reconstructor, aligned by a
similarity transform (rotation, uniform scale, translation: shape-preserving) that
sends the eye centres and the mouth centre to fixed template positions of the crop,
and the mesh is carried into the crop's pixel frame. The facial region is the
rasterised mesh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from geoconv_mm.geodesic.raster import rasterize_fast
from geoconv_mm.geodesic.surface import DegenerateMeshError, FaceSurface

from .alignment import (
    DEFAULT_TEMPLATE,
    KEYPOINTS,
    similarity_transform,
    template_points,
)
from .reconstructors import build_reconstructor


class NoFaceError(RuntimeError):
    """The reconstructor found no face in the image."""


@dataclass
class FaceResult:
    """Output of :meth:`FacePipeline.process`.

    Args:
        crop (np.ndarray): (H, W, 3) uint8 BGR aligned face.
        surface (FaceSurface): Mesh in the crop's pixel frame.
        mask (np.ndarray): (H, W) bool facial region (pixels covered by the mesh).
        confidence (float): Detector score.
        affine (np.ndarray): (2, 3) map from source image to crop pixels.
    """

    crop: np.ndarray
    surface: FaceSurface
    mask: np.ndarray
    confidence: float
    affine: np.ndarray


class FacePipeline:
    """Find, reconstruct and align a face.

    Args:
        reconstructor (dict | callable): Config of a ``RECONSTRUCTORS`` entry
            (default ``dict(type='MediaPipeFaceMesh')``) or a built instance.
        crop_size (int | tuple[int, int]): (H, W) of the aligned crop; 224 in the paper.
        template (dict, optional): Keypoint positions as fractions of the crop.
        min_confidence (float): Faces scoring lower raise :class:`NoFaceError`.
        mask_background (bool): Zero the crop outside the facial region.
    """

    def __init__(
        self,
        reconstructor: Union[dict, object, None] = None,
        crop_size: Union[int, Tuple[int, int]] = 224,
        template: Optional[Dict[str, Sequence[float]]] = None,
        min_confidence: float = 0.0,
        mask_background: bool = False,
    ) -> None:
        self.reconstructor = build_reconstructor(
            reconstructor
            if reconstructor is not None
            else dict(type='MediaPipeFaceMesh')
        )
        self.crop_size = (
            (crop_size, crop_size)
            if isinstance(crop_size, int)
            else tuple(crop_size)
        )
        self.template = dict(
            DEFAULT_TEMPLATE if template is None else template
        )
        self.min_confidence = min_confidence
        self.mask_background = mask_background

    def process(
        self,
        image_bgr: np.ndarray,
        meta: Optional[dict] = None,
        name: str = 'image',
    ) -> FaceResult:
        """Align one image.

        Args:
            image_bgr (np.ndarray): (H, W, 3) uint8 BGR image.
            meta (dict, optional): Frame identity (``source``, ``frame_index``) for
                file-backed reconstructors.
            name (str): How errors name this frame.

        Raises:
            NoFaceError: No face (or one below ``min_confidence``).
            DegenerateMeshError: The reconstructed mesh is unusable.
        """
        if (
            not isinstance(image_bgr, np.ndarray)
            or image_bgr.ndim != 3
            or image_bgr.shape[2] != 3
            or image_bgr.size == 0
        ):
            shape = getattr(image_bgr, 'shape', None)
            raise ValueError(
                f'{name}: expected an (H, W, 3) BGR image, got {shape}'
            )
        raw = self.reconstructor(image_bgr, meta)
        if raw is None:
            raise NoFaceError(f'{name}: no face found')
        if raw.confidence < self.min_confidence:
            raise NoFaceError(
                f'{name}: face score {raw.confidence:.2f} below '
                f'{self.min_confidence}'
            )
        source = FaceSurface(
            raw.vertices, raw.faces, image_bgr.shape[:2]
        ).validate(name)
        h, w = self.crop_size
        src = np.stack([raw.keypoints[k] for k in KEYPOINTS])
        if not np.isfinite(src).all():
            raise DegenerateMeshError(f'{name}: keypoints are not finite')
        dst = template_points((h, w), self.template)
        affine = similarity_transform(src, dst)
        crop = cv2.warpAffine(
            image_bgr,
            affine,
            (w, h),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
        )
        surface = source.transform(affine, (h, w)).validate(name)
        mask = rasterize_mask(surface)
        if self.mask_background:
            crop = crop * mask[..., None].astype(crop.dtype)
        return FaceResult(crop, surface, mask, float(raw.confidence), affine)


def rasterize_mask(surface: FaceSurface) -> np.ndarray:
    """(H, W) bool: pixels whose centre is covered by the mesh."""
    tri, _ = rasterize_fast(
        surface.vertices, surface.faces, surface.image_size
    )
    return tri >= 0
