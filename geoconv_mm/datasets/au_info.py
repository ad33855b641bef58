"""Action-unit vocabulary: FACS names, the AU lists of the standard
protocols, and the label codes (occurrence, intensity, unknown).
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch

#: FACS names of the action units that appear in BP4D and DISFA.
AU_NAMES: Dict[int, str] = {
    1: 'Inner Brow Raiser',
    2: 'Outer Brow Raiser',
    4: 'Brow Lowerer',
    5: 'Upper Lid Raiser',
    6: 'Cheek Raiser',
    7: 'Lid Tightener',
    9: 'Nose Wrinkler',
    10: 'Upper Lip Raiser',
    11: 'Nasolabial Deepener',
    12: 'Lip Corner Puller',
    13: 'Cheek Puffer',
    14: 'Dimpler',
    15: 'Lip Corner Depressor',
    16: 'Lower Lip Depressor',
    17: 'Chin Raiser',
    18: 'Lip Puckerer',
    20: 'Lip Stretcher',
    22: 'Lip Funneler',
    23: 'Lip Tightener',
    24: 'Lip Pressor',
    25: 'Lips Part',
    26: 'Jaw Drop',
    27: 'Mouth Stretch',
    28: 'Lip Suck',
}

#: The 12 AUs of the BP4D protocol (JAA-Net, ME-GraphAU, the GeoConv paper).
BP4D_AU_IDS: Tuple[int, ...] = (1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24)
#: The 12 AUs for which DISFA ships label files.
DISFA_LABELLED_AU_IDS: Tuple[int, ...] = (
    1,
    2,
    4,
    5,
    6,
    9,
    12,
    15,
    17,
    20,
    25,
    26,
)
#: The 8 AUs of the DISFA protocol.
DISFA_AU_IDS: Tuple[int, ...] = (1, 2, 4, 6, 9, 12, 25, 26)
#: The 5 AUs for which BP4D ships intensity codes (``AUCoding/AU_INT``), those
#: of the FERA 2015 intensity sub-challenge.
BP4D_INTENSITY_AU_IDS: Tuple[int, ...] = (6, 10, 12, 14, 17)

#: BP4D label values: absent, present, unknown / not coded.
BP4D_ABSENT, BP4D_PRESENT, UNKNOWN_LABEL = 0, 1, 9
#: FACS intensity codes run from 0 (absent) through A-E = 1-5 (OpenFace's
#: ``AUxx_r`` scale); :data:`UNKNOWN_LABEL` marks a frame that was not coded.
MAX_INTENSITY = 5
#: What the intensity codes of an annotation's ``au_intensities`` mean.
INTENSITY_VALUES: Dict[str, str] = {
    '0': 'absent',
    '1': 'trace (A)',
    '2': 'slight (B)',
    '3': 'marked (C)',
    '4': 'severe (D)',
    '5': 'maximum (E)',
    str(UNKNOWN_LABEL): 'not coded',
}


def au_class_names(au_ids: Sequence[int]) -> List[str]:
    """Short class names ``AU1``, ``AU2``... in the given order."""
    return [f'AU{int(a)}' for a in au_ids]


def au_full_names(au_ids: Sequence[int]) -> List[str]:
    """FACS names, falling back to ``AU<k>`` for AUs outside
    :data:`AU_NAMES`.
    """
    return [AU_NAMES.get(int(a), f'AU{int(a)}') for a in au_ids]


def parse_au_ids(value, argname: str = 'au_ids') -> List[int]:
    """Normalise an AU list given as ints, ``'AU12'`` strings or a comma
    string.

    Raises:
        ValueError: for an empty list, a duplicate or an unparsable entry.
    """
    if isinstance(value, str):
        value = [v for v in value.replace(' ', '').split(',') if v]
    out = []
    for item in value:
        text = str(item).upper()
        text = text[2:] if text.startswith('AU') else text
        try:
            out.append(int(text))
        except ValueError as exc:
            raise ValueError(
                f'{argname}: {item!r} is not an AU number'
            ) from exc
    if not out:
        raise ValueError(f'{argname} is empty')
    if len(set(out)) != len(out):
        raise ValueError(f'{argname} has duplicates: {out}')
    return out


def split_intensities(codes):
    """Intensity codes as values and a validity mask.

    ``codes`` holds 0-:data:`MAX_INTENSITY`, or :data:`UNKNOWN_LABEL` where
    the frame was not coded; this is how annotations and data samples carry
    intensities (``au_intensities``), and every consumer reads them through
    this function, so an unknown code never becomes a value.

    Args:
        codes (np.ndarray | torch.Tensor): Integer codes of any shape.

    Returns:
        tuple: ``values`` (float32 for arrays, the default float dtype for
        tensors; 0 where unknown) and ``known`` (bool), both of the shape
        of ``codes`` and of its kind (array or tensor).

    Raises:
        ValueError: a code is neither an intensity nor the unknown code.
    """
    known = codes != UNKNOWN_LABEL
    bad = known & ((codes < 0) | (codes > MAX_INTENSITY) | (codes % 1 != 0))
    if bad.any():
        raise ValueError(
            f'intensity code {codes[bad].flatten()[0].item()} is not an '
            f'integer in 0..{MAX_INTENSITY} nor {UNKNOWN_LABEL} (not coded)'
        )
    if isinstance(codes, torch.Tensor):
        values = torch.where(known, codes, 0).to(torch.get_default_dtype())
    else:
        values = np.where(known, codes, 0).astype(np.float32)
    return values, known
