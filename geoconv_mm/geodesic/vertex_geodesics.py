"""Vertex-to-vertex geodesic distances on a triangle mesh: two solvers.

* ``graph``: Dijkstra on the mesh edges refined with one unfolded diagonal per
  interior edge (the straight segment between the two opposite corners of a
  convex pair of triangles, measured in the unfolded plane). Every graph edge
  is a path on the surface, so distances are upper bounds of the exact
  geodesic; the diagonals cut the zig-zag error of plain edge paths from ~8% to
  ~2-3% on regular meshes.
* ``heat``: the heat method (Crane et al., the paper's choice) via potpourri3d,
  symmetrised. It is the reference; it needs no convexity and errs both ways.

Holes are respected by both: nothing connects the two sides of a boundary loop.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra


def _interior_edge_pairs(faces: np.ndarray):
    """For every edge shared by two faces: (a, b, c, d) with c, d the opposite
    corners.
    """
    f = np.asarray(faces, np.int64)
    a = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    b = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    c = np.concatenate([f[:, 2], f[:, 0], f[:, 1]])
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key = lo * (f.max() + 1) + hi
    order = np.argsort(key, kind='stable')
    key_s = key[order]
    same = np.nonzero(key_s[1:] == key_s[:-1])[0]
    i, j = order[same], order[same + 1]
    return lo[i], hi[i], c[i], c[j]


def refined_edge_graph(vertices: np.ndarray, faces: np.ndarray) -> csr_matrix:
    """Sparse symmetric (V, V) graph of mesh edges plus unfolded diagonals."""
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    ea = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    eb = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    w = np.linalg.norm(v[ea] - v[eb], axis=1)
    a, b, c, d = _interior_edge_pairs(f)
    if len(a):
        # Unfold triangle (a, b, d) into the plane of (a, b, c), on the other
        # side of ab.
        e = v[b] - v[a]
        le = np.linalg.norm(e, axis=1)
        ok = le > 1e-12
        u = e / np.where(ok, le, 1)[:, None]
        pc, pd = v[c] - v[a], v[d] - v[a]
        xc, xd = (pc * u).sum(1), (pd * u).sum(1)
        yc = np.linalg.norm(pc - xc[:, None] * u, axis=1)
        yd = -np.linalg.norm(pd - xd[:, None] * u, axis=1)
        # The straight c-d segment stays on the two triangles iff it crosses ab
        # strictly between a and b.
        t = yc / np.where(yc - yd > 1e-12, yc - yd, 1)
        xcross = xc + t * (xd - xc)
        convex = ok & (yc - yd > 1e-12) & (xcross > 0) & (xcross < le)
        diag = np.hypot(xc - xd, yc - yd)
        ea = np.concatenate([ea, c[convex]])
        eb = np.concatenate([eb, d[convex]])
        w = np.concatenate([w, diag[convex]])
    w = np.maximum(w, 1e-12)  # scipy treats explicit zeros as missing edges
    return _symmetric_min(ea, eb, w, len(v))


def _symmetric_min(
    ea: np.ndarray, eb: np.ndarray, w: np.ndarray, n: int
) -> csr_matrix:
    """Symmetric sparse graph keeping the shortest of duplicate edges
    (not their sum).
    """
    i = np.concatenate([ea, eb])
    j = np.concatenate([eb, ea])
    ww = np.concatenate([w, w])
    key = i * n + j
    order = np.lexsort((ww, key))
    key_s = key[order]
    first = np.ones(len(order), bool)
    first[1:] = key_s[1:] != key_s[:-1]
    keep = order[first]
    return csr_matrix((ww[keep], (i[keep], j[keep])), shape=(n, n))


def graph_geodesics(
    vertices: np.ndarray,
    faces: np.ndarray,
    sources: Optional[Sequence[int]] = None,
    limit: float = np.inf,
) -> np.ndarray:
    """Geodesic distances by Dijkstra on :func:`refined_edge_graph`.

    Args:
        vertices (np.ndarray): (V, 3) positions.
        faces (np.ndarray): (F, 3) triangles.
        sources (Sequence[int], optional): Rows to compute; all vertices by
            default.
        limit (float): Distances beyond it are reported as ``inf``.

    Returns:
        np.ndarray: (len(sources), V) float64 distances.
    """
    graph = refined_edge_graph(vertices, faces)
    idx = (
        np.arange(len(vertices))
        if sources is None
        else np.asarray(sources, np.int64)
    )
    if len(idx) == 0:
        return np.zeros((0, len(vertices)))
    return dijkstra(graph, directed=False, indices=idx, limit=limit)


def heat_geodesics(
    vertices: np.ndarray,
    faces: np.ndarray,
    sources: Optional[Sequence[int]] = None,
) -> np.ndarray:
    """Geodesic distances by the heat method (potpourri3d).

    The heat method is not symmetric; d(a, b) is replaced by the mean of
    d(a, b) and d(b, a) wherever both a and b are sources. Vertices in another
    connected component (or in none) get ``inf``.

    Returns:
        np.ndarray: (len(sources), V) float64 distances.
    """
    import potpourri3d as pp3d

    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    n = len(v)
    idx = np.arange(n) if sources is None else np.asarray(sources, np.int64)
    used = np.zeros(n, bool)
    used[f.ravel()] = True
    solver = pp3d.MeshHeatMethodDistanceSolver(v, f)
    comp = _components(f, n)
    rows = np.full((len(idx), n), np.inf)
    for r, s in enumerate(idx):
        if not used[s]:
            continue
        row = np.asarray(solver.compute_distance(int(s)), np.float64)
        row[comp != comp[s]] = np.inf
        rows[r] = row
    sub = rows[:, idx]
    rows[:, idx] = np.where(
        np.isfinite(sub) & np.isfinite(sub.T), 0.5 * (sub + sub.T), np.inf
    )
    rows[np.arange(len(idx)), idx] = 0.0
    return rows


def _components(faces: np.ndarray, n: int) -> np.ndarray:
    from scipy.sparse.csgraph import connected_components

    f = np.asarray(faces, np.int64)
    i = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    j = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    g = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    return connected_components(g, directed=False)[1]


def vertex_path_lengths(
    p: np.ndarray,
    tri_p: np.ndarray,
    q: np.ndarray,
    tri_q: np.ndarray,
    vertices: np.ndarray,
    faces: np.ndarray,
    vertex_geodesic,
) -> np.ndarray:
    """Geodesics between surface points through the mesh vertices::

        min_{a in tri(p), b in tri(q)} |p - a| + G(a, b) + |b - q|

    over the corners a, b of the points' triangles, and the chord ``|p - q|``
    when both points lie in one triangle: the path the weights take around
    holes.

    Args:
        p (np.ndarray): (N, 3) or (3,) first points.
        tri_p (np.ndarray): (N,) or scalar triangle of each ``p``.
        q (np.ndarray): (N, 3) second points.
        tri_q (np.ndarray): (N,) triangle of each ``q``.
        vertices (np.ndarray): (V, 3) mesh vertices.
        faces (np.ndarray): (F, 3) triangles.
        vertex_geodesic (callable): ``G(a, b)`` for vertex id arrays a, b of
            shape (N,), elementwise.

    Returns:
        np.ndarray: (N,) lengths.
    """
    q = np.asarray(q, np.float64)
    p = np.broadcast_to(np.asarray(p, np.float64), q.shape)
    tri_p = np.broadcast_to(np.asarray(tri_p), (len(q),))
    v = vertices
    best = np.where(tri_p == tri_q, np.linalg.norm(p - q, axis=-1), np.inf)
    for i in range(3):
        a = faces[tri_p, i]
        pa = np.linalg.norm(p - v[a], axis=-1)
        for j in range(3):
            b = faces[tri_q, j]
            best = np.minimum(
                best,
                pa + vertex_geodesic(a, b) + np.linalg.norm(q - v[b], axis=-1),
            )
    return best
