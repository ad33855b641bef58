"""Alternative off-surface rules, applied exactly to the delivered Eq. 4
weights.

The paper is silent on taps without a surface point (background, the open mouth
or eye interior, padding). The weights of :func:`compute_geodesic_weights`
count such a tap as a flat neighbour, ratio D_geo/D_eu = 1 ('flat'). Real
ratios are >= 1, so that gives silhouette and mouth taps the *largest* weight
of their cell. Two alternatives ("further, less"):

* ``'zero'``: an off-surface tap gets weight 0 (Eq. 4's softmax over the
  on-surface taps only);
* ``'cap'``: an off-surface tap counts as the cell's largest on-surface ratio.

Both follow from the delivered weights and the mask of off-surface taps alone:
per cell ``log g_k = const - r_k`` over the non-centre taps, so replacing the
off-surface taps' log-weights (by -inf, or by the smallest on-surface
log-weight) and taking ``(K-1) softmax`` again is Eq. 4 with the new ratios.
Cells whose centre is off the surface stay plain convolution (all 1), as do
cells without any on-surface neighbour under ``'zero'`` (there is nothing to
spread the K-1 over).
"""

from __future__ import annotations

from typing import Dict, Sequence

import numpy as np

from geoconv_mm.ops.geo_spec import GeoSpec

from .raster import rasterize_fast
from .surface import FaceSurface
from .topology import fill_holes

OFF_SURFACE_RULES = ('flat', 'zero', 'cap')


def off_surface_taps(
    surface: FaceSurface, specs: Sequence[GeoSpec], close_holes: bool = False
) -> Dict[str, np.ndarray]:
    """Which taps of every cell have no surface point.

    The taps are looked up as :mod:`geoconv_mm.geodesic.weights` does: the mesh
    is rasterised on the grid of image points (c + o, r + o), o = 0.5 for even
    input strides and 0 for odd ones, and a tap takes the nearest grid sample;
    a tap outside the image (padding) is off the surface.

    Returns:
        dict: ``spec.key`` -> bool (K, H_out, W_out), True where off the
            surface.
    """
    faces = surface.faces
    if close_holes:
        faces = fill_holes(surface.vertices.astype(np.float64), faces)[0]
    size = tuple(surface.image_size)
    grids = {}
    out = {}
    for spec in specs:
        offset = 0.5 if spec.in_stride % 2 == 0 else 0.0
        if offset not in grids:
            grids[offset] = rasterize_fast(
                surface.vertices.astype(np.float64), faces, size, offset
            )[0]
        tri = grids[offset]
        xy = spec.tap_image_points(size) - offset
        gc = np.rint(xy[..., 0]).astype(np.int64)
        gr = np.rint(xy[..., 1]).astype(np.int64)
        inside = (gc >= 0) & (gc < size[1]) & (gr >= 0) & (gr < size[0])
        hit = np.where(
            inside, tri[gr.clip(0, size[0] - 1), gc.clip(0, size[1] - 1)], -1
        )
        out[spec.key] = hit < 0
    return out


def apply_off_surface_rule(
    weights: np.ndarray, off: np.ndarray, centre: int, rule: str
) -> np.ndarray:
    """Re-weight one layer's delivered weights under another off-surface rule.

    Args:
        weights (np.ndarray): (K, H, W) Eq. 4 weights with the 'flat' rule.
        off (np.ndarray): (K, H, W) bool, True for taps without a surface
            point.
        centre (int): Index of the centre tap.
        rule (str): 'flat' (returns the weights), 'zero' or 'cap'.

    Returns:
        np.ndarray: float32 (K, H, W).
    """
    if rule not in OFF_SURFACE_RULES:
        raise ValueError(
            f'off_surface must be one of {OFF_SURFACE_RULES}, got {rule!r}'
        )
    w = np.asarray(weights, np.float64)
    if w.shape != off.shape:
        raise ValueError(f'weights {w.shape} and mask {off.shape} differ')
    if rule == 'flat':
        return np.asarray(weights, np.float32)
    k = w.shape[0]
    others = np.arange(k) != centre
    live = ~off[
        centre
    ]  # cells of plain convolution (centre off) are left alone
    with np.errstate(divide='ignore'):
        logw = np.log(w[others])  # 0 weights (ratio at the cap) are -inf
    off_o = off[others]
    on_o = ~off_o
    has_on = (on_o & np.isfinite(logw)).any(0)
    if rule == 'zero':
        repl = np.full(logw.shape[1:], -np.inf)
    else:
        repl = np.where(on_o, logw, np.inf).min(
            0
        )  # smallest on-surface log-weight
    change = live & off_o.any(0) & has_on
    with np.errstate(invalid='ignore', over='ignore'):
        new = np.where(off_o, repl[None], logw)
        new = new - np.where(np.isfinite(new), new, -np.inf).max(
            0, keepdims=True
        )
        e = np.exp(new)
        g = (k - 1) * e / e.sum(0, keepdims=True)
    out = w.copy()
    sel = np.broadcast_to(change, out[others].shape)
    out_o = out[others]
    out_o[sel] = g[sel]
    out[others] = out_o
    return out.astype(np.float32)
