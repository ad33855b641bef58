"""BP4D-Spontaneous (12 AUs, 3 subject-exclusive parts)."""

from mmpretrain.registry import DATASETS

from .au_dataset import AUDataset
from .au_info import BP4D_AU_IDS
from .protocol import BP4D_PARTS


@DATASETS.register_module()
class BP4DDataset(AUDataset):
    """BP4D with the standard protocol: AUs 1, 2, 4, 6, 7, 10, 12, 14, 15, 17,
    23, 24 and the 3 parts of JAA-Net / ME-GraphAU. Labels are 0/1 with 9 =
    unknown, which becomes ``au_mask = False``. See :class:`AUDataset` for the
    arguments."""

    DEFAULT_AU_IDS = BP4D_AU_IDS
    PARTS = BP4D_PARTS
    DATASET_NAME = 'BP4D'
