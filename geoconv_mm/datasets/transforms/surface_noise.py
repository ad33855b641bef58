"""Smooth noise on the face mesh: how exact must the geometry be?

A monocular reconstruction misses the true face by a few millimetres, and
its error is smooth over the face. Adding such noise to a ground-truth mesh,
at a chosen size, measures how the geodesic weights' benefit falls with the
geometry's error; a reconstruction's measured error can then be placed on
that curve.
"""

from __future__ import annotations

import hashlib
import os.path as osp
import zlib
from typing import Dict, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

from geoconv_mm.face.head_pose import INTEROCULAR_MM
from geoconv_mm.face.holes import hole_loops

_EYE_LOOPS: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}


def _eye_loops(vertices: np.ndarray, faces: np.ndarray):
    # Every frame of a data set shares its topology: its holes are found
    # once, on the first frame (the vertices tell the eyes from the mouth).
    key = hashlib.sha1(faces.tobytes()).hexdigest()
    if key not in _EYE_LOOPS:
        _EYE_LOOPS[key] = hole_loops(vertices, faces)[1]
    return _EYE_LOOPS[key]


def pixels_per_mm(
    vertices: np.ndarray,
    faces: np.ndarray,
    interocular_mm: float = INTEROCULAR_MM,
) -> float:
    """A face mesh's scale: its eye-hole centres are ``interocular_mm``
    apart.

    Args:
        vertices (np.ndarray): (V, 3) mesh, depth scaled like x and y.
        faces (np.ndarray): (F, 3) triangles, with mouth and eye holes.
        interocular_mm (float): The eye-centre distance in millimetres.

    Returns:
        float: Mesh units per millimetre.
    """
    v = np.asarray(vertices, np.float64)
    f = np.ascontiguousarray(faces, np.int32)
    left, right = _eye_loops(v, f)
    return float(
        np.linalg.norm(v[left].mean(0) - v[right].mean(0)) / interocular_mm
    )


def smooth_noise(
    vertices: np.ndarray,
    faces: np.ndarray,
    rms_mm: float,
    length_mm: float,
    rng: np.random.Generator,
    interocular_mm: float = INTEROCULAR_MM,
) -> np.ndarray:
    """A smooth random displacement of every vertex, in mesh units.

    White Gaussian 3-vectors at the vertices, smoothed by a Gaussian kernel
    of the vertices' distance (``length_mm``), then scaled so that the root
    mean square of the displacement's length over the vertices is exactly
    ``rms_mm``.

    Args:
        vertices (np.ndarray): (V, 3) mesh.
        faces (np.ndarray): (F, 3) triangles, with mouth and eye holes (they
            set the scale, :func:`pixels_per_mm`).
        rms_mm (float): Size of the noise in millimetres.
        length_mm (float): Correlation length over the face in millimetres.
        rng (np.random.Generator): The noise's stream.
        interocular_mm (float): The eye-centre distance in millimetres.

    Returns:
        np.ndarray: (V, 3) float64 displacement.
    """
    v = np.asarray(vertices, np.float64)
    scale = pixels_per_mm(v, faces, interocular_mm)
    white = rng.standard_normal(v.shape)
    if rms_mm == 0:
        return np.zeros_like(v)
    mm = v / scale
    norms = (mm**2).sum(1)
    sq = np.maximum(norms[:, None] + norms[None, :] - 2.0 * mm @ mm.T, 0.0)
    field = np.exp(-sq / (2.0 * length_mm**2)) @ white
    rms = np.sqrt((field**2).sum(1).mean())
    return field * (rms_mm / rms * scale)


@TRANSFORMS.register_module()
class PerturbFaceSurface(BaseTransform):
    """Add smooth random noise of a given size to the frame's face mesh.

    The noise is fixed per frame, as a reconstruction's error is: its stream
    is seeded by ``seed`` and the last three components of the frame's
    ``geo_path`` (``images/S001/00000.npz``), so every epoch, every arm and
    every run of a study sees the same noisy mesh of a frame. Put it right
    after ``LoadFaceSurface``, before any geometric transform.

    **Required Keys:**

    - face_surface
    - geo_path

    **Modified Keys:**

    - face_surface

    Args:
        rms_mm (float): Root mean square displacement of the vertices in
            millimetres (:func:`smooth_noise`).
        length_mm (float): Correlation length of the noise over the face.
        seed (int): Seed shared by all frames.
        interocular_mm (float): Eye-centre distance that sets the
            millimetre scale of each mesh.
    """

    def __init__(
        self,
        rms_mm: float,
        length_mm: float = 20.0,
        seed: int = 0,
        interocular_mm: float = INTEROCULAR_MM,
    ) -> None:
        if not rms_mm >= 0:
            raise ValueError(
                f'PerturbFaceSurface: rms_mm must be >= 0, got {rms_mm!r}'
            )
        if not length_mm > 0:
            raise ValueError(
                f'PerturbFaceSurface: length_mm must be > 0, got {length_mm!r}'
            )
        self.rms_mm = float(rms_mm)
        self.length_mm = float(length_mm)
        self.seed = int(seed)
        self.interocular_mm = float(interocular_mm)

    def transform(self, results: dict) -> dict:
        from geoconv_mm.geodesic import FaceSurface

        surface = results.get('face_surface')
        path = results.get('geo_path')
        if surface is None or path is None:
            raise KeyError(
                'PerturbFaceSurface needs "face_surface" and "geo_path": put '
                f'it after LoadFaceSurface ({results.get("img_path")})'
            )
        frame = '/'.join(osp.normpath(path).split(osp.sep)[-3:])
        rng = np.random.default_rng([self.seed, zlib.crc32(frame.encode())])
        noise = smooth_noise(
            surface.vertices,
            surface.faces,
            self.rms_mm,
            self.length_mm,
            rng,
            self.interocular_mm,
        )
        results['face_surface'] = FaceSurface(
            surface.vertices + noise, surface.faces, surface.image_size
        ).validate(path)
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(rms_mm={self.rms_mm:g}, '
            f'length_mm={self.length_mm:g}, seed={self.seed})'
        )
