"""Action units as geometric deformations of a face mesh, and how they
co-occur.

Each AU is a few *handles*: a landmark of :class:`FaceRegions`, a Gaussian
radius and a displacement at full intensity, optionally gated to one side of
the mouth or eye holes (so that moving the lower lip does not drag the upper
one). Only AU25 and AU26 move the two lips apart (gated handles); every other
AU moves the closed lips together (an ungated handle displaces the coincident
inner-lip vertices alike), so the mouth is open exactly when AU25 is coded.
Bilateral handles are mirrored.

Displacements are in canonical units (a face is ~0.7 wide, the outer eye
corners ~0.45 apart); many AUs move the surface more in depth (z) than in the
image plane, as real muscles bulge, fold and pull skin backwards: subtle in a
2D image, plain in the 3D shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .face_model import FaceRegions

#: The AUs SynthAU generates: BP4D's 12 and DISFA's 9, 25, 26.
SYNTHAU_AU_IDS: Tuple[int, ...] = (
    1,
    2,
    4,
    6,
    7,
    9,
    10,
    12,
    14,
    15,
    17,
    23,
    24,
    25,
    26,
)


@dataclass(frozen=True)
class Handle:
    """One displacement handle of an AU.

    Args:
        anchor (str): Landmark name; bilateral names omit the ``_l``/``_r``
            suffix.
        sigma (float): Gaussian radius (canonical units, in the image plane).
        disp (tuple): (lateral, dy, dz) at full intensity; ``lateral`` > 0
            moves away from the midline on either side.
        bilateral (bool): Apply on both sides (anchor ``<name>_l`` and
            ``<name>_r``).
        gate (str, optional): 'below_mouth', 'above_mouth', 'below_eye' or
            'above_eye'.
    """

    anchor: str
    sigma: float
    disp: Tuple[float, float, float]
    bilateral: bool = False
    gate: Optional[str] = None


AU_HANDLES: Dict[int, Tuple[Handle, ...]] = {
    1: (Handle('brow_inner', 0.04, (0.0, -0.028, 0.008), True),),
    2: (Handle('brow_outer', 0.045, (0.004, -0.028, 0.006), True),),
    4: (
        Handle('brow_inner', 0.04, (-0.010, 0.016, -0.006), True),
        Handle('glabella', 0.03, (0.0, 0.004, 0.016)),
    ),
    6: (
        Handle('cheek', 0.06, (0.0, -0.012, 0.026), True),
        Handle('lower_lid', 0.025, (0.0, -0.005, 0.008), True, 'below_eye'),
    ),
    7: (
        Handle('lower_lid', 0.025, (0.0, -0.009, 0.010), True, 'below_eye'),
        Handle('eye', 0.03, (0.0, 0.004, -0.004), True, 'above_eye'),
    ),
    9: (
        Handle('nose_bridge', 0.03, (0.0, 0.004, -0.014)),
        Handle('nose_wing', 0.025, (0.004, -0.009, 0.012), True),
        Handle('upper_lip', 0.04, (0.0, -0.005, 0.0)),
    ),
    10: (
        Handle('upper_lip', 0.035, (0.0, -0.012, 0.012)),
        Handle('nasolabial', 0.03, (0.0, -0.005, 0.010), True),
    ),
    12: (
        Handle('mouth_corner', 0.035, (0.018, -0.014, -0.010), True),
        Handle('cheek', 0.05, (0.0, -0.005, 0.012), True),
    ),
    14: (Handle('dimple', 0.025, (0.005, 0.0, -0.020), True),),
    15: (Handle('mouth_corner', 0.03, (-0.003, 0.015, -0.004), True),),
    17: (
        Handle('chin', 0.045, (0.0, -0.010, 0.020)),
        Handle('lower_lip', 0.03, (0.0, -0.006, 0.010)),
    ),
    23: (
        Handle('mouth', 0.04, (0.0, 0.0, -0.012)),
        Handle('mouth_corner', 0.025, (-0.006, 0.0, 0.0), True),
    ),
    24: (
        Handle('mouth', 0.03, (0.0, 0.0, -0.014)),
        Handle('mouth_corner', 0.02, (-0.003, 0.0, -0.004), True),
    ),
    25: (
        Handle('lower_lip', 0.035, (0.0, 0.025, 0.0), False, 'below_mouth'),
        Handle('upper_lip', 0.03, (0.0, -0.005, 0.0), False, 'above_mouth'),
    ),
    26: (
        Handle('chin', 0.15, (0.0, 0.045, -0.010), False, 'below_mouth'),
        Handle('lower_lip', 0.035, (0.0, 0.010, 0.0), False, 'below_mouth'),
    ),
}


def _gate(regions: FaceRegions, name: Optional[str]) -> np.ndarray | float:
    if name is None:
        return 1.0
    if name == 'below_mouth':
        return regions.below_mouth
    if name == 'above_mouth':
        return 1.0 - regions.below_mouth
    if name == 'below_eye':
        return regions.below_eye
    if name == 'above_eye':
        return 1.0 - regions.below_eye
    raise ValueError(f'unknown gate {name!r}')


def au_displacement(
    vertices: np.ndarray,
    regions: FaceRegions,
    intensities: Dict[int, float],
    inplane_scale: float = 1.0,
    depth_scale: float = 1.0,
) -> np.ndarray:
    """Summed displacement field of the given AU intensities.

    Args:
        vertices (np.ndarray): (V, 3) neutral identity shape (canonical frame).
        regions (FaceRegions): Its landmarks and soft regions.
        intensities (dict): AU id -> intensity (1 = full; 0 = none).
        inplane_scale (float): Multiplier of the handles' (lateral, dy) motion.
        depth_scale (float): Multiplier of their dz motion.

    Returns:
        np.ndarray: (V, 3) displacement to add to ``vertices``.
    """
    out = np.zeros_like(vertices, dtype=np.float64)
    for au, strength in intensities.items():
        if au not in AU_HANDLES:
            raise ValueError(
                f'SynthAU has no deformation for AU{au} '
                f'(it has {sorted(AU_HANDLES)})'
            )
        if strength == 0:
            continue
        for h in AU_HANDLES[au]:
            sides = (
                (('_l', -1.0), ('_r', 1.0)) if h.bilateral else (('', 0.0),)
            )
            for suffix, out_sign in sides:
                p = regions.anchors[h.anchor + suffix]
                out_sign = out_sign or (
                    0.0
                    if h.disp[0] == 0
                    else np.sign(p[0] - regions.midline_x)
                )
                w = np.exp(
                    -((vertices[:, :2] - p[:2]) ** 2).sum(1) / (2 * h.sigma**2)
                )
                w = w * _gate(regions, h.gate)
                d = np.array(
                    [
                        h.disp[0] * out_sign * inplane_scale,
                        h.disp[1] * inplane_scale,
                        h.disp[2] * depth_scale,
                    ]
                )
                out += strength * w[:, None] * d
    return out


#: Expression prototypes: (weight, {AU: probability that it is active}).
PROTOTYPES: Dict[str, Tuple[float, Dict[int, float]]] = {
    'neutral': (0.10, {}),
    'happy': (
        0.28,
        {6: 0.85, 12: 1.0, 7: 0.6, 10: 0.6, 25: 0.5, 26: 0.15, 14: 0.3},
    ),
    'pain': (
        0.12,
        {4: 0.9, 6: 0.7, 7: 0.9, 9: 0.5, 10: 0.8, 17: 0.4, 25: 0.3, 24: 0.2},
    ),
    'surprise': (0.08, {1: 0.95, 2: 0.9, 25: 0.7, 26: 0.5}),
    'sad': (0.08, {1: 0.8, 4: 0.7, 15: 0.8, 17: 0.7, 24: 0.2}),
    'anger': (0.08, {4: 0.95, 7: 0.8, 23: 0.7, 24: 0.6, 17: 0.4, 10: 0.3}),
    'disgust': (0.07, {9: 0.9, 10: 0.9, 4: 0.5, 17: 0.5, 15: 0.3, 7: 0.4}),
    'contempt': (0.07, {14: 0.9, 12: 0.4, 17: 0.3, 24: 0.3}),
    'talking': (
        0.12,
        {25: 0.8, 26: 0.4, 10: 0.3, 17: 0.2, 14: 0.3, 23: 0.2, 1: 0.2, 2: 0.2},
    ),
}


def subject_prototype_weights(rng: np.random.Generator) -> np.ndarray:
    """Per-subject expression preferences (people differ in how they emote)."""
    base = np.array([w for w, _ in PROTOTYPES.values()])
    return rng.dirichlet(base * 20.0)


def sample_expression(
    rng: np.random.Generator,
    weights: np.ndarray,
    au_ids: Sequence[int] = SYNTHAU_AU_IDS,
    stray_prob: float = 0.04,
) -> Tuple[str, Dict[int, float]]:
    """Draw one frame's AU intensities.

    A prototype expression activates its AUs with their probabilities, any AU
    can also fire on its own (``stray_prob``), AU26 brings AU25 along (here a
    dropped jaw always parts the lips), and AU24 (lips pressed together) cannot
    co-occur with AU25. Active AUs get intensities in [0.4, 1]; inactive ones a
    trace (< 0.15) in a third of the frames, which keeps the boundary between
    'absent' and 'slight' fuzzy, as in FACS coding.

    Returns:
        tuple: prototype name and {AU: intensity} for every AU of ``au_ids``.
    """
    names = list(PROTOTYPES)
    name = names[rng.choice(len(names), p=weights)]
    probs = PROTOTYPES[name][1]
    active = {
        au
        for au in au_ids
        if rng.random() < probs.get(au, 0.0) or rng.random() < stray_prob
    }
    if 26 in active:
        active.add(25)
    if 24 in active and 25 in active:
        active.discard(24)
    out = {}
    for au in au_ids:
        if au in active:
            out[au] = float(rng.uniform(0.4, 1.0))
        else:
            out[au] = (
                float(rng.uniform(0.0, 0.15)) if rng.random() < 0.33 else 0.0
            )
    # Lips part only when AU25 (or 26) is coded; a trace of them keeps the lips
    # closed.
    for au in (25, 26):
        if au not in active:
            out[au] = 0.0
    return name, out


def active_aus(
    intensities: Dict[int, float], threshold: float = 0.4
) -> List[int]:
    """AUs at or above the occurrence threshold (what the labels say)."""
    return sorted(au for au, s in intensities.items() if s >= threshold)
