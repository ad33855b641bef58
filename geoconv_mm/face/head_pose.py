"""Head pose from a face mesh, in OpenFace's convention.

OpenFace (``pose_Rx``, ``pose_Ry``, ``pose_Rz`` of its CSV output, see its
wiki page "Output Format") reports the head's rotation in radians, in world
coordinates with the camera at the origin: x right, y down, z away from the
camera (OpenCV's camera frame). The angles are pitch (Rx), yaw (Ry) and roll
(Rz) of the rotation ``R = Rx(pose_Rx) @ Ry(pose_Ry) @ Rz(pose_Rz)``
(``Euler2RotationMatrix`` in OpenFace's ``RotationHelpers.h``: "XYZ
convention R = Rx * Ry * Rz"), with the usual right-handed elementary
rotations, applied to a frontal head model. Seen in the image, that makes

- ``pose_Rx > 0``: the nose moves down (the head pitches down);
- ``pose_Ry > 0``: the nose moves to smaller x (image left; the subject
  turns toward their own right in a non-mirrored image);
- ``pose_Rz > 0``: the face turns clockwise in the image (y is down).

``pose_Tx``, ``pose_Ty``, ``pose_Tz`` are OpenFace's head position relative
to the camera in millimetres (positive z away from the camera). Our meshes
are in image pixels with depth scaled like x and y (weak perspective), so
they give the rotation exactly but a position only through two assumptions:
a focal length (OpenFace's own default for an unknown camera, ``fx = fy =
(500 W / 640 + 500 H / 480) / 2``, ``cx = W / 2``, ``cy = H / 2``, unless
given) and the reference face's size in millimetres (eye centres
``interocular_mm`` apart). ``pose_Tz`` is then ``f / s`` for a mesh drawn at
``s`` pixels per millimetre, and ``Tx``, ``Ty`` back-project the image
position of the reference's centroid.
"""

from __future__ import annotations

import functools
import os.path as osp
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

#: Mesh frame (x right, y down, z toward the camera) to OpenFace's camera
#: frame (z away from the camera) and back: flip z.
_FLIP_Z = np.diag([1.0, 1.0, -1.0])

#: Mean adult interpupillary distance in millimetres (Dodgson, "Variation
#: and extrema of human interpupillary distance", SPIE 5291, 2004: 63 mm).
INTEROCULAR_MM = 63.0

POSE_KEYS = ('pose_Tx', 'pose_Ty', 'pose_Tz', 'pose_Rx', 'pose_Ry', 'pose_Rz')


def euler_to_matrix(rx: float, ry: float, rz: float) -> np.ndarray:
    """OpenFace's ``R = Rx(rx) @ Ry(ry) @ Rz(rz)`` (radians), camera frame."""
    cx, sx, cy, sy, cz, sz = (
        np.cos(rx),
        np.sin(rx),
        np.cos(ry),
        np.sin(ry),
        np.cos(rz),
        np.sin(rz),
    )
    mx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    my = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    mz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return mx @ my @ mz


def matrix_to_euler(rot: np.ndarray) -> Tuple[float, float, float]:
    """Inverse of :func:`euler_to_matrix`: (rx, ry, rz) in radians, with
    ``ry`` in [-pi/2, pi/2]."""
    r = np.asarray(rot, np.float64)
    ry = float(np.arcsin(np.clip(r[0, 2], -1.0, 1.0)))
    rx = float(np.arctan2(-r[1, 2], r[2, 2]))
    rz = float(np.arctan2(-r[0, 1], r[0, 0]))
    return rx, ry, rz


def mesh_rotation(rx: float, ry: float, rz: float) -> np.ndarray:
    """The rotation of mesh-frame points (z toward the camera) that has the
    given OpenFace angles; for rendering or testing a posed mesh."""
    return _FLIP_Z @ euler_to_matrix(rx, ry, rz) @ _FLIP_Z


