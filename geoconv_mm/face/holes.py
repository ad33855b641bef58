"""The mouth and eye holes of a face mesh, and the keypoints they give."""

from __future__ import annotations

from typing import Dict, Tuple

import numpy as np

from geoconv_mm.geodesic.topology import boundary_loops


def hole_loops(
    vertices: np.ndarray, faces: np.ndarray
) -> Tuple[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    """The mouth loop and the two eye loops (image-left first) of a face mesh.

    The three largest inner boundary loops are the holes: the mouth is the
    lowest in the image (largest mean y), the eyes are the other two, ordered
    by mean x.

    Args:
        vertices (np.ndarray): (V, 2+) positions, y down.
        faces (np.ndarray): (F, 3) triangles.

    Returns:
        tuple: (mouth loop, (left eye loop, right eye loop)), vertex ids.

    Raises:
        ValueError: If the mesh does not have three inner boundary loops.
    """
    loops = boundary_loops(faces)
    if len(loops) < 4:
        raise ValueError(
            f'cannot find eyes and mouth: the mesh has {len(loops)} boundary '
            'loops, expected an outer loop plus mouth and eye holes; give '
            'keypoint indices'
        )
    xy = np.asarray(vertices, np.float64)[:, :2]
    inner = sorted(loops[1:4], key=lambda lp: xy[lp, 1].mean())
    eyes = tuple(sorted(inner[:2], key=lambda lp: xy[lp, 0].mean()))
    return inner[2], eyes


def keypoints_from_holes(
    vertices: np.ndarray, faces: np.ndarray
) -> Dict[str, np.ndarray]:
    """Eye and mouth centres of a face mesh with open eyes and mouth.

    Args:
        vertices (np.ndarray): (V, 2+) positions.
        faces (np.ndarray): (F, 3) triangles.

    Returns:
        dict: ``left_eye``, ``right_eye``, ``mouth`` -> (2,) mean image
        position of the hole's loop.
    """
    xy = np.asarray(vertices, np.float64)[:, :2]
    mouth, (left, right) = hole_loops(xy, faces)
    return dict(
        left_eye=xy[left].mean(0),
        right_eye=xy[right].mean(0),
        mouth=xy[mouth].mean(0),
    )
