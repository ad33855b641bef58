"""Geodesic distance from one surface point to every pixel (for pictures and
checks).
"""

from __future__ import annotations

from typing import Tuple

import numpy as np

from .raster import rasterize, surface_points
from .surface import FaceSurface
from .topology import close_holes as _close_holes
from .vertex_geodesics import (
    graph_geodesics,
    heat_geodesics,
    vertex_path_lengths,
)


def geodesic_distance_field(
    surface: FaceSurface,
    point_xy: Tuple[float, float],
    *,
    backend: str = 'fast',
    close_holes: bool = False,
) -> np.ndarray:
    """Geodesic distance from the surface point under ``point_xy`` to every
    pixel.

    Uses :func:`.vertex_geodesics.vertex_path_lengths` (``min |p-a| + G(a, b) +
    |b-q|`` over the corners of both triangles, the chord inside one triangle),
    the form the weights use around holes.

    Args:
        surface (FaceSurface): The mesh in its crop frame.
        point_xy (tuple[float, float]): Image point (x, y) on the face.
        backend (str): ``'fast'`` (refined-graph Dijkstra) or ``'heat'``.
        close_holes (bool): Fill the mouth and eye holes first.

    Returns:
        np.ndarray: (H, W) float32, NaN off the surface.

    Raises:
        ValueError: If ``point_xy`` is not on the surface.
    """
    v = surface.vertices.astype(np.float64)
    f = _close_holes(v, surface.faces) if close_holes else surface.faces
    tri, bary = rasterize(v, f, surface.image_size)
    pts = surface_points(v, f, tri, bary)
    # Rasterising a 1x1 grid of the mesh shifted by -point gives the point's
    # triangle.
    shifted = v.copy()
    shifted[:, :2] -= np.asarray(point_xy, np.float64)
    t0, b0 = rasterize(shifted, f, (1, 1))
    if t0[0, 0] < 0:
        raise ValueError(f'point {tuple(point_xy)} is not on the face surface')
    p = surface_points(v, f, t0, b0)[0, 0]
    corners = f[t0[0, 0]]
    solver = heat_geodesics if backend == 'heat' else graph_geodesics
    rows = solver(v, f, corners)  # (3, V)
    lookup = np.full(len(v), -1, np.int64)
    lookup[corners] = np.arange(3)
    on = tri >= 0
    q = pts[on]
    best = vertex_path_lengths(
        p, t0[0, 0], q, tri[on], v, f, lambda a, b: rows[lookup[a], b]
    )
    same = tri[on] == t0[0, 0]
    best[same] = np.linalg.norm(q[same] - p, axis=1)
    out = np.full(surface.image_size, np.nan, np.float32)
    out[on] = best
    return out
