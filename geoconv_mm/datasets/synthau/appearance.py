"""AU appearance cues in the texture (furrows, wrinkles) and per-identity
textures.

FACS describes each AU by its *appearance changes*: besides moving features,
muscles fold the skin (AU1/2: horizontal forehead wrinkles, AU4: vertical
furrows between the brows, AU6: crow's feet, AU9: wrinkles on the nose
root...). SynthAU draws them as a darkening of the albedo in texture space,
scaled by the AU's intensity, so they follow the face through pose and
deformation. They are a 2D cue; the geometry-only variant turns them off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Tuple

import cv2
import numpy as np

from .face_model import FaceRegions


@dataclass(frozen=True)
class Furrow:
    """A patch of parallel dark lines at a landmark.

    Args:
        anchor (str): Landmark name; bilateral names omit ``_l``/``_r``.
        offset (tuple): (lateral, dy) from the anchor (canonical units; lateral
            > 0 away from the midline).
        sigma (tuple): (sx, sy) Gaussian envelope (canonical units).
        angle (float): Direction of the lines in degrees (0: horizontal lines,
            90: vertical); mirrored on the other side.
        period (float): Line spacing (canonical units).
        bilateral (bool): Both sides.
    """

    anchor: str
    offset: Tuple[float, float]
    sigma: Tuple[float, float]
    angle: float
    period: float
    bilateral: bool = True


#: Line periods are at least 0.03 canonical units, about 3 px in the default
#: 112 px crop (a face's eyes lie ~0.31 apart, 32 px there): finer lines
#: average out to a faint stain at that size. Envelopes are at least ~1.5 px.
AU_FURROWS: Dict[int, Tuple[Furrow, ...]] = {
    1: (Furrow('glabella', (0.0, -0.07), (0.06, 0.03), 0, 0.03, False),),
    2: (Furrow('brow_outer', (0.0, -0.05), (0.035, 0.025), 10, 0.03),),
    4: (Furrow('glabella', (0.0, -0.01), (0.035, 0.03), 90, 0.03, False),),
    6: (Furrow('eye', (0.06, 0.005), (0.02, 0.025), 70, 0.03),),
    7: (Furrow('lower_lid', (0.0, 0.012), (0.03, 0.015), 0, 0.03),),
    9: (Furrow('nose_bridge', (0.0, 0.0), (0.04, 0.03), 0, 0.03, False),),
    10: (
        Furrow('nasolabial', (0.0, -0.01), (0.015, 0.03), 65, 0.035),
        Furrow('upper_lip', (0.0, -0.008), (0.035, 0.015), 90, 0.03, False),
    ),
    12: (Furrow('nasolabial', (0.01, 0.01), (0.015, 0.035), 60, 0.035),),
    14: (Furrow('dimple', (0.005, 0.0), (0.015, 0.02), 90, 0.03),),
    15: (Furrow('mouth_corner', (0.005, 0.03), (0.015, 0.025), 80, 0.03),),
    17: (Furrow('chin', (0.0, 0.0), (0.04, 0.025), 0, 0.03, False),),
    23: (Furrow('mouth', (0.0, 0.0), (0.045, 0.015), 90, 0.03, False),),
    24: (Furrow('mouth', (0.0, 0.02), (0.04, 0.015), 0, 0.035, False),),
}


def furrow_maps(
    regions: FaceRegions,
    vertices: np.ndarray,
    uv: np.ndarray,
    texture_size: int,
) -> Dict[int, np.ndarray]:
    """Per AU, a (T, T) float32 darkening map in [0, 1] in texture space.

    Landmarks (canonical frame, ``vertices``' frame) go to texture pixels
    through the uv of the nearest vertex; canonical units are scaled by
    ``texture_size`` (the base face is reconstructed from a ``texture_size``
    crop, so the scales agree).
    """
    t = texture_size
    yy, xx = np.mgrid[0:t, 0:t].astype(np.float32)
    out = {}
    for au, furrows in AU_FURROWS.items():
        m = np.zeros((t, t), np.float32)
        for f in furrows:
            sides = (
                (('_l', -1.0), ('_r', 1.0)) if f.bilateral else (('', 1.0),)
            )
            for suffix, side in sides:
                p = regions.anchors[f.anchor + suffix]
                lateral = side if f.bilateral else 1.0
                q = p[:2] + np.array([f.offset[0] * lateral, f.offset[1]])
                nearest = np.argmin(((vertices[:, :2] - q) ** 2).sum(1))
                # Texture position of q: the nearest vertex's uv plus the
                # residual.
                c = uv[nearest] + (q - vertices[nearest, :2]) * t
                dx, dy = xx - c[0], yy - c[1]
                env = np.exp(
                    -0.5
                    * (
                        (dx / (f.sigma[0] * t)) ** 2
                        + (dy / (f.sigma[1] * t)) ** 2
                    )
                )
                a = np.deg2rad(f.angle) * (lateral if f.bilateral else 1.0)
                # Lines of direction `angle`: the phase runs along their
                # normal.
                phase = (-np.sin(a) * dx + np.cos(a) * dy) / (f.period * t)
                lines = (0.5 + 0.5 * np.cos(2 * np.pi * phase)) ** 4
                m = np.maximum(m, env * lines)
        out[au] = m
    return out


#: Bundled scikit-image pictures (no download) that lend identities their skin
#: detail.
DETAIL_SOURCES = (
    'camera',
    'coffee',
    'chelsea',
    'rocket',
    'brick',
    'grass',
    'gravel',
    'moon',
    'coins',
    'horse',
)


def varied_texture(
    base_texture: np.ndarray, rng: np.random.Generator, strength: float = 0.1
) -> np.ndarray:
    """A per-identity texture: the base photo's low frequencies (the layout of
    eyes, brows and lips) with the fine detail of a random crop of a
    scikit-image picture.

    Args:
        base_texture (np.ndarray): (T, T, 3) uint8 BGR base face texture.
        rng (np.random.Generator): Chooses the picture and the crop.
        strength (float): Relative amplitude of the borrowed detail.

    Returns:
        np.ndarray: (T, T, 3) uint8 BGR.
    """
    import skimage.data

    t = base_texture.shape[0]
    name = DETAIL_SOURCES[rng.integers(len(DETAIL_SOURCES))]
    img = np.asarray(getattr(skimage.data, name)(), np.float32)
    if img.ndim == 3:
        img = img[..., :3].mean(-1)
    if min(img.shape) < t:
        img = cv2.resize(img, (max(t, img.shape[1]), max(t, img.shape[0])))
    r0 = rng.integers(0, img.shape[0] - t + 1)
    c0 = rng.integers(0, img.shape[1] - t + 1)
    crop = img[r0 : r0 + t, c0 : c0 + t]
    detail = crop - cv2.GaussianBlur(crop, (0, 0), 4.0)
    detail /= max(float(detail.std()), 1e-6)
    low = cv2.GaussianBlur(base_texture.astype(np.float32), (0, 0), 3.0)
    out = low * (1.0 + strength * detail[..., None])
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
