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

from .au_info import (
    UNKNOWN_LABEL,
    au_class_names,
    au_full_names,
    parse_au_ids,
    split_intensities,
)
from .protocol import SPLITS, fold_subjects, validate_parts


@DATASETS.register_module()
class AUDataset(BaseDataset):
    """Multi-label AU dataset with a per-AU validity mask, and AU intensities.

    The annotation file is OpenMMLab 2.0 JSON (written by the prepare tools)::

        {"metainfo": {"dataset": "BP4D", "au_ids": [1, 2, ...],
                      "intensity_au_ids": [6, 10, ...], ...},
         "data_list": [{"img_path": "frames/F001/T1/2440.jpg",
                        "geo_path": "frames/F001/T1/2440.npz",
                        "subject": "F001", "sequence": "T1", "frame": 2440,
                        "au_labels": [0, 1, 9, ...],  # one per au_ids
                        "au_intensities": [0, 3, 9, ...]},  # optional
                       ...]}

    Each data info gets ``gt_au`` (uint8 (A,) 0/1) and ``au_mask`` (bool (A,),
    False where the label is unknown, 9) for the selected ``au_ids``; unknown
    labels are never turned into 0. Where the entry has ``au_intensities``
    (0-5, 9 = not coded), they are selected for ``au_ids`` too and kept as
    uint8 codes, 9 included: every consumer reads them through
    :func:`~geoconv_mm.datasets.au_info.split_intensities`, which masks the
    9s. ``img_path`` and ``geo_path`` are joined with ``data_prefix`` (both
    default to ``data_root``).

    Subjects come from a fold of the ``parts`` protocol (``fold``, ``split``),
    from a named fixed split (``protocol``, ``split``; see
    :attr:`SPLIT_PROTOCOLS`) or from ``subjects``; a selection without any
    frame is an error.

    Args:
        ann_file (str): Annotation JSON.
        au_ids (Sequence[int], optional): AUs to use, in this order; any subset
            of the annotation's ``au_ids``. Defaults to :attr:`DEFAULT_AU_IDS`,
            or all AUs of the annotation when that is None.
        fold (int, optional): 1-based fold of ``parts``; requires ``split``.
        split (str, optional): 'train' or 'test' of ``fold`` or
            ``protocol``.
        subjects (Sequence[str], optional): Use exactly these subjects instead
            of a fold.
        parts (Sequence[Sequence[str]], optional): Subject parts of the fold
            protocol (fold k tests on part N+1-k). Defaults to :attr:`PARTS`.
        protocol (str, optional): A key of :attr:`SPLIT_PROTOCOLS` (BP4D:
            ``'fera2015'``); requires ``split``, excludes ``fold``.
        intensity_threshold (int, optional): If set, occurrence labels are
            ``au_intensities >= threshold`` (intensity data required; a 9 is
            an unknown label) instead of ``au_labels``.
        with_intensity (bool): Require intensity codes for every selected AU
            (the annotation's ``intensity_au_ids``, when it lists them) and in
            every entry, for training or testing intensity models.
        **kwargs: Passed to :class:`mmpretrain.datasets.BaseDataset`.
    """

    DEFAULT_AU_IDS: Optional[Sequence[int]] = None
    PARTS: Optional[Sequence[Sequence[str]]] = None
    #: Named fixed splits: ``{protocol: {split: subjects}}``.
    SPLIT_PROTOCOLS: Dict[str, Dict[str, Sequence[str]]] = {}
    DATASET_NAME: Optional[str] = None

    def __init__(
        self,
        ann_file: str,
        au_ids: Optional[Sequence[int]] = None,
        fold: Optional[int] = None,
        split: Optional[str] = None,
        subjects: Optional[Sequence[str]] = None,
        parts: Optional[Sequence[Sequence[str]]] = None,
        protocol: Optional[str] = None,
        intensity_threshold: Optional[int] = None,
        with_intensity: bool = False,
        data_prefix: Union[str, dict] = '',
        **kwargs,
    ):
        au_ids = au_ids if au_ids is not None else self.DEFAULT_AU_IDS
        self.au_ids = None if au_ids is None else parse_au_ids(au_ids)
        self.intensity_threshold = intensity_threshold
        self.with_intensity = bool(with_intensity)
        self.fold, self.split, self.protocol = fold, split, protocol
        self.subjects = self._resolve_subjects(
            fold, split, subjects, parts, protocol
        )
        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix, geo_path=data_prefix)
        super().__init__(ann_file=ann_file, data_prefix=data_prefix, **kwargs)

    def _resolve_subjects(
        self, fold, split, subjects, parts, protocol
    ) -> Optional[List[str]]:
        if subjects is not None:
            if fold is not None or split is not None or protocol is not None:
                raise ValueError(
                    'give either subjects or fold/protocol and split, not both'
                )
            subjects = [str(s) for s in subjects]
            if not subjects:
                raise ValueError('subjects is empty')
            return subjects
        if protocol is not None:
            return self._protocol_subjects(protocol, fold, split)
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

    def _protocol_subjects(self, protocol, fold, split) -> List[str]:
        if protocol not in self.SPLIT_PROTOCOLS:
            raise ValueError(
                f'{type(self).__name__} has no protocol {protocol!r} (it has '
                f'{sorted(self.SPLIT_PROTOCOLS) or "none"})'
            )
        if fold is not None:
            raise ValueError(
                f'protocol {protocol!r} is one fixed split, it has no folds; '
                f'got fold={fold!r}'
            )
        splits = self.SPLIT_PROTOCOLS[protocol]
        if split not in splits:
            raise ValueError(
                f'protocol {protocol!r} needs split in {tuple(splits)}, got '
                f'{split!r}'
            )
        return list(splits[split])

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
        coded = meta.get('intensity_au_ids')
        uncoded = (
            [a for a in au_ids if a not in coded] if coded is not None else []
        )
        if self.with_intensity and uncoded:
            raise ValueError(
                f'{self.ann_file} has no intensity codes for AU {uncoded} '
                f'(coded: {list(coded)}); choose au_ids among them'
                + ('' if coded else ' or prepare a copy that has them')
            )
        cols = np.array([file_aus.index(a) for a in au_ids], np.int64)
        self.au_ids = au_ids
        meta['au_ids'] = list(au_ids)
        meta['classes'] = tuple(au_class_names(au_ids))
        meta['au_names'] = tuple(au_full_names(au_ids))
        meta['intensity_threshold'] = self.intensity_threshold
        meta['with_intensity'] = self.with_intensity

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
        if not data_list:
            raise ValueError(self._empty_message(raw))
        return [self._labels(d, cols, len(file_aus)) for d in data_list]

    def _empty_message(self, raw: List[dict]) -> str:
        if not raw:
            return f'{self.ann_file} lists no frames'
        if self.protocol is not None:
            what = f'split {self.split!r} of protocol {self.protocol!r}'
        elif self.fold is not None:
            what = f'split {self.split!r} of fold {self.fold}'
        else:
            what = 'the selected subjects'
        return (
            f'{type(self).__name__}: {what} has no frames in {self.ann_file}:'
            f' none of its subjects {self.subjects} is there (the annotation '
            f'has {sorted({d["subject"] for d in raw})})'
        )

    def _labels(self, info: dict, cols: np.ndarray, num_aus: int) -> dict:
        where = (
            f'{self.ann_file}: subject {info.get("subject")} frame '
            f'{info.get("frame")}'
        )
        codes = None
        if 'au_intensities' in info:
            codes = np.asarray(info['au_intensities'])
            if codes.shape != (num_aus,):
                raise ValueError(
                    f'{where}: {codes.size} intensities for {num_aus} AUs'
                )
            codes = codes[cols]
            try:
                _, known = split_intensities(codes)
            except ValueError as exc:
                raise ValueError(f'{where}: {exc}') from None
            codes = codes.astype(np.uint8)
            info['au_intensities'] = codes
        elif self.with_intensity or self.intensity_threshold is not None:
            raise ValueError(
                f'{where}: the entry has no "au_intensities" (needed by '
                + (
                    'with_intensity)'
                    if self.with_intensity
                    else 'intensity_threshold)'
                )
            )
        if self.intensity_threshold is not None:
            labels = (known & (codes >= self.intensity_threshold)).astype(
                np.uint8
            )
            mask = known
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
        elif self.protocol is not None:
            body.append(f'Protocol / split: \t{self.protocol} / {self.split}')
        elif self.subjects is not None:
            body.append(f'Subjects: \t{self.subjects}')
        return body
