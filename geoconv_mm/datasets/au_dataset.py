"""Generic facial action unit dataset (OpenMMLab 2.0 annotation,
subject-exclusive folds).
"""

from __future__ import annotations

import logging
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.fileio import join_path
from mmengine.logging import print_log
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from .au_info import UNKNOWN_LABEL, au_class_names, au_full_names, parse_au_ids
from .protocol import SPLITS, fold_subjects, validate_parts


@DATASETS.register_module()
class AUDataset(BaseDataset):
    """Multi-label AU dataset with a per-AU validity mask.

    The annotation file is OpenMMLab 2.0 JSON (written by the prepare tools)::

        {"metainfo": {"dataset": "BP4D", "au_ids": [1, 2, ...], ...},
         "data_list": [{"img_path": "frames/F001/T1/2440.jpg",
                        "geo_path": "frames/F001/T1/2440.npz",
                        "subject": "F001", "sequence": "T1", "frame": 2440,
                        "au_labels": [0, 1, 9, ...],  # one per au_ids
                        "au_intensities": [0, 3, ...]},  # optional (DISFA)
                       ...]}

    Each data info gets ``gt_au`` (uint8 (A,) 0/1) and ``au_mask`` (bool (A,),
    False where the label is unknown, 9) for the selected ``au_ids``; unknown
    labels are never turned into 0. ``img_path`` and ``geo_path`` are joined
    with ``data_prefix`` (both default to ``data_root``).

    Args:
        ann_file (str): Annotation JSON.
        au_ids (Sequence[int], optional): AUs to use, in this order; any subset
            of the annotation's ``au_ids``. Defaults to :attr:`DEFAULT_AU_IDS`,
            or all AUs of the annotation when that is None.
        fold (int, optional): 1-based fold of ``parts``; requires ``split``.
        split (str, optional): 'train' or 'test' of ``fold``.
        subjects (Sequence[str], optional): Use exactly these subjects instead
            of a fold.
        parts (Sequence[Sequence[str]], optional): Subject parts of the fold
            protocol (fold k tests on part N+1-k). Defaults to :attr:`PARTS`.
        intensity_threshold (int, optional): If set, labels are
            ``au_intensities >= threshold`` (intensity data required) instead
            of ``au_labels``.
        **kwargs: Passed to :class:`mmpretrain.datasets.BaseDataset`.
    """

    DEFAULT_AU_IDS: Optional[Sequence[int]] = None
    PARTS: Optional[Sequence[Sequence[str]]] = None
    DATASET_NAME: Optional[str] = None

    def __init__(
        self,
        ann_file: str,
        au_ids: Optional[Sequence[int]] = None,
        fold: Optional[int] = None,
        split: Optional[str] = None,
        subjects: Optional[Sequence[str]] = None,
        parts: Optional[Sequence[Sequence[str]]] = None,
        intensity_threshold: Optional[int] = None,
        data_prefix: Union[str, dict] = '',
        **kwargs,
    ):
        au_ids = au_ids if au_ids is not None else self.DEFAULT_AU_IDS
        self.au_ids = None if au_ids is None else parse_au_ids(au_ids)
        self.intensity_threshold = intensity_threshold
        self.fold, self.split = fold, split
        self.subjects = self._resolve_subjects(fold, split, subjects, parts)
        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix, geo_path=data_prefix)
        super().__init__(ann_file=ann_file, data_prefix=data_prefix, **kwargs)

    def _resolve_subjects(
        self, fold, split, subjects, parts
    ) -> Optional[List[str]]:
        if subjects is not None:
            if fold is not None or split is not None:
                raise ValueError(
                    'give either subjects or fold/split, not both'
                )
            subjects = [str(s) for s in subjects]
            if not subjects:
                raise ValueError('subjects is empty')
            return subjects
        if fold is None and split is None:
            return None
        if fold is None or split is None:
            raise ValueError(
                f'fold and split go together, got fold={fold!r}, '
                f'split={split!r}'
            )
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        parts = parts if parts is not None else self.PARTS
        if parts is None:
            raise ValueError(
                f'{type(self).__name__} has no fold protocol: pass parts='
            )
        self.parts = validate_parts(parts)
        return fold_subjects(self.parts, fold, split)

    def load_data_list(self) -> List[dict]:
        """Load the annotation, select subjects and AUs, and derive
        ``gt_au``/``au_mask``.
        """
        raw = super().load_data_list()
        meta = self._metainfo
        name = meta.get('dataset')
        if self.DATASET_NAME and name and name != self.DATASET_NAME:
            raise ValueError(
                f'{self.ann_file} holds dataset {name!r}, but '
                f'{type(self).__name__} expects {self.DATASET_NAME!r}'
            )
        if 'au_ids' not in meta:
            raise ValueError(f'{self.ann_file}: metainfo has no "au_ids"')
        file_aus = [int(a) for a in meta['au_ids']]
        au_ids = self.au_ids if self.au_ids is not None else file_aus
        missing = [a for a in au_ids if a not in file_aus]
        if missing:
            raise ValueError(
                f'{self.ann_file} has no labels for AU {missing} '
                f'(it has {file_aus})'
            )
        cols = np.array([file_aus.index(a) for a in au_ids], np.int64)
        self.au_ids = au_ids
        meta['au_ids'] = list(au_ids)
        meta['classes'] = tuple(au_class_names(au_ids))
        meta['au_names'] = tuple(au_full_names(au_ids))
        meta['intensity_threshold'] = self.intensity_threshold

        data_list = raw
        if self.subjects is not None:
            wanted = set(self.subjects)
            present = {d['subject'] for d in raw}
            absent = sorted(wanted - present)
            if absent:
                print_log(
                    f'{type(self).__name__}: {len(absent)} selected subjects '
                    f'have no frames in {self.ann_file}: {absent}',
                    logger='current',
                    level=logging.WARNING,
                )
            data_list = [d for d in raw if d['subject'] in wanted]
        return [self._labels(d, cols, len(file_aus)) for d in data_list]

    def _labels(self, info: dict, cols: np.ndarray, num_aus: int) -> dict:
        where = (
            f'{self.ann_file}: subject {info.get("subject")} frame '
            f'{info.get("frame")}'
        )
        if self.intensity_threshold is not None:
            if 'au_intensities' not in info:
                raise ValueError(
                    f'{where}: intensity_threshold is set but the entry has '
                    'no "au_intensities"'
                )
            values = np.asarray(info['au_intensities'], np.int64)
            if values.shape != (num_aus,):
                raise ValueError(
                    f'{where}: {values.shape[0]} intensities for {num_aus} AUs'
                )
            values = values[cols]
            info['au_intensities'] = values.astype(np.uint8)
            labels = (values >= self.intensity_threshold).astype(np.uint8)
            mask = np.ones(len(cols), bool)
        else:
            values = np.asarray(info['au_labels'], np.int64)
            if values.shape != (num_aus,):
                raise ValueError(
                    f'{where}: {values.shape[0]} labels for {num_aus} AUs'
                )
            values = values[cols]
            bad = ~np.isin(values, (0, 1, UNKNOWN_LABEL))
            if bad.any():
                raise ValueError(
                    f'{where}: label {values[bad][0]} is not 0, 1 or 9'
                )
            mask = values != UNKNOWN_LABEL
            labels = np.where(mask, values, 0).astype(np.uint8)
        info['gt_au'] = labels
        info['au_mask'] = mask
        info.pop('au_labels', None)
        return info

    def parse_data_info(self, raw_data_info: dict) -> dict:
        """Join ``data_prefix`` to the path keys an entry has (geometry-less
        annotations written with ``--no-geometry`` have none)."""
        for key, prefix in self.data_prefix.items():
            if raw_data_info.get(key) is not None:
                raw_data_info[key] = join_path(prefix, raw_data_info[key])
        return raw_data_info

    def get_au_statistics(self) -> Dict[str, np.ndarray]:
        """Per-AU counts over the selected frames: the inputs of Eq. 6.

        Returns:
            dict: ``num_known`` int64 (A,) frames whose label is known and
            ``num_positive`` int64 (A,) frames labelled present.
        """
        known = np.zeros(len(self.au_ids), np.int64)
        positive = np.zeros(len(self.au_ids), np.int64)
        for i in range(len(self)):
            info = self.get_data_info(i)
            known += info['au_mask']
            positive += info['au_mask'] & (info['gt_au'] == 1)
        return dict(num_known=known, num_positive=positive)

    def get_subjects(self) -> List[str]:
        """Sorted subjects of the selected frames."""
        return sorted(
            {self.get_data_info(i)['subject'] for i in range(len(self))}
        )

    def extra_repr(self) -> List[str]:
        body = [f'Annotation file: \t{self.ann_file}', f'AUs: \t{self.au_ids}']
        if self.fold is not None:
            body.append(f'Fold / split: \t{self.fold} / {self.split}')
        elif self.subjects is not None:
            body.append(f'Subjects: \t{self.subjects}')
        return body
