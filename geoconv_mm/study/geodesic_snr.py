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


def synthau_weight_snr(
    variant: str,
    generator: dict,
    specs: Sequence,
    num_identities: int = 3,
    poses: Sequence[tuple] = ((0.0, 0.0, 0.0), (15.0, 8.0, 5.0)),
    intensity: float = 1.0,
) -> Dict[int, Dict[str, Dict[str, float]]]:
    """Per AU and layer, :func:`weight_snr` on SynthAU meshes of a variant.

    Each identity is drawn like a SynthAU subject; its mesh is posed and
    aligned like a SynthAU frame (neutral eyes and mouth to the template,
    no jitter), with one AU at ``intensity`` (AU on) or none (AU off).

    Args:
        variant (str): A :data:`SYNTHAU_VARIANTS` name.
        generator (dict): The config's SynthAU generator options.
        specs (Sequence[GeoSpec]): The model's GeoConv layers.
        num_identities (int): Identities (>= 2, for the identity term).
        poses (Sequence[tuple]): (yaw, pitch, roll) in degrees (>= 2).
        intensity (float): AU intensity of the AU-on mesh.

    Returns:
        dict: AU id -> spec key -> :func:`weight_snr` output.
    """
    from geoconv_mm.datasets.synthau import generator as gen_mod
    from geoconv_mm.datasets.synthau.action_units import (
        SYNTHAU_AU_IDS,
        au_displacement,
    )
    from geoconv_mm.datasets.synthau.face_model import reconstruct_base_face
    from geoconv_mm.datasets.synthau.variants import variant_generator
    from geoconv_mm.geodesic.surface import FaceSurface
    from geoconv_mm.geodesic.weights import compute_geodesic_weights

    if num_identities < 2 or len(poses) < 2:
        raise ValueError('need >= 2 identities and >= 2 poses')
    spec = gen_mod.SynthAUSpec(**variant_generator(generator, variant))
    base = reconstruct_base_face()
    size = spec.image_size
    subjects = [
        gen_mod.SubjectRenderer(base, spec, i) for i in range(num_identities)
    ]

    def weights(subject, pose, au):
        shape = subject.shape
        if au is not None:
            shape = shape + au_displacement(
                subject.shape,
                subject.regions,
                {au: intensity},
                spec.inplane_scale,
                spec.depth_scale,
            )
        rot = gen_mod._rotation(*pose)
        centre = subject.shape.mean(0)
        a = subject.regions.anchors
        keys = np.stack([a['eye_l'], a['eye_r'], a['mouth']])
        posed = (keys - centre) @ rot.T
        scale, offset = gen_mod._fit_scale_shift(
            posed[:, :2], gen_mod._TEMPLATE * size - 0.5
        )
        verts = (shape - centre) @ rot.T * scale
        verts[:, :2] += offset
        return compute_geodesic_weights(
            FaceSurface(verts, base.faces, (size, size)), specs
        )

    off = {}
    for i, s in enumerate(subjects):
        for p, pose in enumerate(poses):
            off[i, p] = weights(s, pose, None)
    result: Dict[int, Dict[str, Dict[str, float]]] = {}
    on = {
        (au, i, p): weights(s, pose, au)
        for au in SYNTHAU_AU_IDS
        for i, s in enumerate(subjects)
        for p, pose in enumerate(poses)
    }
    cells = [(i, p) for i in range(num_identities) for p in range(len(poses))]
    for au in SYNTHAU_AU_IDS:
        result[au] = {}
        for sp in specs:
            k = sp.key
            result[au][k] = weight_snr(
                [on[au, i, p][k] for i, p in cells],
                [off[i, p][k] for i, p in cells],
                [
                    (off[i, 0][k], off[i, q][k])
                    for i in range(num_identities)
                    for q in range(1, len(poses))
                ],
                [
                    (off[0, p][k], off[j, p][k])
                    for j in range(1, num_identities)
                    for p in range(len(poses))
                ],
            )
    return result
