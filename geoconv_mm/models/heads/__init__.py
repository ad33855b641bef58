from .au_head import AUHead
from .au_intensity_head import AUIntensityHead, intensity_targets
from .au_occurrence_intensity_head import AUOccurrenceIntensityHead
from .au_ordinal_intensity_head import AUOrdinalIntensityHead

__all__ = [
    'AUHead',
    'AUIntensityHead',
    'AUOrdinalIntensityHead',
    'AUOccurrenceIntensityHead',
    'intensity_targets',
]
