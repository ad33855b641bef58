"""BP4D-Spontaneous (12 AUs, 3 subject-exclusive parts; intensities of 5 AUs
with the FERA 2015 split)."""

from mmpretrain.registry import DATASETS

from .au_dataset import AUDataset
from .au_info import BP4D_AU_IDS
from .protocol import BP4D_PARTS, FERA2015_BP4D_SPLITS


@DATASETS.register_module()
class BP4DDataset(AUDataset):
    """BP4D with the standard protocol: AUs 1, 2, 4, 6, 7, 10, 12, 14, 15, 17,
    23, 24 and the 3 parts of JAA-Net / ME-GraphAU. Labels are 0/1 with 9 =
    unknown, which becomes ``au_mask = False``.

    Intensity: an annotation prepared from a copy with ``AUCoding/AU_INT``
    has ``au_intensities`` for AUs 6, 10, 12, 14 and 17 (0-5, 9 = not
    coded). ``protocol='fera2015'`` with ``split='train'`` or ``'test'``
    selects the FERA 2015 sub-challenge's training and development subjects
    (:data:`~geoconv_mm.datasets.protocol.FERA2015_BP4D_SPLITS`); the 3-fold
    protocol works for intensity too. See :class:`AUDataset` for the
    arguments.
    """

    DEFAULT_AU_IDS = BP4D_AU_IDS
    PARTS = BP4D_PARTS
    SPLIT_PROTOCOLS = dict(fera2015=FERA2015_BP4D_SPLITS)
    DATASET_NAME = 'BP4D'
