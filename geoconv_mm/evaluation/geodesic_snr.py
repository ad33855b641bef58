"""Signal-to-noise of Eq. 4's weights: AU change against pose and identity.

For one AU and one layer, the signal is the mean squared change of the
delivered geodesic weights between the AU-on and the AU-off mesh of the same
identity at the same pose. The noise terms are the mean squared change
between two poses of the same AU-off identity, and between two identities
at the same pose. An AU whose signal is small against both noise terms
changes the weights less than the nuisance variation does, so GeoConv has
little to offer on it.
"""

from __future__ import annotations

from typing import Dict, Sequence

import numpy as np


def mean_squared_change(
    first: Sequence[np.ndarray], second: Sequence[np.ndarray]
) -> float:
    """Mean over pairs and entries of the squared weight difference.

    Args:
        first (Sequence[np.ndarray]): Weight maps, one per pair.
        second (Sequence[np.ndarray]): Matching weight maps, same shapes.

    Returns:
        float: Mean of ``(a - b) ** 2`` over all pairs and entries.

    Raises:
        ValueError: If the sequences differ in length, are empty, or a pair
            differs in shape.
    """
    if len(first) != len(second):
        raise ValueError(
            f'first has {len(first)} weight maps, second {len(second)}'
        )
    if not first:
        raise ValueError('no weight-map pairs given')
    total, count = 0.0, 0
    for i, (a, b) in enumerate(zip(first, second)):
        a = np.asarray(a, np.float64)
        b = np.asarray(b, np.float64)
        if a.shape != b.shape:
            raise ValueError(
                f'pair {i}: shapes {a.shape} and {b.shape} differ'
            )
        total += float(((a - b) ** 2).sum())
        count += a.size
    return total / count


def weight_snr(
    au_on: Sequence[np.ndarray],
    au_off: Sequence[np.ndarray],
    pose_pairs: Sequence[tuple],
    identity_pairs: Sequence[tuple],
) -> Dict[str, float]:
    """Signal-to-noise of one AU in one layer's weights.

    Args:
        au_on (Sequence[np.ndarray]): Weights of AU-on meshes.
        au_off (Sequence[np.ndarray]): Weights of the AU-off mesh of the
            same identity and pose, in the same order.
        pose_pairs (Sequence[tuple]): ``(w_a, w_b)``: one AU-off identity
            at two poses.
        identity_pairs (Sequence[tuple]): ``(w_a, w_b)``: two AU-off
            identities at one pose.

    Returns:
        dict[str, float]: ``au``, ``pose`` and ``identity`` mean squared
        changes, ``snr_pose = au / pose`` and ``snr_identity =
        au / identity`` (``inf`` when a noise term is 0 and the AU term
        is not, 0 when both are 0).
    """
    au = mean_squared_change(au_on, au_off)
    pose = mean_squared_change(*zip(*pose_pairs))
    identity = mean_squared_change(*zip(*identity_pairs))

    def ratio(noise: float) -> float:
        if noise > 0:
            return au / noise
        return float('inf') if au > 0 else 0.0

    return dict(
        au=au,
        pose=pose,
        identity=identity,
        snr_pose=ratio(pose),
        snr_identity=ratio(identity),
    )
