"""Geodesic weights (Eq. 4) of every GeoConv layer from a face mesh.

For output cell (y, x) of a layer described by a :class:`GeoSpec`, its centre
tap ``c`` and every other tap ``k``::

    g_k = (K - 1) * softmax_{k != c}( -D_geo(x_c, x_k) / D_eu(x_c, x_k) )
    g_c = 1

with x_c, x_k the image points of the receptive-field centres
(``GeoSpec.tap_image_points``).

Surface points: the mesh is rasterised at the tap points, giving each one a
triangle and barycentrics, hence a 3D point, or none (background, inside an
open mouth or eye, padding outside the image).

Geodesics between the surface points p (centre) and q (tap):

1. *Lifted segment.* When the straight image segment p-q stays on the surface,
   D_geo is the length of the surface curve above it, summed over unit grid
   steps. A step stays on the surface when both of its ends have a surface
   point and their triangles are the same, share an edge, share a vertex that
   is not on a boundary loop (a boundary vertex's triangles may sit on both
   sides of a hole, e.g. at the corner of the mouth), or are joined by an
   interior edge (a step may jump over a triangle thinner than a pixel; an edge
   never spans a hole). On a developable patch seen from the front (a plane, a
   cylinder across its axis) this is the exact geodesic; on a curved one it is
   an upper bound, close for short segments.
2. *Around holes and boundaries.* Otherwise (the segment crosses the open
   mouth, an eye, or leaves the face) D_geo is the shortest path through the
   mesh vertices::

       min_{a in tri(p), b in tri(q)} |p - a| + G(a, b) + |b - q|

   with G the vertex-to-vertex geodesic of the backend. So a geodesic between
   the two lips of an open mouth goes around the mouth, as in the paper.

Backends: ``'auto'`` (the default: ``'fast'`` where it is built, else
``'numpy'``, which says so once), ``'fast'`` (C++ kernel
``geoconv_mm.geodesic._C``; G by Dijkstra on mesh edges refined with unfolded
diagonals, bounded by the ratio cap),
``'numpy'`` (the same algorithm in numpy, for hosts without the build and as
the kernel's test oracle) and ``'heat'`` (numpy, G by potpourri3d's heat
method, the paper's choice: the reference).

Off-surface rule (our choice; the paper is silent):

* a cell whose centre has no surface point gets all weights 1 (plain
  convolution);
* a tap with no surface point (background, open mouth or eye interior, padding)
  is a flat neighbour: D_geo / D_eu = 1.

``hierarchy_compensation=False`` replaces D_eu by 1 (the paper's "w/o HC"); an
off-surface tap then counts D_geo = D_eu. Ratios are capped at ``RATIO_CAP`` =
30 (a weight e^-30 below its neighbours' is zero for any practical purpose),
which bounds the search for paths around holes. ``close_holes=True``
triangulates the mouth and eye loops first, so the lips are connected.

Limits: a unit step that jumps over two or more triangles (triangles much
thinner than a pixel, far finer than a 468-vertex face mesh in a 224 crop) is
treated as leaving the surface, so its pair takes the vertex path, an
overestimate for short pairs. Where the mesh overlaps itself in the image (a
nose hiding a cheek) the nearer triangle is used.
"""

from __future__ import annotations

from typing import Dict, Sequence

import numpy as np

from geoconv_mm.ops.geo_spec import GeoSpec

from ._ext import auto_backend, load_geometry_ext
from .numpy_backend import SurfaceGeodesics
from .surface import FaceSurface
from .topology import fill_holes

RATIO_CAP = 30.0
BACKENDS = ('auto', 'fast', 'numpy', 'heat')


def geodesic_weights_from_distances(
    dist: np.ndarray, spec: GeoSpec, hierarchy_compensation: bool = True
) -> np.ndarray:
    """Eq. 4 from tap distances (NaN = no surface point), with the off-surface
    rule.
    """
    ci = spec.centre_index
    d_eu = spec.euclidean_distances()[:, None, None]
    denom = d_eu if hierarchy_compensation else np.ones_like(d_eu)
    with np.errstate(
        invalid='ignore', divide='ignore'
    ):  # the centre tap has D_eu = 0
        ratio = np.where(
            np.isnan(dist), d_eu / denom, dist / np.where(denom > 0, denom, 1)
        )
    ratio = np.minimum(ratio, RATIO_CAP)
    others = np.arange(spec.num_taps) != ci
    if not others.any():  # a 1 x 1 kernel: the centre alone, weight 1
        return np.ones(dist.shape, np.float32)
    logits = -ratio[others]
    logits = logits - logits.max(0, keepdims=True)
    e = np.exp(logits)
    g = np.ones(dist.shape, np.float64)
    g[others] = (spec.num_taps - 1) * e / e.sum(0, keepdims=True)
    g[:, np.isnan(dist[ci])] = 1.0
    return g.astype(np.float32)


