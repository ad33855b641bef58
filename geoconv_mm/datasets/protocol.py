"""The subject-exclusive protocols of BP4D and DISFA.

The 3-fold protocol (JAA-Net, ME-GraphAU, ...): fold ``k`` (1-based) of an
``N``-part protocol tests on part ``N + 1 - k`` and trains on the others: with
3 parts, fold 1 tests on part 3, fold 2 on part 2, fold 3 on part 1, which is
the assignment of the published code (shared/reference/datasets.md).

The FERA 2015 intensity sub-challenge on BP4D: one fixed split, training on
the odd-numbered subjects and testing on the even-numbered ones (FERA's
development partition).
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

BP4D_PARTS: Tuple[Tuple[str, ...], ...] = (
    (
        'F001',
        'M007',
        'F018',
        'F008',
        'F002',
        'M004',
        'F010',
        'F009',
        'M012',
        'M001',
        'F016',
        'M014',
        'F023',
        'M008',
    ),
    (
        'M011',
        'F003',
        'M010',
        'M002',
        'F005',
        'F022',
        'M018',
        'M017',
        'F013',
        'M016',
        'F020',
        'F011',
        'M013',
        'M005',
    ),
    (
        'F007',
        'F015',
        'F006',
        'F019',
        'M006',
        'M009',
        'F012',
        'M003',
        'F004',
        'F021',
        'F017',
        'M015',
        'F014',
    ),
)

DISFA_PARTS: Tuple[Tuple[str, ...], ...] = (
    (
        'SN002',
        'SN010',
        'SN001',
        'SN026',
        'SN027',
        'SN032',
        'SN030',
        'SN009',
        'SN016',
    ),
    (
        'SN013',
        'SN018',
        'SN011',
        'SN028',
        'SN012',
        'SN006',
        'SN031',
        'SN021',
        'SN024',
    ),
    (
        'SN003',
        'SN029',
        'SN023',
        'SN025',
        'SN008',
        'SN005',
        'SN007',
        'SN017',
        'SN004',
    ),
)

SPLITS = ('train', 'test')


def _bp4d_subjects(parity: int) -> Tuple[str, ...]:
    return tuple(
        f'{sex}{i:03d}'
        for sex, last in (('F', 23), ('M', 18))
        for i in range(1, last + 1)
        if i % 2 == parity
    )


#: FERA 2015 on BP4D, ``split -> subjects``: training F001, F003, ..., F023
#: and M001, ..., M017; development ('test') F002, ..., F022 and M002, ...,
#: M018.
FERA2015_BP4D_SPLITS: Dict[str, Tuple[str, ...]] = dict(
    train=_bp4d_subjects(1), test=_bp4d_subjects(0)
)


def validate_parts(parts: Sequence[Sequence[str]]) -> List[List[str]]:
    """Check that ``parts`` is a partition: at least 2 non-empty, disjoint
    parts.
    """
    parts = [list(p) for p in parts]
    if len(parts) < 2 or any(len(p) == 0 for p in parts):
        raise ValueError(
            f'a fold protocol needs >= 2 non-empty parts, got {parts}'
        )
    seen = {}
    for i, part in enumerate(parts):
        for subject in part:
            if subject in seen:
                raise ValueError(
                    f'subject {subject!r} is in part {seen[subject] + 1} and '
                    f'part {i + 1}'
                )
            seen[subject] = i
    return parts


def held_out_part_index(num_parts: int, fold: int) -> int:
    """0-based index of the part fold ``fold`` tests on."""
    if not isinstance(fold, int) or not 1 <= fold <= num_parts:
        raise ValueError(
            f'fold must be an int in 1..{num_parts}, got {fold!r}'
        )
    return num_parts - fold


def fold_subjects(
    parts: Sequence[Sequence[str]], fold: int, split: str
) -> List[str]:
    """Subjects of ``split`` ('train' or 'test') of fold ``fold`` (1-based)."""
    parts = validate_parts(parts)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    test_idx = held_out_part_index(len(parts), fold)
    if split == 'test':
        return list(parts[test_idx])
    return [s for i, p in enumerate(parts) if i != test_idx for s in p]
