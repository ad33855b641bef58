"""Faces: reconstruction of a coarse 3D mesh and alignment to a fixed crop.

Image -> reconstructor (``RECONSTRUCTORS``: MediaPipe Face Mesh, mesh files, a
linear 3DMM) -> :class:`RawFace` in the image frame -> similarity alignment of
the eyes and mouth to the template (:mod:`.alignment`) -> :class:`FaceResult`
(aligned crop, :class:`~geoconv_mm.geodesic.FaceSurface` in the crop frame,
facial mask). The surface then goes to :mod:`geoconv_mm.geodesic`.
"""
from .alignment import (
                        DEFAULT_TEMPLATE,
                        KEYPOINTS,
                        similarity_transform,
                        template_fractions,
                        template_points,
)
from .holes import hole_loops, keypoints_from_holes
from .pipeline import FacePipeline, FaceResult, NoFaceError, rasterize_mask
from .reconstructors import (
                        RECONSTRUCTORS,
                        Linear3DMM,
                        MediaPipeFaceMesh,
                        MeshFileReconstructor,
                        RawFace,
                        build_reconstructor,
                        facemesh_faces,
)

__all__ = [
    'DEFAULT_TEMPLATE', 'KEYPOINTS', 'FacePipeline', 'FaceResult',
    'Linear3DMM', 'MediaPipeFaceMesh', 'MeshFileReconstructor', 'NoFaceError',
    'RECONSTRUCTORS', 'RawFace', 'build_reconstructor', 'facemesh_faces',
    'hole_loops', 'keypoints_from_holes', 'rasterize_mask',
    'similarity_transform', 'template_fractions', 'template_points'
]
