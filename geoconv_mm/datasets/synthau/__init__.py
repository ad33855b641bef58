"""SynthAU: a generated 3D face AU dataset that exists everywhere (issue 6).

Importing registers ``SynthAUDataset`` (DATASETS).
"""
from .action_units import SYNTHAU_AU_IDS, au_displacement, sample_expression
from .dataset import SynthAUDataset
from .generator import SynthAUSpec, generate_synthau

__all__ = [
    'SYNTHAU_AU_IDS', 'au_displacement', 'sample_expression', 'SynthAUSpec',
    'generate_synthau', 'SynthAUDataset'
]
