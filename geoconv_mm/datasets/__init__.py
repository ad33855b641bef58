"""BP4D, DISFA and generic AU datasets and their transforms.

Importing this package registers ``AUDataset``, ``BP4DDataset``,
``DISFADataset`` in mmpretrain's ``DATASETS`` and the AU transforms in
``TRANSFORMS`` (use ``custom_imports = dict(imports=['geoconv_mm'])`` in
configs, as for every module of the package).

The paper's training pipeline (Sec. 4.1), with the weights of the model's
GeoConv layers (``specs='auto'``: ``GeoSpecsHook`` fills them from the model)::

    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadFaceSurface'),
        dict(type='RandomFlipFace', prob=0.5),
        dict(type='RandomHSVScale', hue=(0.6, 1.4), saturation=(0.6, 1.4),
             brightness=(0.6, 1.4)),
        dict(type='PCALighting', alphastd=0.1),
        dict(type='GenerateGeodesicWeights'),
        dict(type='PackAUInputs'),
    ]
    train_dataloader = dict(dataset=dict(
        type='BP4DDataset', data_root='data/bp4d',
        ann_file='annotations/bp4d.json', fold=1, split='train',
        pipeline=train_pipeline))
"""

from .au_dataset import AUDataset
from .au_info import (
    BP4D_AU_IDS,
    BP4D_INTENSITY_AU_IDS,
    DISFA_AU_IDS,
    DISFA_LABELLED_AU_IDS,
    MAX_INTENSITY,
    split_intensities,
)
from .bp4d import BP4DDataset
from .disfa import DISFADataset
from .protocol import (
    BP4D_PARTS,
    DISFA_PARTS,
    FERA2015_BP4D_SPLITS,
    fold_subjects,
)
from .synthau import SynthAUDataset
from .transforms import *  # noqa: F401,F403

__all__ = [
    'AUDataset',
    'BP4DDataset',
    'DISFADataset',
    'BP4D_AU_IDS',
    'BP4D_INTENSITY_AU_IDS',
    'DISFA_AU_IDS',
    'DISFA_LABELLED_AU_IDS',
    'MAX_INTENSITY',
    'split_intensities',
    'BP4D_PARTS',
    'DISFA_PARTS',
    'FERA2015_BP4D_SPLITS',
    'fold_subjects',
    'SynthAUDataset',
]
