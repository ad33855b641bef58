"""Geometry of one GeoConv layer's kernel taps in the input image.

The paper (Sec. 3.2) projects every location of a deeper layer back to the
input image at the centre of its receptive field. :class:`GeoSpec` captures
exactly what that projection depends on, so that the data pipeline can compute
a layer's geodesic weights without knowing anything else about the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple, Union

import numpy as np

from .conv_geometry import conv_output_hw

IntPair = Tuple[int, int]


def _pair(value: Union[int, Tuple[int, int]], name: str) -> IntPair:
    if isinstance(value, (int, np.integer)):
        pair = (int(value), int(value))
    else:
        pair = tuple(int(v) for v in value)
        if len(pair) != 2:
            raise ValueError(f'{name} must be an int or a pair, got {value!r}')
    return pair  # type: ignore[return-value]


@dataclass(frozen=True)
class GeoSpec:
    """Where the taps of a GeoConv layer fall in the input image.

    Args:
        in_stride (int): Total stride of the layer's *input* feature map
            relative to the image (1 for a layer applied to the image itself).
        kernel_size (int | tuple): Kernel size (Kh, Kw).
        stride (int | tuple): The layer's own stride.
        padding (int | tuple): The layer's zero padding.
        dilation (int | tuple): The layer's dilation.
    """

    in_stride: int
    kernel_size: IntPair = (3, 3)
    stride: IntPair = (1, 1)
    padding: IntPair = (1, 1)
    dilation: IntPair = (1, 1)

    def __post_init__(self) -> None:
        object.__setattr__(self, 'in_stride', int(self.in_stride))
        for name in ('kernel_size', 'stride', 'padding', 'dilation'):
            object.__setattr__(self, name, _pair(getattr(self, name), name))
        if self.in_stride < 1:
            raise ValueError(f'in_stride must be >= 1, got {self.in_stride}')
        if (
            min(self.kernel_size) < 1
            or min(self.stride) < 1
            or min(self.dilation) < 1
        ):
            raise ValueError(f'invalid GeoSpec {self!r}')
        if min(self.padding) < 0:
            raise ValueError(f'padding must be >= 0, got {self.padding}')

    @property
    def key(self) -> str:
        """Stable string used as the dict key of this spec's weights."""
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        (ph, pw), (dh, dw) = self.padding, self.dilation
        return f'S{self.in_stride}_k{kh}x{kw}_s{sh}x{sw}_p{ph}x{pw}_d{dh}x{dw}'

    @classmethod
    def from_key(cls, key: str) -> 'GeoSpec':
        """Inverse of :attr:`key`."""
        try:
            s, k, st, p, d = key.split('_')
            pair = lambda t: tuple(int(v) for v in t[1:].split('x'))  # noqa: E731
            return cls(int(s[1:]), pair(k), pair(st), pair(p), pair(d))
        except (ValueError, IndexError) as exc:
            raise ValueError(f'not a GeoSpec key: {key!r}') from exc

    @property
    def num_taps(self) -> int:
        return self.kernel_size[0] * self.kernel_size[1]

    @property
    def centre_index(self) -> int:
        """Row-major index of the centre tap; Eq. 4 needs one, so kernels must
        be odd.
        """
        kh, kw = self.kernel_size
        if kh % 2 == 0 or kw % 2 == 0:
            raise ValueError(
                'geodesic weights (Eq. 4) need a centre tap, but kernel '
                f'{kh}x{kw} is even'
            )
        return (kh // 2) * kw + kw // 2

    def input_size(self, image_hw: Tuple[int, int]) -> IntPair:
        """Size of the layer's input feature map for an image of
        ``image_hw``.
        """
        h, w = image_hw
        if h % self.in_stride or w % self.in_stride:
            raise ValueError(
                f'image size {h}x{w} is not divisible by the input stride '
                f'{self.in_stride}'
            )
        return h // self.in_stride, w // self.in_stride

    def output_size(self, image_hw: Tuple[int, int]) -> IntPair:
        """(H_out, W_out) of the layer, by ``F.conv2d``'s rule
        (:mod:`~geoconv_mm.ops.conv_geometry`).

        Raises:
            ValueError: The kernel does not fit the layer's padded input
                for an image of ``image_hw``.
        """
        try:
            return conv_output_hw(
                self.input_size(image_hw),
                self.kernel_size,
                self.stride,
                self.padding,
                self.dilation,
                op=self.key,
            )
        except ValueError as exc:
            raise ValueError(
                f'{self.key} gives an empty output for image {image_hw}: {exc}'
            ) from None

    def tap_offsets(self) -> np.ndarray:
        """(Kh*Kw, 2) integer tap offsets (di, dj) in input-feature cells,
        row-major.
        """
        kh, kw = self.kernel_size
        i, j = np.meshgrid(np.arange(kh), np.arange(kw), indexing='ij')
        return np.stack(
            [i.ravel() * self.dilation[0], j.ravel() * self.dilation[1]], 1
        )

    def tap_image_points(self, image_hw: Tuple[int, int]) -> np.ndarray:
        """Image coordinates of every tap of every output cell.

        Returns:
            np.ndarray: float64 array (Kh*Kw, H_out, W_out, 2) holding (x, y):
            tap (i, j) of cell (y, x) lies on input cell (y*s - p + i*d, x*s -
            p + j*d), whose receptive-field centre is at
            ``(u + 0.5) * S - 0.5`` in the image. Taps in the padding fall
            outside [0, W) x [0, H).
        """
        h_out, w_out = self.output_size(image_hw)
        s_in = self.in_stride
        offsets = self.tap_offsets()
        rows = np.arange(h_out) * self.stride[0] - self.padding[0]
        cols = np.arange(w_out) * self.stride[1] - self.padding[1]
        u = rows[None, :, None] + offsets[:, 0, None, None]  # (K, H_out, 1)
        v = cols[None, None, :] + offsets[:, 1, None, None]  # (K, 1, W_out)
        y = (u + 0.5) * s_in - 0.5
        x = (v + 0.5) * s_in - 0.5
        y, x = np.broadcast_arrays(y, x)
        return np.stack([x, y], axis=-1).astype(np.float64)

    def euclidean_distances(self) -> np.ndarray:
        """D_eu of Eq. 4 for every tap: image distance between receptive-field
        centres.

        This is the hierarchy compensation (HC): it grows with the input stride
        so that the ratio D_geo / D_eu is comparable across layers.
        """
        kh, kw = self.kernel_size
        offsets = self.tap_offsets().astype(np.float64)
        centre = np.array(
            [(kh - 1) / 2 * self.dilation[0], (kw - 1) / 2 * self.dilation[1]]
        )
        return self.in_stride * np.linalg.norm(offsets - centre, axis=1)
