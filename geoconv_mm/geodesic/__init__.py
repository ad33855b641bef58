"""Geodesic weights from a coarse 3D face (issue 3).

Image -> :class:`FacePipeline` (face found, mesh reconstructed, similarity-aligned
224x224 crop) -> :class:`FaceSurface` (the compact per-frame record) ->
:func:`compute_geodesic_weights` (Eq. 4 for every GeoConv layer, in the data pipeline).
"""
from .pipeline import FacePipeline, FaceResult, NoFaceError, load_image
from .raster import rasterize, render_depth
from .reconstructors import (RECONSTRUCTORS, Linear3DMM, MediaPipeFaceMesh,
                             MeshFileReconstructor, RawFace, facemesh_faces)
from .surface import DegenerateMeshError, FaceSurface
from .weights import (RATIO_CAP, compute_geodesic_distances, compute_geodesic_weights,
                      flip_geodesic_weights)

__all__ = [
    'FaceSurface', 'FacePipeline', 'FaceResult', 'NoFaceError', 'DegenerateMeshError',
    'compute_geodesic_weights', 'compute_geodesic_distances', 'flip_geodesic_weights',
    'render_depth', 'rasterize', 'load_image', 'RECONSTRUCTORS', 'MediaPipeFaceMesh',
    'MeshFileReconstructor', 'Linear3DMM', 'RawFace', 'facemesh_faces', 'RATIO_CAP'
]
