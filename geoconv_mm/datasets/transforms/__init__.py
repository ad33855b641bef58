"""AU data transforms; importing registers them in mmpretrain's TRANSFORMS."""

from .formatting import PackAUInputs
from .geodesic import GenerateGeodesicWeights, RenderDepth
from .geometric import CropFace, RandomFlipFace, ResizeFace
from .loading import LoadFaceSurface
from .photometric import PCALighting, RandomHSVScale

__all__ = [
    'LoadFaceSurface',
    'RandomFlipFace',
    'ResizeFace',
    'CropFace',
    'GenerateGeodesicWeights',
    'RenderDepth',
    'PackAUInputs',
    'RandomHSVScale',
    'PCALighting',
]
