"""SynthAU: a generated 3D face AU dataset that exists everywhere.

Importing registers ``SynthAUDataset`` (DATASETS) and
``LoadSynthAUFaceSurface`` (TRANSFORMS).
"""

from .action_units import SYNTHAU_AU_IDS, au_displacement, sample_expression
from .dataset import SynthAUDataset
from .generator import MESH_SUFFIXES, SynthAUSpec, generate_synthau, mesh_path
from .transforms import LoadSynthAUFaceSurface
from .variants import SYNTHAU_VARIANTS, variant_generator

__all__ = [
    'SYNTHAU_AU_IDS',
    'au_displacement',
    'sample_expression',
    'SynthAUSpec',
    'generate_synthau',
    'SynthAUDataset',
    'MESH_SUFFIXES',
    'mesh_path',
    'LoadSynthAUFaceSurface',
    'SYNTHAU_VARIANTS',
    'variant_generator',
]