def compute_geodesic_weights(
    surface: FaceSurface,
    specs: Sequence[GeoSpec],
    *,
    hierarchy_compensation: bool = True,
    backend: str = 'auto',
    close_holes: bool = False,
) -> Dict[str, np.ndarray]:
    """Eq. 4 weights of every spec for one face (see the module docstring).

    Args:
        surface (FaceSurface): Mesh in the crop's pixel frame.
        specs (Sequence[GeoSpec]): Layers to serve (odd kernels).
        hierarchy_compensation (bool): Divide by D_eu (True) or by 1
            ("w/o HC").
        backend (str): ``'auto'``, ``'fast'``, ``'numpy'`` or ``'heat'``.
        close_holes (bool): Fill mouth and eye holes before geodesics.

    Returns:
        dict[str, np.ndarray]: ``spec.key`` -> float32 (K, H_out, W_out).
    """
    weights, _ = _compute(
        surface,
        specs,
        hierarchy_compensation,
        backend,
        close_holes,
        return_distances=False,
    )
    return weights


def compute_geodesic_distances(
    surface: FaceSurface,
    specs: Sequence[GeoSpec],
    *,
    backend: str = 'auto',
    close_holes: bool = False,
) -> Dict[str, np.ndarray]:
    """D_geo of every tap (float64 (K, H_out, W_out), NaN without a surface
    point).

    With ``backend='fast'`` distances whose ratio exceeds ``RATIO_CAP`` may be
    ``inf``.
    """
    _, dists = _compute(
        surface, specs, True, backend, close_holes, return_distances=True
    )
    return dists


def _compute(
    surface,
    specs,
    hierarchy_compensation,
    backend,
    close_holes,
    return_distances,
):
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got {backend!r}')
    if backend == 'auto':
        backend = auto_backend()
    specs = list(specs)
    for spec in specs:
        spec.centre_index  # noqa: B018  (raises for even kernels)
    if backend == 'fast':
        return _compute_fast(
            surface,
            specs,
            hierarchy_compensation,
            close_holes,
            return_distances,
        )
    geo = SurfaceGeodesics(surface, backend=backend, close_holes=close_holes)
    dists = geo.tap_distances(specs)
    weights = {
        spec.key: geodesic_weights_from_distances(
            d, spec, hierarchy_compensation
        )
        for spec, d in zip(specs, dists)
    }
    return weights, {spec.key: d for spec, d in zip(specs, dists)}


def _compute_fast(
    surface, specs, hierarchy_compensation, close_holes, return_distances
):
    import torch

    ext = load_geometry_ext()
    surface.validate()
    faces = surface.faces
    face_patch = np.zeros(0, np.int32)
    vertex_patch = np.zeros(0, np.int32)
    if close_holes:
        faces, face_patch, vertex_patch = fill_holes(surface.vertices, faces)
    rows = [
        (s.in_stride, *s.kernel_size, *s.stride, *s.padding, *s.dilation)
        for s in specs
    ]
    for s in specs:
        s.output_size(surface.image_size)  # noqa: B018  (clear errors for bad sizes)
    h, w = surface.image_size
    res = ext.geodesic_weights(
        torch.from_numpy(surface.vertices.astype(np.float64)),
        torch.from_numpy(np.ascontiguousarray(faces, np.int32)),
        h,
        w,
        torch.tensor(rows, dtype=torch.int64).reshape(-1, 9),
        hierarchy_compensation,
        RATIO_CAP,
        torch.zeros(0, dtype=torch.float64),
        return_distances,
        torch.from_numpy(face_patch),
        torch.from_numpy(vertex_patch),
    )
    n = len(specs)
    weights = {s.key: t.numpy() for s, t in zip(specs, res[:n])}
    dists = {s.key: t.numpy() for s, t in zip(specs, res[n:])}
    return weights, dists
