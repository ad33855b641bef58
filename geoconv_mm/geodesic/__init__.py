"""Geodesic weights from a face surface: the surface record, geodesic
distances on it, and the weights of Eq. 4.

:class:`FaceSurface` (the per-frame mesh in the crop's pixel frame) ->
:func:`compute_geodesic_weights` (Eq. 4 for every GeoConv layer, called by the
data pipeline). Faces are found, reconstructed and aligned by
:mod:`geoconv_mm.face`.
"""

from .flip import flip_geodesic_weights
from .raster import rasterize, render_depth
from .surface import DegenerateMeshError, FaceSurface
from .weights import (
    RATIO_CAP,
    compute_geodesic_distances,
    compute_geodesic_weights,
)

__all__ = [
    'FaceSurface',
    'DegenerateMeshError',
    'compute_geodesic_weights',
    'compute_geodesic_distances',
    'flip_geodesic_weights',
    'render_depth',
    'rasterize',
    'RATIO_CAP',
]
