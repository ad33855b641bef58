"""AU data transforms; importing registers them in mmpretrain's TRANSFORMS."""

from .formatting import PackAUInputs, add_meta_keys
from .geodesic import GenerateGeodesicWeights, RenderDepth, fill_geo_specs
from .geometric import CropFace, RandomFlipFace, ResizeFace
from .loading import LoadFaceSurface
from .photometric import PCALighting, RandomHSVScale
from .surface_noise import PerturbFaceSurface

__all__ = [
    'LoadFaceSurface',
    'RandomFlipFace',
    'ResizeFace',
    'CropFace',
    'GenerateGeodesicWeights',
    'RenderDepth',
    'fill_geo_specs',
    'PackAUInputs',
    'add_meta_keys',
    'RandomHSVScale',
    'PCALighting',
    'PerturbFaceSurface',
]
