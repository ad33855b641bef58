"""The paper's photometric augmentation (Sec. 4.1).

mmpretrain's ``ColorJitter`` *shifts* hue (torchvision semantics) rather than
scaling it, and its ``Lighting`` returns RGB channel order when ``to_rgb=True``
and wraps uint8 values past 255 around. Hence these two small transforms.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmpretrain.datasets.transforms import Lighting
from mmpretrain.registry import TRANSFORMS

#: PCA of ImageNet RGB pixel values (0-255), as in AlexNet / mmpretrain's
#: configs.
IMAGENET_EIGVAL = (55.4625, 4.7940, 1.1475)
IMAGENET_EIGVEC = (
    (-0.5675, 0.7192, 0.4009),
    (-0.5808, -0.0045, -0.8140),
    (-0.5836, -0.6948, 0.4203),
)


def _range(value, name: str) -> Tuple[float, float]:
    low, high = (float(v) for v in value)
    if not 0 <= low <= high:
        raise ValueError(
            f'{name} must be (low, high) with 0 <= low <= high, got {value}'
        )
    return low, high


@TRANSFORMS.register_module()
class RandomHSVScale(BaseTransform):
    """Scale hue, saturation and brightness (HSV value) by independent uniform
    factors.

    Hue is scaled in degrees and wrapped to [0, 360); saturation and value are
    clipped to [0, 1]. The paper draws every factor from U[0.6, 1.4].

    **Required Keys:**

    - img (uint8 BGR (H, W, 3))

    **Modified Keys:**

    - img

    Args:
        hue (tuple): (low, high) of the hue factor.
        saturation (tuple): (low, high) of the saturation factor.
        brightness (tuple): (low, high) of the value factor.
    """

    def __init__(
        self,
        hue: Sequence[float] = (0.6, 1.4),
        saturation: Sequence[float] = (0.6, 1.4),
        brightness: Sequence[float] = (0.6, 1.4),
    ):
        self.hue = _range(hue, 'hue')
        self.saturation = _range(saturation, 'saturation')
        self.brightness = _range(brightness, 'brightness')

    @cache_randomness
    def _factors(self) -> np.ndarray:
        return np.array(
            [
                np.random.uniform(*r)
                for r in (self.hue, self.saturation, self.brightness)
            ],
            np.float32,
        )

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(
                f'RandomHSVScale needs a uint8 BGR image, got {img.dtype} '
                f"{img.shape} ({results.get('img_path')})"
            )
        fh, fs, fv = self._factors()
        hsv = cv2.cvtColor(
            np.divide(img, np.float32(255), dtype=np.float32),
            cv2.COLOR_BGR2HSV,
        )
        # In place on the interleaved planes: OpenCV scales each channel by
        # its float32 factor (the products numpy's float32 would give), while
        # numpy's strided per-channel ops, or a split and merge, cost several
        # times more than the colour conversions themselves.
        cv2.multiply(hsv, (float(fh), float(fs), float(fv), 0.0), dst=hsv)
        if fh > 1:  # else hue * fh <= hue < 360 (rounding is monotone)
            hue = cv2.extractChannel(hsv, 0)
            np.mod(hue, np.float32(360), out=hue, where=hue >= 360)
            cv2.insertChannel(hue, hsv, 0)
        # Saturation and value are >= 0: only the upper clip can bite.
        cv2.min(hsv, (np.inf, 1.0, 1.0, 0.0), dst=hsv)
        bgr = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
        # Rounds half to even and saturates like np.rint + clip; the values
        # are in [0, 1], so its absolute value changes nothing.
        results['img'] = cv2.convertScaleAbs(bgr, alpha=255.0)
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(hue={self.hue}, '
            f'saturation={self.saturation}, brightness={self.brightness})'
        )


@TRANSFORMS.register_module()
class PCALighting(Lighting):
    """AlexNet-style PCA lighting noise that keeps the channel order and clips
    uint8.

    Adds ``eigvec @ (alpha * eigval)`` with ``alpha ~ N(0, alphastd)`` per
    image to every pixel (the eigen-decomposition is of RGB values; the shift
    is reordered for a BGR image).

    **Required Keys:**

    - img

    **Modified Keys:**

    - img

    Args:
        eigval (Sequence[float]): Eigenvalues of the RGB pixel covariance.
        eigvec (Sequence[Sequence[float]]): Eigenvectors as columns, rows R, G,
            B.
        alphastd (float): Standard deviation of alpha (the paper: 0.1).
        channel_order (str): 'bgr' (``LoadImageFromFile``) or 'rgb'.
    """

    def __init__(
        self,
        eigval: Sequence[float] = IMAGENET_EIGVAL,
        eigvec: Sequence[Sequence[float]] = IMAGENET_EIGVEC,
        alphastd: float = 0.1,
        channel_order: str = 'bgr',
    ):
        super().__init__(
            list(eigval), [list(v) for v in eigvec], float(alphastd)
        )
        if channel_order not in ('bgr', 'rgb'):
            raise ValueError(
                f"channel_order must be 'bgr' or 'rgb', got {channel_order!r}"
            )
        self.channel_order = channel_order

    @cache_randomness
    def _alpha(self) -> np.ndarray:
        return np.random.normal(0, self.alphastd, len(self.eigval))

    def transform(self, results: dict) -> dict:
        img = results['img']
        shift = self.eigvec @ (self._alpha() * self.eigval)  # RGB
        if self.channel_order == 'bgr':
            shift = shift[::-1]
        shift = shift.astype(np.float32)
        if img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3:
            # A uint8 pixel takes one of 256 values per channel: a table of
            # the same float32 sums maps the image in one pass.
            lut = np.arange(256, dtype=np.float32)[:, None] + shift
            lut = np.clip(np.rint(lut), 0, 255).astype(np.uint8)
            results['img'] = cv2.LUT(img, lut.reshape(256, 1, 3))
            return results
        out = img.astype(np.float32) + shift
        if np.issubdtype(img.dtype, np.integer):
            info = np.iinfo(img.dtype)
            out = np.clip(np.rint(out), info.min, info.max)
        results['img'] = out.astype(img.dtype)
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(alphastd={self.alphastd}, '
            f'channel_order={self.channel_order!r})'
        )
