"""Geodesic weights from a face surface: the surface record, geodesic
distances on it, and the weights of Eq. 4.

:class:`FaceSurface` (the per-frame mesh in the crop's pixel frame) ->
:func:`compute_geodesic_weights` (Eq. 4 for every GeoConv layer, called by the
data pipeline). Faces are found, reconstructed and aligned by
:mod:`geoconv_mm.face`.
"""

import importlib
import warnings

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

# Names that moved to geoconv_mm.face and geoconv_mm.utils.frame_io; still
# importable from here for one release.
_MOVED = dict(
    FacePipeline='geoconv_mm.face',
    FaceResult='geoconv_mm.face',
    NoFaceError='geoconv_mm.face',
    RECONSTRUCTORS='geoconv_mm.face',
    MediaPipeFaceMesh='geoconv_mm.face',
    MeshFileReconstructor='geoconv_mm.face',
    Linear3DMM='geoconv_mm.face',
    RawFace='geoconv_mm.face',
    facemesh_faces='geoconv_mm.face',
    load_image='geoconv_mm.utils.frame_io',
)


def __getattr__(name):
    if name not in _MOVED:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    where = _MOVED[name]
    warnings.warn(
        f'geoconv_mm.geodesic.{name} moved to {where}',
        DeprecationWarning,
        stacklevel=2,
    )
    attr = 'read_image' if name == 'load_image' else name
    return getattr(importlib.import_module(where), attr)
