"""Per-pixel correspondence between an image grid and a mesh (z-buffered
rasterizer).

A sample at grid position (row r, column c) looks at image point
``(x, y) = (c + offset, r + offset)``. Only points strictly covered by a
triangle's projection (ties on shared edges included) count as on the surface;
where triangles overlap in the image the one closest to the camera (largest z)
wins.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np

from .surface import FaceSurface


def rasterize(
    vertices: np.ndarray,
    faces: np.ndarray,
    size: Tuple[int, int],
    offset: float = 0.0,
) -> Tuple[np.ndarray, np.ndarray]:
    """Triangle id and barycentric coordinates of every grid sample.

    Args:
        vertices (np.ndarray): (V, 3) positions in image pixels (z toward the
            camera).
        faces (np.ndarray): (F, 3) triangles.
        size (tuple[int, int]): Grid (rows, columns).
        offset (float): Sample (r, c) sits at image point (c + offset, r +
            offset).

    Returns:
        tuple: ``tri`` (rows, cols) int32, -1 off the surface; ``bary``
        (rows, cols, 3) float32 barycentric coordinates (zero off the surface).
    """
    rows, cols = size
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    p0, p1, p2 = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    det = (p1[:, 0] - p0[:, 0]) * (p2[:, 1] - p0[:, 1]) - (
        p2[:, 0] - p0[:, 0]
    ) * (p1[:, 1] - p0[:, 1])
    xs = np.stack([p0[:, 0], p1[:, 0], p2[:, 0]], 1) - offset
    ys = np.stack([p0[:, 1], p1[:, 1], p2[:, 1]], 1) - offset
    c0 = np.maximum(np.ceil(xs.min(1)), 0).astype(np.int64)
    c1 = np.minimum(np.floor(xs.max(1)), cols - 1).astype(np.int64)
    r0 = np.maximum(np.ceil(ys.min(1)), 0).astype(np.int64)
    r1 = np.minimum(np.floor(ys.max(1)), rows - 1).astype(np.int64)
    nc = np.maximum(c1 - c0 + 1, 0)
    nr = np.maximum(r1 - r0 + 1, 0)
    valid = (np.abs(det) > 1e-12) & (nc > 0) & (nr > 0)
    tri_ids = np.nonzero(valid)[0]
    counts = (nc * nr)[tri_ids]
    tri = np.full((rows, cols), -1, np.int32)
    bary = np.zeros((rows, cols, 3), np.float32)
    if counts.sum() == 0:
        return tri, bary
    t = np.repeat(tri_ids, counts)
    start = np.repeat(np.cumsum(counts) - counts, counts)
    local = np.arange(counts.sum()) - start
    rr = r0[t] + local // nc[t]
    cc = c0[t] + local % nc[t]
    x = cc + offset
    y = rr + offset
    # Barycentrics from 2D edge functions; ties on a shared edge are kept
    # (>= 0).
    inv = 1.0 / det[t]
    l1 = (
        (x - p0[t, 0]) * (p2[t, 1] - p0[t, 1])
        - (p2[t, 0] - p0[t, 0]) * (y - p0[t, 1])
    ) * inv
    l2 = (
        (p1[t, 0] - p0[t, 0]) * (y - p0[t, 1])
        - (x - p0[t, 0]) * (p1[t, 1] - p0[t, 1])
    ) * inv
    l0 = 1.0 - l1 - l2
    eps = -1e-9
    inside = (l0 >= eps) & (l1 >= eps) & (l2 >= eps)
    t, rr, cc, l0, l1, l2 = (
        t[inside],
        rr[inside],
        cc[inside],
        l0[inside],
        l1[inside],
        l2[inside],
    )
    z = l0 * p0[t, 2] + l1 * p1[t, 2] + l2 * p2[t, 2]
    pix = rr * cols + cc
    # z-buffer: sort by (pixel, -z, triangle) and keep the first sample of each
    # pixel.
    order = np.lexsort((t, -z, pix))
    pix_sorted = pix[order]
    first = np.ones(len(order), bool)
    first[1:] = pix_sorted[1:] != pix_sorted[:-1]
    win = order[first]
    tri.reshape(-1)[pix[win]] = t[win]
    b = bary.reshape(-1, 3)
    b[pix[win], 0] = l0[win]
    b[pix[win], 1] = l1[win]
    b[pix[win], 2] = l2[win]
    return tri, bary


def rasterize_fast(
    vertices: np.ndarray,
    faces: np.ndarray,
    size: Tuple[int, int],
    offset: float = 0.0,
) -> Tuple[np.ndarray, np.ndarray]:
    """:func:`rasterize` through the compiled kernel when it is built
    (same result).
    """
    from ._ext import geometry_ext_available, load_geometry_ext

    if not geometry_ext_available():
        return rasterize(vertices, faces, size, offset)
    import torch

    tri, bary = load_geometry_ext().rasterize_mesh(
        torch.from_numpy(np.ascontiguousarray(vertices, np.float64)),
        torch.from_numpy(np.ascontiguousarray(faces, np.int32)),
        int(size[0]),
        int(size[1]),
        float(offset),
    )
    return tri.numpy(), bary.numpy()


def surface_points(
    vertices: np.ndarray, faces: np.ndarray, tri: np.ndarray, bary: np.ndarray
) -> np.ndarray:
    """3D surface point of every sample (NaN off the surface)."""
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    safe = np.maximum(tri, 0)
    pts = np.einsum('...k,...kd->...d', bary.astype(np.float64), v[f[safe]])
    pts[tri < 0] = np.nan
    return pts


def render_depth(surface: FaceSurface) -> np.ndarray:
    """Depth map of a face surface in its crop (for the RGBD ablations).

    Returns:
        np.ndarray: (H, W) float32, the surface's z at each pixel centre minus
        the smallest z of the mesh (so the surface is >= 0 and grows toward the
        camera), 0 off the surface.
    """
    tri, bary = rasterize_fast(
        surface.vertices, surface.faces, surface.image_size
    )
    pts = surface_points(surface.vertices, surface.faces, tri, bary)
    depth = pts[..., 2] - float(surface.vertices[:, 2].min())
    depth[tri < 0] = 0.0
    return depth.astype(np.float32)
