"""Geometric transforms that move the image and the face surface together.

They refuse to run after ``GenerateGeodesicWeights`` or ``RenderDepth``:
weights and depth are derived from the transformed surface, which keeps them
consistent with the image by construction (flipping a weight grid is only exact
for some layer specs).
"""

from __future__ import annotations

from typing import Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmpretrain.registry import TRANSFORMS

_DERIVED = ('geo_weights', 'depth')


def _check_order(transform: BaseTransform, results: dict) -> None:
    done = [k for k in _DERIVED if k in results]
    if done:
        raise RuntimeError(
            f'{type(transform).__name__} must run before '
            'GenerateGeodesicWeights / RenderDepth (results already hold '
            f'{done}); put geometric transforms first'
        )


def _check_surface(results: dict) -> None:
    surface = results.get('face_surface')
    if surface is not None and tuple(surface.image_size) != tuple(
        results['img'].shape[:2]
    ):
        raise ValueError(
            f'face_surface image_size {tuple(surface.image_size)} differs from'
            f" the image {results['img'].shape[:2]}"
        )


def _apply_affine(
    results: dict, affine: np.ndarray, out_hw: Tuple[int, int]
) -> None:
    """Move the surface (if any) with a 2x3 pixel-centre affine map."""
    if results.get('face_surface') is not None:
        results['face_surface'] = results['face_surface'].transform(
            affine, tuple(out_hw)
        )


@TRANSFORMS.register_module()
class RandomFlipFace(BaseTransform):
    """Horizontally flip the image and the face surface together.

    **Required Keys:**

    - img
    - face_surface (optional)

    **Modified Keys:**

    - img
    - face_surface

    **Added Keys:**

    - flip
    - flip_direction

    Args:
        prob (float): Flip probability.
        direction (str): Only 'horizontal': a vertically flipped face is not a
            face.
    """

    def __init__(self, prob: float = 0.5, direction: str = 'horizontal'):
        if direction != 'horizontal':
            raise ValueError(
                f'RandomFlipFace only flips horizontally, got {direction!r}'
            )
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = prob
        self.direction = direction

    @cache_randomness
    def _do_flip(self) -> bool:
        return bool(np.random.rand() < self.prob)

    def transform(self, results: dict) -> dict:
        _check_order(self, results)
        _check_surface(results)
        flip = self._do_flip()
        if flip:
            # cv2.flip writes a contiguous copy; mmcv.imflip's strided view
            # slows every later per-pixel transform.
            results['img'] = cv2.flip(results['img'], 1)
            if results.get('face_surface') is not None:
                results['face_surface'] = results[
                    'face_surface'
                ].flip_horizontal()
        results['flip'] = flip
        results['flip_direction'] = self.direction if flip else None
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(prob={self.prob})'


@TRANSFORMS.register_module()
class ResizeFace(BaseTransform):
    """Resize the image to ``scale`` (H, W) and map the surface with it.

    Pixel centres map as ``x' = (x + 0.5) * W'/W - 0.5`` (cv2's convention); z
    is scaled by the mean scale (``FaceSurface.transform``).

    **Required Keys:**

    - img
    - face_surface (optional)

    **Modified Keys:**

    - img
    - img_shape
    - face_surface

    **Added Keys:**

    - scale_factor

    Args:
        scale (int | tuple): Output (H, W); an int means square.
        interpolation (str): mmcv interpolation name.
    """

    def __init__(
        self, scale: Union[int, Sequence[int]], interpolation: str = 'bilinear'
    ):
        self.scale = (scale, scale) if isinstance(scale, int) else tuple(scale)
        if len(self.scale) != 2 or min(self.scale) < 1:
            raise ValueError(
                f'scale must be a positive int or (H, W), got {scale!r}'
            )
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        _check_order(self, results)
        _check_surface(results)
        h, w = results['img'].shape[:2]
        oh, ow = self.scale
        sx, sy = ow / w, oh / h
        # Prepared crops usually have the size already: the identity map
        # leaves image and surface bit for bit as they are, so skip the copies.
        if (oh, ow) != (h, w):
            results['img'] = mmcv.imresize(
                results['img'], (ow, oh), interpolation=self.interpolation
            )
            affine = np.array(
                [[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5]],
                np.float64,
            )
            _apply_affine(results, affine, (oh, ow))
        results['img_shape'] = (oh, ow)
        results['scale_factor'] = (sx, sy)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(scale={self.scale})'


@TRANSFORMS.register_module()
class CropFace(BaseTransform):
    """Crop ``crop_size`` (H, W) from the image, randomly or centred, and the
    surface with it (a translation; vertices outside the crop stay, off-image).

    **Required Keys:**

    - img
    - face_surface (optional)

    **Modified Keys:**

    - img
    - img_shape
    - face_surface

    **Added Keys:**

    - crop_bbox (x0, y0, x1, y1)

    Args:
        crop_size (int | tuple): Output (H, W), at most the image size.
        random (bool): Random offset (training) or centred (testing).
    """

    def __init__(
        self, crop_size: Union[int, Sequence[int]], random: bool = True
    ):
        self.crop_size = (
            (crop_size, crop_size)
            if isinstance(crop_size, int)
            else tuple(crop_size)
        )
        if len(self.crop_size) != 2 or min(self.crop_size) < 1:
            raise ValueError(
                'crop_size must be a positive int or (H, W), got '
                f'{crop_size!r}'
            )
        self.random = random

    @cache_randomness
    def _offset(self, h: int, w: int) -> Tuple[int, int]:
        ch, cw = self.crop_size
        if self.random:
            return int(np.random.randint(0, h - ch + 1)), int(
                np.random.randint(0, w - cw + 1)
            )
        return (h - ch) // 2, (w - cw) // 2

    def transform(self, results: dict) -> dict:
        _check_order(self, results)
        _check_surface(results)
        h, w = results['img'].shape[:2]
        ch, cw = self.crop_size
        if ch > h or cw > w:
            raise ValueError(
                f'crop {ch}x{cw} is larger than the image {h}x{w} '
                f"({results.get('img_path')})"
            )
        y0, x0 = self._offset(h, w)
        results['img'] = results['img'][y0 : y0 + ch, x0 : x0 + cw].copy()
        affine = np.array([[1, 0, -x0], [0, 1, -y0]], np.float64)
        _apply_affine(results, affine, (ch, cw))
        results['img_shape'] = (ch, cw)
        results['crop_bbox'] = (x0, y0, x0 + cw, y0 + ch)
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(crop_size={self.crop_size}, '
            f'random={self.random})'
        )
