"""Readers for the label files of BP4D and DISFA, as they are on a licensed
user's disk.

Policy on bad input (every error names the file, and the line/frame where there
is one):

- BP4D ``AUCoding/AU_OCC/<subject>_<task>.csv``: the header must be integers,
  unique, and contain column ``0`` (frame number) and every requested AU, else
  ``ValueError``. Columns that are not requested are ignored and never
  validated. A row with the wrong number of cells, a non-integer cell, a
  duplicate frame number, or a requested AU's value outside {0, 1, 9} is a
  ``ValueError`` naming file, line and frame.
  A file with a header and no frame row is a ``ValueError``.
- BP4D ``AUCoding/AU_INT/AU<k>/<subject>_<task>_AU<k>.csv`` (the FERA 2015
  intensity layout): lines ``frame,intensity`` without a header; intensity
  0-5, 9 = not coded. Anything else, a duplicate frame or a file without
  rows is a ``ValueError`` naming file and line.
- DISFA ``ActionUnit_Labels/<subject>/<subject>_au<k>.txt``: lines
  ``frameIdx,intensity``. Line ``t`` (0-based) labels video frame ``t``;
  ``frameIdx`` must increase by exactly one per line (any base), intensities
  must be integers 0-5; files of one subject must have equal length. Violations
  are ``ValueError`` naming file and line.

Cells are integers; ``3.0`` reads as 3, while ``2.5``, ``inf`` and ``nan``
are errors.
"""

from __future__ import annotations

import csv
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from geoconv_mm.utils.frame_io import is_image

from .au_info import BP4D_ABSENT, BP4D_PRESENT, MAX_INTENSITY, UNKNOWN_LABEL

BP4D_VALID_VALUES = (BP4D_ABSENT, BP4D_PRESENT, UNKNOWN_LABEL)
BP4D_INTENSITY_VALUES = (*range(MAX_INTENSITY + 1), UNKNOWN_LABEL)


