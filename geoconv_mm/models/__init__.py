"""GeoCNN and its parts; importing registers them in mmpretrain's MODELS."""

from .backbones import GeoBranch, GeoCNNBackbone, MultiChannelVGG
from .classifiers import GeoAUClassifier
from .data_preprocessors import AUDataPreprocessor
from .heads import (
    AUHead,
    AUIntensityHead,
    AUOccurrenceIntensityHead,
    AUOrdinalIntensityHead,
)
from .losses import (
    AUBalancedBCELoss,
    AUIntensityMSELoss,
    AUOrdinalLoss,
    balanced_au_weights,
)
from .necks import ConcatFusionNeck

__all__ = [
    'GeoBranch',
    'GeoCNNBackbone',
    'MultiChannelVGG',
    'GeoAUClassifier',
    'AUDataPreprocessor',
    'AUHead',
    'AUIntensityHead',
    'AUOrdinalIntensityHead',
    'AUOccurrenceIntensityHead',
    'AUBalancedBCELoss',
    'AUIntensityMSELoss',
    'AUOrdinalLoss',
    'balanced_au_weights',
    'ConcatFusionNeck',
]
