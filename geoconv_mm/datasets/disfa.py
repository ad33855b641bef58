"""DISFA, left camera (8 AUs, 3 subject-exclusive parts; intensities 0-5 of
12 AUs)."""

from typing import Optional

from mmpretrain.registry import DATASETS

from .au_dataset import AUDataset
from .au_info import DISFA_AU_IDS
from .protocol import DISFA_PARTS


@DATASETS.register_module()
class DISFADataset(AUDataset):
    """DISFA with the standard protocol: AUs 1, 2, 4, 6, 9, 12, 25, 26,
    positive at intensity >= ``intensity_threshold`` (2 by default). Every
    label is known, so ``au_mask`` is all True; the intensities stay in
    ``au_intensities``. Intensity work uses all 12 labelled AUs
    (``au_ids=DISFA_LABELLED_AU_IDS``, ``with_intensity=True``) with the
    same 3 folds.

    Args:
        intensity_threshold (int): Smallest intensity counted as present (1-5).
        **kwargs: See :class:`AUDataset`.
    """

    DEFAULT_AU_IDS = DISFA_AU_IDS
    PARTS = DISFA_PARTS
    DATASET_NAME = 'DISFA'

    def __init__(
        self, *args, intensity_threshold: Optional[int] = 2, **kwargs
    ):
        if (
            not isinstance(intensity_threshold, int)
            or not 1 <= intensity_threshold <= 5
        ):
            raise ValueError(
                f'intensity_threshold must be an int in 1..5, got '
                f'{intensity_threshold!r}'
            )
        super().__init__(
            *args, intensity_threshold=intensity_threshold, **kwargs
        )
