"""How close a reconstructed face mesh is to the truth, in the terms that
matter to GeoConv.

Three measures, each against the ground truth of the same frame (same
topology, vertex for vertex):

- :func:`aligned_error_mm`: the shape's error after a similarity alignment
  (rotation, uniform scale, translation), in millimetres;
- :func:`displacement_agreement`: how much of an AU's deformation (the mesh
  with the AU minus the mesh without it, same pose) the reconstruction
  captures, free of a global shift;
- the geodesic weights' error, with
  :func:`geoconv_mm.study.geodesic_snr.mean_squared_change`.

Millimetres come from the ground truth's eye-hole centres being
:data:`~geoconv_mm.face.head_pose.INTEROCULAR_MM` apart
(:func:`geoconv_mm.datasets.transforms.surface_noise.pixels_per_mm`).
"""

from __future__ import annotations

from typing import Dict

import numpy as np

from geoconv_mm.datasets.transforms.surface_noise import pixels_per_mm
from geoconv_mm.face.head_pose import fit_similarity


def aligned_error_mm(
    estimate: np.ndarray, truth: np.ndarray, faces: np.ndarray
) -> float:
    """Root mean square vertex error of ``estimate`` after its similarity
    alignment to ``truth``, in millimetres.

    Args:
        estimate (np.ndarray): (V, 3) reconstructed mesh.
        truth (np.ndarray): (V, 3) ground-truth mesh, same vertex order.
        faces (np.ndarray): (F, 3) the topology (its eye holes set the
            scale).

    Returns:
        float: Millimetres.
    """
    est = np.asarray(estimate, np.float64)
    ref = np.asarray(truth, np.float64)
    scale, rot, shift = fit_similarity(est, ref)
    aligned = scale * est @ rot.T + shift
    rms = np.sqrt(((aligned - ref) ** 2).sum(1).mean())
    return float(rms / pixels_per_mm(ref, faces))


def displacement_agreement(
    estimate_on: np.ndarray,
    estimate_off: np.ndarray,
    truth_on: np.ndarray,
    truth_off: np.ndarray,
    faces: np.ndarray,
) -> Dict[str, float]:
    """How much of an AU deformation a reconstruction captures.

    The deformation is the mesh with the AUs minus the mesh without them, at
    the same pose and in the same image frame, so no alignment is needed; its
    mean over the vertices (a global shift, which changes no geodesic
    weight) is removed from both.

    Args:
        estimate_on, estimate_off (np.ndarray): (V, 3) reconstructions of the
            frame with and without its AUs.
        truth_on, truth_off (np.ndarray): (V, 3) the ground truths.
        faces (np.ndarray): (F, 3) the topology (for the millimetre scale).

    Returns:
        dict: ``true_mm`` and ``error_mm`` (root mean square over the
        vertices of the true deformation and of the estimate's error),
        ``cosine`` (of the two deformations as vectors; NaN without a true
        deformation) and ``gain`` (the estimate's projection on the truth,
        over the truth's squared length: 1 captures it in full, 0 not at
        all).
    """
    true = np.asarray(truth_on, np.float64) - np.asarray(truth_off)
    est = np.asarray(estimate_on, np.float64) - np.asarray(estimate_off)
    true = true - true.mean(0)
    est = est - est.mean(0)
    mm = pixels_per_mm(np.asarray(truth_off, np.float64), faces)
    norm_true = float((true**2).sum())
    norm_est = float((est**2).sum())
    dot = float((true * est).sum())
    with np.errstate(invalid='ignore', divide='ignore'):
        cosine = dot / np.sqrt(norm_true * norm_est)
        gain = dot / norm_true
    return dict(
        true_mm=float(np.sqrt((true**2).sum(1).mean()) / mm),
        error_mm=float(np.sqrt(((est - true) ** 2).sum(1).mean()) / mm),
        cosine=float(cosine) if norm_true > 0 and norm_est > 0 else np.nan,
        gain=float(gain) if norm_true > 0 else np.nan,
    )
