"""SynthAU: a generated 3D face AU dataset that exists everywhere.

Importing registers ``SynthAUDataset`` (DATASETS) and
``LoadNeutralFaceSurface`` (TRANSFORMS).
"""

from .action_units import SYNTHAU_AU_IDS, au_displacement, sample_expression
from .dataset import SynthAUDataset
from .generator import SynthAUSpec, generate_synthau, neutral_geo_path
from .transforms import LoadNeutralFaceSurface
from .variants import SYNTHAU_VARIANTS, variant_generator

__all__ = [
    'SYNTHAU_AU_IDS',
    'au_displacement',
    'sample_expression',
    'SynthAUSpec',
    'generate_synthau',
    'SynthAUDataset',
    'neutral_geo_path',
    'LoadNeutralFaceSurface',
    'SYNTHAU_VARIANTS',
    'variant_generator',
]
