"""The alignment template and the similarity that maps a face onto it.

Inference crops (:class:`FacePipeline`) and SynthAU crops both put the eyes
and the mouth at these template positions, so they match.
"""

from __future__ import annotations

from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from geoconv_mm.geodesic.surface import DegenerateMeshError

KEYPOINTS = ('left_eye', 'right_eye', 'mouth')
# Template keypoints as fractions of the crop (x, y): chosen so that
# MediaPipe's mesh (forehead to chin) fills the crop with a small margin.
DEFAULT_TEMPLATE: Dict[str, Tuple[float, float]] = dict(
    left_eye=(0.355, 0.40), right_eye=(0.645, 0.40), mouth=(0.5, 0.72)
)


def template_fractions(
    template: Optional[Mapping[str, Sequence[float]]] = None,
) -> np.ndarray:
    """(3, 2) template positions (x, y) as crop fractions, in ``KEYPOINTS``
    order."""
    template = DEFAULT_TEMPLATE if template is None else template
    return np.array([template[k] for k in KEYPOINTS], np.float64)


def template_points(
    crop_size: Union[int, Tuple[int, int]],
    template: Optional[Mapping[str, Sequence[float]]] = None,
) -> np.ndarray:
    """(3, 2) template positions in crop pixels (x = fraction * W).

    Args:
        crop_size (int | tuple[int, int]): (H, W) of the crop.
        template (dict, optional): Keypoint fractions; the default template.
    """
    h, w = (crop_size, crop_size) if isinstance(crop_size, int) else crop_size
    return template_fractions(template) * np.array([w, h])


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama) mapping 2D points ``src`` onto
    ``dst``.

    Returns:
        np.ndarray: (2, 3) affine matrix with a rotation-and-uniform-scale
            part.
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    s0, d0 = src - ms, dst - md
    var = (s0**2).sum()
    if var < 1e-12:
        raise DegenerateMeshError('alignment keypoints coincide')
    # Complex-number form of the 2D Procrustes problem: d = a * s with
    # a = scale * e^{i theta}.
    zs = s0[:, 0] + 1j * s0[:, 1]
    zd = d0[:, 0] + 1j * d0[:, 1]
    a = (np.conj(zs) * zd).sum() / var
    m = np.array([[a.real, -a.imag], [a.imag, a.real]])
    return np.concatenate([m, (md - m @ ms)[:, None]], 1)
