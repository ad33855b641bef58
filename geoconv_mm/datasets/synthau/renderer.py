"""A small numpy renderer: z-buffered barycentric rasterisation, Lambertian
shading.

The face is drawn over a background, a dark mouth cavity (seen through the
mouth hole when the lips part) and eyeballs (seen through the eye holes).
Rasterisation is :func:`geoconv_mm.geodesic.rasterize`, the one the geodesic
weights use, so the image and the mesh record agree pixel for pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Tuple

import cv2
import numpy as np

from geoconv_mm.geodesic.raster import rasterize


@dataclass
class Lighting:
    """Ambient plus one directional light.

    Args:
        direction (np.ndarray): (3,) unit vector toward the light (x right, y
            down, z toward the camera).
        ambient (float): Ambient term.
        diffuse (float): Strength of the directional light.
        tint (np.ndarray): (3,) BGR colour multiplier of the light.
    """

    direction: np.ndarray
    ambient: float
    diffuse: float
    tint: np.ndarray

    @classmethod
    def sample(
        cls, rng: np.random.Generator, ambient_only: bool = False
    ) -> 'Lighting':
        """A random light; ``ambient_only`` folds the directional part into the
        ambient term (same random draws, same overall brightness, no shading
        cue)."""
        azim = rng.uniform(-0.9, 0.9)
        elev = rng.uniform(-0.6, 0.5)  # negative: light from above (y down)
        d = np.array(
            [
                np.sin(azim) * np.cos(elev),
                np.sin(elev),
                np.cos(azim) * np.cos(elev),
            ]
        )
        ambient, diffuse = (
            float(rng.uniform(0.3, 0.65)),
            float(rng.uniform(0.35, 0.8)),
        )
        tint = rng.uniform(0.85, 1.15, 3)
        if ambient_only:
            # A face-on surface gets ambient + diffuse * cos(light angle).
            ambient, diffuse = ambient + diffuse * float(d[2]), 0.0
        return cls(d / np.linalg.norm(d), ambient, diffuse, tint)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) unit area-weighted vertex normals, oriented toward the camera
    (+z).
    """
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    n = np.zeros_like(v)
    for k in range(3):
        np.add.at(n, f[:, k], fn)
    if (
        n[:, 2].sum() < 0
    ):  # orientation of the topology is arbitrary; the face looks at +z
        n = -n
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def render_face(
    vertices: np.ndarray,
    faces: np.ndarray,
    uv: np.ndarray,
    texture: np.ndarray,
    albedo_gain: np.ndarray,
    lighting: Lighting,
    size: int,
    background: np.ndarray,
    mouth_loop: np.ndarray,
    eye_loops: Sequence[np.ndarray],
    supersample: int = 2,
) -> Tuple[np.ndarray, np.ndarray]:
    """Render a textured, shaded face.

    Args:
        vertices (np.ndarray): (V, 3) positions in output pixels (pixel (r, c)
            has its centre at x=c, y=r; larger z is closer).
        faces (np.ndarray): (F, 3) triangles.
        uv (np.ndarray): (V, 2) texture pixel coordinates.
        texture (np.ndarray): (T, T, 3) uint8 BGR.
        albedo_gain (np.ndarray): (H_t, W_t, 3) or (3,) multiplier of the
            texture.
        lighting (Lighting): The light.
        size (int): Output height and width.
        background (np.ndarray): (size, size, 3) float32 BGR background in [0,
            255].
        mouth_loop (np.ndarray): Vertex ids of the mouth hole's boundary.
        eye_loops (Sequence[np.ndarray]): Vertex ids of the eye holes'
            boundaries.
        supersample (int): Render at this factor and downsample
            (anti-aliasing).

    Returns:
        tuple: (size, size, 3) uint8 BGR image and (size, size) bool face mask.
    """
    s = int(supersample)
    big = size * s
    # Pixel centre c at scale 1 is centre (c + 0.5) * s - 0.5 at scale s.
    v = np.asarray(vertices, np.float64).copy()
    v[:, :2] = (v[:, :2] + 0.5) * s - 0.5
    canvas = cv2.resize(
        background.astype(np.float32),
        (big, big),
        interpolation=cv2.INTER_LINEAR,
    )
    _draw_holes(canvas, v, mouth_loop, eye_loops)
    tri, bary = rasterize(v, faces, (big, big))
    on = tri >= 0
    f = np.asarray(faces, np.int64)[tri[on]]
    b = bary[on].astype(np.float64)[..., None]
    tex_xy = (b * uv[f]).sum(1).astype(np.float32)
    normals = (b * vertex_normals(vertices, faces)[f]).sum(1)
    normals /= np.maximum(
        np.linalg.norm(normals, axis=1, keepdims=True), 1e-12
    )
    albedo = cv2.remap(
        texture.astype(np.float32) * albedo_gain,
        tex_xy[:, None, 0],
        tex_xy[:, None, 1],
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )[:, 0]
    lambert = np.clip(normals @ lighting.direction, 0.0, None)
    shade = lighting.ambient + lighting.diffuse * lambert
    canvas[on] = albedo * shade[:, None] * lighting.tint
    image = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)
    mask = (
        cv2.resize(
            on.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA
        )
        > 0.5
    )
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), mask


def _draw_holes(
    canvas: np.ndarray,
    v: np.ndarray,
    mouth_loop: np.ndarray,
    eye_loops: Sequence[np.ndarray],
) -> None:
    """Paint what the holes show: a dark mouth cavity with teeth, and
    eyeballs.
    """

    def poly(loop):
        return np.round(v[loop, :2] * 4).astype(np.int32)[
            None
        ]  # 2 fractional bits

    mouth = poly(mouth_loop)
    cv2.fillPoly(canvas, mouth, (45, 35, 70), lineType=cv2.LINE_AA, shift=2)
    top = v[mouth_loop, 1].min()
    xs = v[mouth_loop, 0]
    teeth = np.array(
        [
            [xs.min() * 0.7 + xs.max() * 0.3, top],
            [
                xs.min() * 0.3 + xs.max() * 0.7,
                top + 0.35 * np.ptp(v[mouth_loop, 1]),
            ],
        ]
    )
    cv2.rectangle(
        canvas,
        tuple(np.round(teeth[0] * 4).astype(int)),
        tuple(np.round(teeth[1] * 4).astype(int)),
        (200, 210, 215),
        -1,
        shift=2,
    )
    for loop in eye_loops:
        cv2.fillPoly(
            canvas, poly(loop), (205, 215, 220), lineType=cv2.LINE_AA, shift=2
        )
        c = v[loop, :2].mean(0)
        r = 0.33 * np.ptp(v[loop, 0])
        cv2.circle(
            canvas,
            tuple(np.round(c * 4).astype(int)),
            int(round(r * 4)),
            (40, 50, 70),
            -1,
            lineType=cv2.LINE_AA,
            shift=2,
        )
