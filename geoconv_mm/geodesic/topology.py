"""Mesh topology: triangles from an edge set, boundary loops and hole filling.

MediaPipe publishes its Face Mesh only as an edge set
(``FACEMESH_TESSELATION``); the triangles are its 3-cycles, less the few
3-cycles that are not faces. The mesh is a disk with three holes
(mouth, two eyes): four boundary loops.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Dict, Iterable, List, Tuple

import numpy as np


def _edge_face_count(faces: np.ndarray) -> Dict[Tuple[int, int], int]:
    count: Dict[Tuple[int, int], int] = defaultdict(int)
    for tri in faces:
        for k in range(3):
            a, b = int(tri[k]), int(tri[(k + 1) % 3])
            count[(min(a, b), max(a, b))] += 1
    return count


def orient_faces(faces: np.ndarray) -> np.ndarray:
    """Orient the faces of a manifold mesh consistently (per connected
    component).

    Args:
        faces (np.ndarray): (F, 3) int triangles, any orientation.

    Returns:
        np.ndarray: (F, 3) int32 triangles, neighbours traversing shared edges
        in opposite directions.
    """
    faces = np.array(faces, dtype=np.int32, copy=True)
    edge_faces: Dict[Tuple[int, int], List[int]] = defaultdict(list)
    for f, tri in enumerate(faces):
        for k in range(3):
            a, b = int(tri[k]), int(tri[(k + 1) % 3])
            edge_faces[(min(a, b), max(a, b))].append(f)
    done = np.zeros(len(faces), bool)
    for seed in range(len(faces)):
        if done[seed]:
            continue
        done[seed] = True
        stack = [seed]
        while stack:
            f = stack.pop()
            tri = faces[f]
            for k in range(3):
                a, b = int(tri[k]), int(tri[(k + 1) % 3])
                for g in edge_faces[(min(a, b), max(a, b))]:
                    if done[g]:
                        continue
                    other = faces[g]
                    # A consistent neighbour traverses (b, a); flip it when it
                    # has (a, b).
                    for m in range(3):
                        if other[m] == a and other[(m + 1) % 3] == b:
                            faces[g] = other[::-1]
                            break
                    done[g] = True
                    stack.append(g)
    return faces


def triangles_from_edges(edges: Iterable[Tuple[int, int]]) -> np.ndarray:
    """Faces of a triangulated surface given only its edge set.

    Every 3-cycle of the edge graph is a face candidate; a 3-cycle whose three
    edges each already bound two other candidates is a spurious cycle (it spans
    a ring of real faces) and is dropped, so that every edge bounds at most two
    faces.

    Args:
        edges (Iterable[tuple[int, int]]): Undirected edges.

    Returns:
        np.ndarray: (F, 3) int32 consistently oriented faces.

    Raises:
        ValueError: If the edges do not describe a manifold triangle mesh.
    """
    edge_arr = np.unique(
        np.sort(np.asarray(list(edges), dtype=np.int64), axis=1), axis=0
    )
    adj: Dict[int, set] = defaultdict(set)
    for a, b in edge_arr:
        adj[int(a)].add(int(b))
        adj[int(b)].add(int(a))
    cycles = sorted(
        {
            tuple(sorted((int(a), int(b), c)))
            for a, b in edge_arr
            for c in adj[int(a)] & adj[int(b)]
        }
    )
    faces = np.array(cycles, dtype=np.int32).reshape(-1, 3)
    count = _edge_face_count(faces)

    def n_over(tri):
        return sum(
            count[
                (min(tri[k], tri[(k + 1) % 3]), max(tri[k], tri[(k + 1) % 3]))
            ]
            > 2
            for k in range(3)
        )

    keep = np.array([n_over(t) < 3 for t in faces], bool)
    faces = faces[keep]
    if max(_edge_face_count(faces).values()) > 2:
        raise ValueError(
            'the edge set is not a manifold triangle mesh '
            '(an edge bounds more than two faces)'
        )
    return orient_faces(faces)


def boundary_loops(faces: np.ndarray) -> List[np.ndarray]:
    """Boundary loops of a manifold triangle mesh, longest first.

    Args:
        faces (np.ndarray): (F, 3) consistently oriented triangles.

    Returns:
        list[np.ndarray]: Vertex indices of each closed boundary loop, in
            order.
    """
    count = _edge_face_count(faces)
    nxt: Dict[int, int] = {}
    for tri in faces:
        for k in range(3):
            a, b = int(tri[k]), int(tri[(k + 1) % 3])
            if count[(min(a, b), max(a, b))] == 1:
                nxt[a] = b
    loops = []
    seen = set()
    for start in list(nxt):
        if start in seen:
            continue
        loop = [start]
        seen.add(start)
        v = nxt[start]
        while v != start:
            if v in seen or v not in nxt:
                raise ValueError(
                    'boundary is not a set of simple closed loops '
                    f'(vertex {v} is visited twice)'
                )
            loop.append(v)
            seen.add(v)
            v = nxt[v]
        loops.append(np.array(loop, dtype=np.int32))
    loops.sort(key=len, reverse=True)
    return loops


def boundary_vertex_mask(faces: np.ndarray, num_vertices: int) -> np.ndarray:
    """(V,) bool, True on the vertices of boundary edges (edges of one face).

    Unlike :func:`boundary_loops` it needs no loop structure, so a vertex
    where two boundary loops touch (a hole reaching the border at a corner)
    is simply a boundary vertex, as in the C++ kernel.
    """
    mask = np.zeros(num_vertices, bool)
    for (a, b), n in _edge_face_count(faces).items():
        if n == 1:
            mask[[a, b]] = True
    return mask


def close_holes(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Faces with every inner boundary loop triangulated (see
    :func:`fill_holes`).
    """
    return fill_holes(vertices, faces)[0]


