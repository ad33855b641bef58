"""GeoCNN and its parts; importing registers them in mmpretrain's MODELS."""

from .backbones import GeoBranch, GeoCNNBackbone, MultiChannelVGG
from .classifiers import GeoAUClassifier
from .data_preprocessors import AUDataPreprocessor
from .heads import AUHead
from .losses import AUBalancedBCELoss, balanced_au_weights
from .necks import ConcatFusionNeck

__all__ = [
    'GeoBranch',
    'GeoCNNBackbone',
    'MultiChannelVGG',
    'GeoAUClassifier',
    'AUDataPreprocessor',
    'AUHead',
    'AUBalancedBCELoss',
    'balanced_au_weights',
    'ConcatFusionNeck',
]
