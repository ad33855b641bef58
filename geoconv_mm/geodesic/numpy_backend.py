"""The numpy backend of the geodesic distances under GeoConv taps.

The algorithm is the one described in :mod:`.weights` (lifted segments on the
surface, vertex paths around holes); the C++ kernel of the ``'fast'`` backend
implements the same, and this module is its test oracle and the fallback on
hosts without the build. With ``backend='heat'`` the vertex-to-vertex
geodesics come from potpourri3d's heat method (the paper's choice).
"""

from __future__ import annotations

from math import gcd
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from geoconv_mm.ops.geo_spec import GeoSpec

from .raster import rasterize, surface_points
from .surface import FaceSurface
from .topology import boundary_vertex_mask, fill_holes
from .vertex_geodesics import (
    graph_geodesics,
    heat_geodesics,
    vertex_path_lengths,
)

# marks a broken step; larger than any face, small enough for float64 sums
_PENALTY = 1e7
_PAD = (
    8  # zero columns after each grid row: keeps line sums from wrapping rows
)
BACKENDS = ('numpy', 'heat')


class TriangleLinks:
    """Which triangle pairs a unit grid step may cross without leaving the
    surface.

    True for the same triangle, triangles sharing an edge, triangles sharing a
    vertex that is not on a boundary loop (a boundary vertex's triangles may
    sit on both sides of a hole, e.g. at the corner of the mouth), and
    triangles joined by an interior edge (a step may jump over a triangle
    thinner than a pixel; an edge never spans a hole). With filled holes, also
    a filled-patch triangle and any triangle of the same patch or touching the
    patch's loop (ear clipping makes slivers).

    Args:
        faces (np.ndarray): (F, 3) triangles.
        num_vertices (int): V.
        face_patch, vertex_patch (np.ndarray, optional): From ``fill_holes``.
    """

    def __init__(
        self,
        faces: np.ndarray,
        num_vertices: int,
        face_patch: Optional[np.ndarray] = None,
        vertex_patch: Optional[np.ndarray] = None,
    ) -> None:
        f = np.asarray(faces, np.int64)
        self.faces = f
        self.n = num_vertices
        self.interior = ~boundary_vertex_mask(f, num_vertices)
        a = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
        b = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
        key, count = np.unique(
            np.minimum(a, b) * num_vertices + np.maximum(a, b),
            return_counts=True,
        )
        self.inner_edges = key[count == 2]  # sorted
        self.face_patch = face_patch
        self.vertex_patch = vertex_patch

    def __call__(self, t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
        f1, f2 = self.faces[t1], self.faces[t2]  # (N, 3)
        eq = f1[:, :, None] == f2[:, None, :]
        ok = (eq.sum((1, 2)) >= 2) | (eq & self.interior[f1][:, :, None]).any(
            (1, 2)
        )
        lo = np.minimum(f1[:, :, None], f2[:, None, :])
        hi = np.maximum(f1[:, :, None], f2[:, None, :])
        keys = (lo * self.n + hi).reshape(len(t1), 9)
        pos = np.searchsorted(self.inner_edges, keys).clip(
            0, max(len(self.inner_edges) - 1, 0)
        )
        if len(self.inner_edges):
            ok |= (self.inner_edges[pos] == keys).any(1)
        if self.face_patch is not None and (self.face_patch >= 0).any():
            ok |= self._in_region(t1, t2) | self._in_region(t2, t1)
        return ok

    def _in_region(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        p = self.face_patch[a]
        touch = (self.vertex_patch[self.faces[b]] == p[:, None]).any(1)
        return (p >= 0) & ((self.face_patch[b] == p) | touch)


class _Grid:
    """Raster of the mesh at image points (c + offset, r + offset), flat padded
    layout.
    """

    def __init__(self, vertices, faces, size, offset, conn):
        self.h, self.w = size
        self.wp = self.w + _PAD
        tri, bary = rasterize(vertices, faces, size, offset)
        pts = surface_points(vertices, faces, tri, bary)
        self.tri = tri
        self.bary = bary
        self.pts = pts
        self.conn = conn
        self._cum: Dict[Tuple[int, int], np.ndarray] = {}

    def line_cumsum(self, dr: int, dc: int) -> np.ndarray:
        """Exclusive prefix sums of step lengths along lines of direction
        (dr, dc).
        """
        key = (dr, dc)
        if key in self._cum:
            return self._cum[key]
        if abs(dc) > _PAD:
            raise NotImplementedError(f'tap direction {key} is too wide')
        h, w = self.h, self.w
        step = np.zeros((h, self.wp))
        r0, r1 = 0, h - dr
        c0, c1 = max(0, -dc), w - max(0, dc)
        a_t = self.tri[r0:r1, c0:c1]
        b_t = self.tri[r0 + dr : r1 + dr, c0 + dc : c1 + dc]
        a_p = self.pts[r0:r1, c0:c1]
        b_p = self.pts[r0 + dr : r1 + dr, c0 + dc : c1 + dc]
        ok = (a_t >= 0) & (b_t >= 0)
        diff = ok & (a_t != b_t)
        ok[diff] = self.conn(a_t[diff], b_t[diff])
        length = np.sqrt(((b_p - a_p) ** 2).sum(-1))
        step[r0:r1, c0:c1] = np.where(ok, length, _PENALTY)
        flat = step.ravel()
        o = dr * self.wp + dc
        n = -(-len(flat) // o) * o
        buf = np.zeros(n)
        buf[: len(flat)] = flat
        cum = buf.reshape(-1, o).cumsum(0).ravel()[: len(flat)] - flat
        self._cum[key] = cum
        return cum


class SurfaceGeodesics:
    """Geodesic distances between the surface points under image tap positions.

    Args:
        surface (FaceSurface): The mesh in the crop's pixel frame.
        backend (str): ``'numpy'`` (refined-graph Dijkstra) or ``'heat'``
            vertex geodesics (module docstring).
        close_holes (bool): Triangulate inner boundary loops (mouth, eyes)
            first.
    """

    def __init__(
        self,
        surface: FaceSurface,
        backend: str = 'numpy',
        close_holes: bool = False,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(
                f'backend must be one of {BACKENDS}, got {backend!r}'
            )
        surface.validate()
        self.surface = surface
        self.backend = backend
        self.vertices = surface.vertices.astype(np.float64)
        self.faces, face_patch, vertex_patch = (
            fill_holes(self.vertices, surface.faces)
            if close_holes
            else (surface.faces, None, None)
        )
        self.conn = TriangleLinks(
            self.faces, len(self.vertices), face_patch, vertex_patch
        )
        self._grids: Dict[float, _Grid] = {}

    def grid(self, offset: float) -> _Grid:
        if offset not in self._grids:
            self._grids[offset] = _Grid(
                self.vertices,
                self.faces,
                self.surface.image_size,
                offset,
                self.conn,
            )
        return self._grids[offset]

    def vertex_geodesics(self, sources: np.ndarray) -> np.ndarray:
        """(len(sources), V) vertex geodesics of the backend."""
        if self.backend == 'heat':
            return heat_geodesics(self.vertices, self.faces, sources)
        return graph_geodesics(self.vertices, self.faces, sources)

    def tap_distances(self, specs: Sequence[GeoSpec]) -> List[np.ndarray]:
        """D_geo for every tap of every cell of each spec.

        Returns:
            list[np.ndarray]: per spec, float64 (K, H_out, W_out): NaN where
            the centre or the tap has no surface point, 0 at the centre tap.
        """
        size = self.surface.image_size
        out, pending = [], []
        for spec in specs:
            s = spec.in_stride
            offset = 0.5 if s % 2 == 0 else 0.0
            grid = self.grid(offset)
            xy = spec.tap_image_points(size) - offset
            gc = np.rint(xy[..., 0]).astype(np.int64)
            gr = np.rint(xy[..., 1]).astype(np.int64)
            inside = (gc >= 0) & (gc < grid.w) & (gr >= 0) & (gr < grid.h)
            tri = np.where(
                inside,
                grid.tri[gr.clip(0, grid.h - 1), gc.clip(0, grid.w - 1)],
                -1,
            )
            ci = spec.centre_index
            dist = np.full(tri.shape, np.nan)
            dist[ci] = np.where(tri[ci] >= 0, 0.0, np.nan)
            flat = gr * grid.wp + gc
            for k in range(spec.num_taps):
                if k == ci:
                    continue
                dr = int(gr[k].flat[0] - gr[ci].flat[0])
                dc = int(gc[k].flat[0] - gc[ci].flat[0])
                g = gcd(abs(dr), abs(dc))
                ur, uc = dr // g, dc // g
                if ur < 0 or (ur == 0 and uc < 0):
                    ur, uc = -ur, -uc
                both = (tri[ci] >= 0) & (tri[k] >= 0)
                cum = grid.line_cumsum(ur, uc)
                lifted = np.abs(cum[flat[k] * both] - cum[flat[ci] * both])
                good = both & (lifted < 0.5 * _PENALTY)
                dist[k] = np.where(good, lifted, np.nan)
                broken = both & ~good
                if broken.any():
                    pending.append(
                        (len(out), k, np.nonzero(broken), grid, gr, gc)
                    )
            out.append(dist)
        if pending:
            self._around(out, pending)
        return out

    def _around(self, out, pending) -> None:
        """Fill the pairs whose straight segment leaves the surface
        (vertex paths).
        """
        f = self.faces
        t_centres, t_taps = [], []
        for si, k, idx, grid, gr, gc in pending:
            ci = _centre_of(out[si])
            t_centres.append(grid.tri[gr[ci][idx], gc[ci][idx]])
            t_taps.append(grid.tri[gr[k][idx], gc[k][idx]])
        # One solver call for all the sources the pending pairs need.
        # Tap corners are sources too, so the heat backend can symmetrise G.
        sources = np.unique(
            np.concatenate(
                [
                    f[np.concatenate(t_centres)].ravel(),
                    f[np.concatenate(t_taps)].ravel(),
                ]
            )
        )
        rows = self.vertex_geodesics(sources)
        lookup = np.full(len(self.vertices), -1, np.int64)
        lookup[sources] = np.arange(len(sources))
        v = self.vertices
        for (si, k, idx, grid, gr, gc), t1, t2 in zip(
            pending, t_centres, t_taps
        ):
            ci = _centre_of(out[si])
            p = grid.pts[gr[ci][idx], gc[ci][idx]]
            q = grid.pts[gr[k][idx], gc[k][idx]]
            out[si][k][idx] = vertex_path_lengths(
                p, t1, q, t2, v, f, lambda a, b: rows[lookup[a], b]
            )


def _centre_of(dist: np.ndarray) -> int:
    # Row-major centre of an odd Kh x Kw kernel is (Kh*Kw) // 2.
    return dist.shape[0] // 2