def fill_holes(
    vertices: np.ndarray, faces: np.ndarray
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Triangulate every inner boundary loop (mouth, eyes), keeping the outer
    one.

    The outer loop is the one enclosing the largest area in the image plane
    (x, y), which for a face mesh is the face oval. Each inner loop is closed
    by an ear-clipping triangulation in the image plane, so no vertex is added
    and the lips become connected (our improvement for AU25/AU26; the paper
    keeps them open).

    Args:
        vertices (np.ndarray): (V, 3) vertex positions.
        faces (np.ndarray): (F, 3) consistently oriented faces.

    Returns:
        tuple: faces (F + added, 3) int32; ``face_patch`` (F + added,) int32,
        the index of the filled loop a face belongs to (-1 for original faces);
        ``vertex_patch`` (V,) int32, the filled loop a vertex lies on
        (-1 if none). Ear clipping makes long, thin (even zero-area) triangles,
        so the geodesic code treats a filled patch and the faces around its
        loop as one region.
    """
    faces = np.asarray(faces, np.int32)
    loops = _cached_loops(faces)
    face_patch = [np.full(len(faces), -1, np.int32)]
    vertex_patch = np.full(len(vertices), -1, np.int32)
    if len(loops) <= 1:
        return faces, face_patch[0], vertex_patch
    xy = np.asarray(vertices, np.float64)[:, :2]
    areas = [abs(_signed_area(xy[loop])) for loop in loops]
    outer = int(np.argmax(areas))
    new = [faces]
    patch = 0
    for i, loop in enumerate(loops):
        if i == outer:
            continue
        tris = _ear_clip(xy, loop)
        # Orient the patch opposite to the loop's direction in the existing
        # faces, so the filled mesh stays consistently oriented.
        new.append(tris[:, ::-1].astype(np.int32))
        face_patch.append(np.full(len(tris), patch, np.int32))
        vertex_patch[loop] = patch
        patch += 1
    return np.concatenate(new, 0), np.concatenate(face_patch), vertex_patch


_LOOP_CACHE: Dict[bytes, List[np.ndarray]] = {}


def _cached_loops(faces: np.ndarray) -> List[np.ndarray]:
    # Every frame of a dataset shares one topology; find its loops once.
    key = faces.tobytes()
    if key not in _LOOP_CACHE:
        if len(_LOOP_CACHE) > 8:
            _LOOP_CACHE.clear()
        _LOOP_CACHE[key] = boundary_loops(faces)
    return _LOOP_CACHE[key]


def _signed_area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _ear_clip(xy: np.ndarray, loop: np.ndarray) -> np.ndarray:
    """Triangulate a simple polygon (vertex ids ``loop`` in order) by ear
    clipping.

    Triangles keep the loop's traversal direction. A degenerate (collapsed,
    e.g. a closed mouth) polygon still gets triangulated: when no strict ear
    exists the flattest corner is clipped.
    """
    idx = list(int(v) for v in loop)
    sign = 1.0 if _signed_area(xy[loop]) >= 0 else -1.0
    out = []
    while len(idx) > 3:
        n = len(idx)
        best, best_score = None, -np.inf
        for k in range(n):
            a, b, c = idx[k - 1], idx[k], idx[(k + 1) % n]
            cross = sign * _cross(xy[a], xy[b], xy[c])
            if cross > 0 and not any(
                _inside(xy[p], xy[a], xy[b], xy[c], sign)
                for p in idx
                if p not in (a, b, c)
            ):
                best = k
                break
            if cross > best_score:
                best, best_score = k, cross
        n = len(idx)
        a, b, c = idx[best - 1], idx[best], idx[(best + 1) % n]
        out.append((a, b, c))
        idx.pop(best)
    out.append(tuple(idx))
    return np.array(out, dtype=np.int32)


def _cross(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    return float((b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]))


def _inside(p, a, b, c, sign) -> bool:
    return (
        sign * _cross(a, b, p) >= 0
        and sign * _cross(b, c, p) >= 0
        and sign * _cross(c, a, p) >= 0
    )