def fit_similarity(
    src: np.ndarray, dst: np.ndarray
) -> Tuple[float, np.ndarray, np.ndarray]:
    """Least-squares ``dst ~ s R src + t`` over 3D points (Umeyama, 1991).

    Returns:
        tuple: scale ``s``, (3, 3) proper rotation ``R``, (3,) ``t``.

    Raises:
        ValueError: If the points are degenerate (coincide or lie on a line).
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    a, b = src - ms, dst - md
    var = (a**2).sum()
    u, sig, vt = np.linalg.svd(b.T @ a)
    if var < 1e-12 or sig[1] < 1e-9 * max(sig[0], 1e-300):
        raise ValueError('cannot fit a pose: the mesh points are degenerate')
    d = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rot = u @ d @ vt
    scale = float((sig * np.diag(d)).sum() / var)
    return scale, rot, md - scale * rot @ ms


@dataclass
class HeadPose:
    """A head pose in OpenFace's convention (see the module docstring).

    Args:
        rx, ry, rz (float): Pitch, yaw, roll in radians.
        tx, ty, tz (float): Head position in mm (camera at the origin).
        rotation (np.ndarray): (3, 3) ``Rx @ Ry @ Rz`` in the camera frame.
        scale (float): Mesh pixels per reference millimetre.
        rms (float): Root-mean-square fit residual in pixels.
    """

    rx: float
    ry: float
    rz: float
    tx: float
    ty: float
    tz: float
    rotation: np.ndarray
    scale: float
    rms: float

    def to_dict(self) -> Dict[str, float]:
        """The OpenFace CSV columns ``pose_Tx`` ... ``pose_Rz``."""
        values = (self.tx, self.ty, self.tz, self.rx, self.ry, self.rz)
        return {k: float(v) for k, v in zip(POSE_KEYS, values)}

    @property
    def yaw_degrees(self) -> float:
        return float(np.degrees(self.ry))


def frontal_reference(
    vertices: np.ndarray,
    left_eye: Sequence[int],
    right_eye: Sequence[int],
    mouth: Sequence[int],
    interocular_mm: float = INTEROCULAR_MM,
) -> np.ndarray:
    """Turn a neutral face mesh into a frontal reference in millimetres.

    The face's own frame defines "frontal": x along the line from the
    image-left eye centre to the other, y from the eyes' midpoint to the
    mouth centre (made orthogonal to x), z toward the camera. The mesh is
    rotated so that frame is the mesh frame, centred on its centroid and
    scaled so the eye centres are ``interocular_mm`` apart.

    Args:
        vertices (np.ndarray): (V, 3) mesh-frame vertices (y down, z toward
            the camera).
        left_eye, right_eye, mouth: Vertex ids around each feature (e.g.
            the boundary loops of the eye and mouth holes).
        interocular_mm (float): Eye-centre distance to scale to.

    Returns:
        np.ndarray: (V, 3) reference vertices, same order.
    """
    v = np.asarray(vertices, np.float64)
    le, re, mo = (
        v[np.asarray(i, np.int64)].mean(0)
        for i in (left_eye, right_eye, mouth)
    )
    x = re - le
    dist = np.linalg.norm(x)
    if dist < 1e-12:
        raise ValueError('the eye centres coincide')
    x /= dist
    y = mo - (le + re) / 2
    y -= x * (x @ y)
    if np.linalg.norm(y) < 1e-12:
        raise ValueError('the mouth lies on the eye line')
    y /= np.linalg.norm(y)
    z = np.cross(x, y)  # x right, y down => z toward the camera
    frame = np.stack([x, y, z])  # rows: the face axes in mesh coordinates
    return (v - v.mean(0)) @ frame.T * (interocular_mm / dist)


#: The frontal reference of MediaPipe's Face Mesh topology, made by
#: ``tools/misc/make_head_pose_reference.py``.
REFERENCE_ASSET = osp.join(
    osp.dirname(osp.abspath(__file__)), 'assets', 'mediapipe_reference.npy'
)


@functools.lru_cache(maxsize=1)
def mediapipe_reference() -> np.ndarray:
    """Frontal reference for MediaPipe's 468-vertex Face Mesh topology.

    The Face Mesh of ``skimage.data.astronaut()`` with the mouth closed,
    turned frontal by :func:`frontal_reference` on its eye and mouth holes
    (:data:`REFERENCE_ASSET`).
    """
    reference = np.load(REFERENCE_ASSET)
    reference.flags.writeable = False
    return reference


def default_camera(image_size: Tuple[int, int]) -> Tuple[float, float, float]:
    """OpenFace's intrinsics for an unknown camera: (f, cx, cy) in pixels
    for an (H, W) image."""
    h, w = image_size
    f = (500.0 * w / 640.0 + 500.0 * h / 480.0) / 2
    return f, w / 2.0, h / 2.0


class HeadPoseEstimator:
    """Head pose of a face mesh by a least-squares similarity fit of a
    frontal reference with the same vertex order (see module docstring).

    Args:
        reference (np.ndarray, optional): (V, 3) frontal face in mm, mesh
            frame (:func:`frontal_reference`); default: MediaPipe Face Mesh
            topology (:func:`mediapipe_reference`).
        indices (Sequence[int], optional): Vertices to fit on (e.g. the
            rigid upper face); default all.
        camera (tuple, optional): ``(f, cx, cy)`` in pixels; default
            :func:`default_camera` of each image.
    """

    def __init__(
        self,
        reference: Optional[np.ndarray] = None,
        indices: Optional[Sequence[int]] = None,
        camera: Optional[Tuple[float, float, float]] = None,
    ) -> None:
        self._reference = (
            None if reference is None else np.asarray(reference, np.float64)
        )
        self.indices = (
            None if indices is None else np.asarray(indices, np.int64)
        )
        self.camera = camera

    @property
    def reference(self) -> np.ndarray:
        if self._reference is None:
            self._reference = mediapipe_reference()
        return self._reference

    def __call__(
        self, vertices: np.ndarray, image_size: Tuple[int, int]
    ) -> HeadPose:
        """Pose of one mesh.

        Args:
            vertices (np.ndarray): (V, 3) mesh in the source image's pixel
                frame (x right, y down, z toward the camera, scaled like x).
            image_size (tuple): (H, W) of that image (for the camera).

        Raises:
            ValueError: If the mesh's vertex count differs from the
                reference's or the mesh is degenerate.
        """
        ref = self.reference
        v = np.asarray(vertices, np.float64)
        if v.shape != ref.shape:
            raise ValueError(
                f'head pose: mesh has shape {v.shape}, the '
                f'reference {ref.shape}; pass a reference with '
                'this topology'
            )
        idx = self.indices if self.indices is not None else slice(None)
        f, cx, cy = self.camera or default_camera(image_size)
        src = ref[idx]
        # Perspective to first order: a head off the optical axis, seen along
        # its ray (direction (u - cx, v - cy, f)), shows its depth relief
        # sheared sideways by (u - cx) / f per unit of depth. Undo that shear
        # (from a first fit's centre) so the rotation is the camera-frame one
        # OpenFace reports, not the one apparent in the image.
        target = v[idx]
        for _ in range(2):
            scale, rot, t = fit_similarity(src, target)
            u = scale * rot @ ref.mean(0) + t
            ray = np.array([(u[0] - cx) / f, (u[1] - cy) / f])
            target = v[idx].copy()
            target[:, :2] -= ray * (target[:, 2:] - u[2])
        scale, rot, t = fit_similarity(src, target)
        res = target - (scale * src @ rot.T + t)
        rms = float(np.sqrt((res**2).sum(1).mean()))
        cam = _FLIP_Z @ rot @ _FLIP_Z
        rx, ry, rz = matrix_to_euler(cam)
        # Weak perspective: s px per mm at depth f / s; u is the image
        # position of the reference's centroid.
        u = scale * rot @ ref.mean(0) + t
        tz = f / scale
        tx = (u[0] - cx) * tz / f
        ty = (u[1] - cy) * tz / f
        return HeadPose(
            rx, ry, rz, float(tx), float(ty), float(tz), cam, scale, rms
        )