def parse_integer(text: str) -> Optional[int]:
    """The integer a label cell holds (``'3'``, ``' 3 '``, ``'3.0'``), or
    None when it holds anything else (``'2.5'``, ``'inf'``, ``'nan'``,
    ``''``)."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else None


def read_bp4d_occ_csv(
    path: str, au_ids: Sequence[int]
) -> Tuple[np.ndarray, np.ndarray]:
    """Read one BP4D occurrence CSV.

    Args:
        path (str): The ``<subject>_<task>.csv`` file.
        au_ids (Sequence[int]): AUs to read, in the order of the output
            columns.

    Returns:
        tuple: ``frames`` int64 (T,) frame numbers in file order and ``labels``
        uint8 (T, A) with values 0, 1 or 9 (unknown).
    """
    with open(path, newline='') as f:
        rows = list(csv.reader(f))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise ValueError(
            f'{path}: empty label file (expected an integer header row)'
        )
    try:
        header = [int(c.strip()) for c in rows[0]]
    except ValueError as exc:
        raise ValueError(
            f'{path}: unexpected columns {rows[0]!r}; the header must be '
            'integer AU numbers with 0 = frame number'
        ) from exc
    if len(set(header)) != len(header):
        raise ValueError(f'{path}: duplicate columns in header {header}')
    missing = [a for a in [0, *au_ids] if a not in header]
    if missing:
        raise ValueError(
            f'{path}: unexpected columns, missing {missing} (header {header})'
        )
    if len(rows) == 1:
        raise ValueError(
            f'{path}: a header row and no frame rows (no labelled frame)'
        )
    frame_col = header.index(0)
    cols = [header.index(a) for a in au_ids]
    frames = np.empty(len(rows) - 1, np.int64)
    labels = np.empty((len(rows) - 1, len(au_ids)), np.uint8)
    seen: Dict[int, int] = {}
    for i, row in enumerate(rows[1:]):
        line = i + 2
        if len(row) != len(header):
            raise ValueError(
                f'{path}: line {line} has {len(row)} cells, header has '
                f'{len(header)}'
            )
        frame = parse_integer(row[frame_col])
        if frame is None:
            raise ValueError(
                f'{path}: line {line}: frame number {row[frame_col]!r} is '
                'not an integer'
            )
        if frame in seen:
            raise ValueError(
                f'{path}: frame {frame} appears on lines {seen[frame]} and '
                f'{line}'
            )
        seen[frame] = line
        frames[i] = frame
        for j, (au, c) in enumerate(zip(au_ids, cols)):
            value = parse_integer(row[c])
            if value not in BP4D_VALID_VALUES:
                raise ValueError(
                    f'{path}: line {line}, frame {frame}: AU{au} = '
                    f'{row[c]!r} is not one of {BP4D_VALID_VALUES} '
                    '(0 absent, 1 present, 9 unknown)'
                )
            labels[i, j] = value
    return frames, labels


def read_bp4d_int_csv(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """Read one BP4D intensity file, ``AU_INT/AU06/F001_T1_AU06.csv``.

    Args:
        path (str): The file: lines ``frame,intensity``, no header.

    Returns:
        tuple: ``frames`` int64 (T,) frame numbers in file order and
        ``intensities`` uint8 (T,) with values 0-5 or 9 (not coded).
    """
    frames: List[int] = []
    values: List[int] = []
    seen: Dict[int, int] = {}
    with open(path, newline='') as f:
        for line_no, row in enumerate(csv.reader(f), 1):
            if not any(c.strip() for c in row):
                continue
            frame, value = (
                (parse_integer(row[0]), parse_integer(row[1]))
                if len(row) == 2
                else (None, None)
            )
            if frame is None or value is None:
                raise ValueError(
                    f'{path}: line {line_no}: expected "frame,intensity" '
                    f'with integers, got {",".join(row)!r}'
                )
            if value not in BP4D_INTENSITY_VALUES:
                raise ValueError(
                    f'{path}: line {line_no}, frame {frame}: intensity '
                    f'{value} is not 0-{MAX_INTENSITY} or {UNKNOWN_LABEL} '
                    '(not coded)'
                )
            if frame in seen:
                raise ValueError(
                    f'{path}: frame {frame} appears on lines {seen[frame]} '
                    f'and {line_no}'
                )
            seen[frame] = line_no
            frames.append(frame)
            values.append(value)
    if not frames:
        raise ValueError(f'{path}: empty intensity file (no frame rows)')
    return np.asarray(frames, np.int64), np.asarray(values, np.uint8)


def read_disfa_au_file(path: str) -> Tuple[np.ndarray, int]:
    """Read one DISFA ``SN001_au1.txt`` file.

    Returns:
        tuple: ``intensities`` uint8 (T,) where entry t belongs to video frame
        t (0-based), and the ``frameIdx`` of the first line (the file's base, 1
        in the known copies).
    """
    values: List[int] = []
    first_idx = None
    with open(path) as f:
        for line_no, line in enumerate(f, 1):
            text = line.strip()
            if not text:
                continue
            parts = text.split(',')
            idx, value = (
                (parse_integer(parts[0]), parse_integer(parts[1]))
                if len(parts) == 2
                else (None, None)
            )
            if idx is None or value is None:
                raise ValueError(
                    f'{path}: line {line_no}: expected "frameIdx,intensity" '
                    f'with integers, got {text!r}'
                )
            if first_idx is None:
                first_idx = idx
            expected = first_idx + len(values)
            if idx != expected:
                raise ValueError(
                    f'{path}: line {line_no}: frameIdx {idx}, expected '
                    f'{expected} (frames must be consecutive)'
                )
            if not 0 <= value <= MAX_INTENSITY:
                raise ValueError(
                    f'{path}: line {line_no}, frame {idx}: intensity {value} '
                    f'outside 0-{MAX_INTENSITY}'
                )
            values.append(value)
    if first_idx is None:
        raise ValueError(f'{path}: empty label file')
    return np.asarray(values, np.uint8), first_idx


def disfa_label_path(label_root: str, subject: str, au: int) -> str:
    """``<label_root>/<subject>/<subject>_au<k>.txt``."""
    return osp.join(label_root, subject, f'{subject}_au{int(au)}.txt')


def read_disfa_subject(
    label_root: str, subject: str, au_ids: Sequence[int]
) -> Tuple[np.ndarray, int]:
    """Read all requested AU files of one DISFA subject.

    Returns:
        tuple: ``intensities`` uint8 (T, A) and the frameIdx base of the files.

    Raises:
        FileNotFoundError: a requested AU's file is missing.
        ValueError: bad content, or files of different lengths / bases.
    """
    columns, bases, paths = [], [], []
    for au in au_ids:
        path = disfa_label_path(label_root, subject, au)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'missing DISFA label file {path} (AU{au} of {subject})'
            )
        values, base = read_disfa_au_file(path)
        columns.append(values)
        bases.append(base)
        paths.append(path)
    lengths = {len(c) for c in columns}
    if len(lengths) != 1:
        detail = ', '.join(
            f'{osp.basename(p)}: {len(c)}' for p, c in zip(paths, columns)
        )
        raise ValueError(
            f'label files of {subject} have different lengths ({detail})'
        )
    if len(set(bases)) != 1:
        detail = ', '.join(
            f'{osp.basename(p)}: {b}' for p, b in zip(paths, bases)
        )
        raise ValueError(
            f'label files of {subject} start at different frameIdx ({detail})'
        )
    return np.stack(columns, 1), bases[0]


def list_frame_images(seq_dir: str) -> Tuple[Dict[int, str], List[str]]:
    """Map frame numbers to image file names in one BP4D sequence folder.

    Accepts unpadded (``732.jpg``) and zero-padded (``0732.jpg``) names.

    Returns:
        tuple: ``{number: file name}`` and the sorted list of other file names
            found.

    Raises:
        ValueError: two files name the same number (e.g. ``732.jpg`` and
            ``0732.jpg``).
    """
    images: Dict[int, str] = {}
    others: List[str] = []
    for name in sorted(os.listdir(seq_dir)):
        stem, ext = osp.splitext(name)
        if not is_image(name) or not stem.isdigit():
            others.append(name)
            continue
        number = int(stem)
        if number in images:
            raise ValueError(
                f'{seq_dir}: {images[number]} and {name} both name frame '
                f'{number}'
            )
        images[number] = name
    return images, others
