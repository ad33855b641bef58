"""Image in, aligned face crop and its 3D surface out (paper Sec. 4.1
preprocessing).

The face is found and reconstructed by a pluggable reconstructor, aligned by a
similarity transform (rotation, uniform scale, translation: shape-preserving)
that sends the eye centres and the mouth centre to fixed template positions of
the crop, and the mesh is carried into the crop's pixel frame. The facial
region is the rasterised mesh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from geoconv_mm.geodesic.raster import rasterize_fast
from geoconv_mm.geodesic.surface import DegenerateMeshError, FaceSurface

from .alignment import (
    DEFAULT_TEMPLATE,
    KEYPOINTS,
    similarity_transform,
    template_points,
)
from .crops import face_crop, mesh_box, mesh_in_detection
from .detectors import (
    FaceDetection,
    WholeImageDetector,
    build_face_detector,
    check_image,
)
from .reconstructors import RawFace, build_reconstructor

#: Region of :meth:`FacePipeline.track` over the previous mesh's box side
#: (MediaPipe's face tracking uses 1.5).
TRACK_REGION_SCALE = 1.5
#: Face mesh vertices of the outer eye corners, subject's right then left,
#: that level the tracking region (MediaPipe's 33 and 263).
TRACK_EYE_CORNERS = (33, 263)


class NoFaceError(RuntimeError):
    """The reconstructor found no face in the image."""


@dataclass
class FaceResult:
    """Output of :meth:`FacePipeline.process`.

    Args:
        crop (np.ndarray): (H, W, 3) uint8 BGR aligned face.
        surface (FaceSurface): Mesh in the crop's pixel frame.
        mask (np.ndarray): (H, W) bool facial region (pixels covered by the
            mesh).
        confidence (float): Detector score.
        affine (np.ndarray): (2, 3) map from source image to crop pixels.
        box (np.ndarray, optional): (4,) xyxy detector box in the source
            image.
        mesh_vertices (np.ndarray, optional): (V, 3) mesh in the source
            image frame (for tracking and head pose).
    """

    crop: np.ndarray
    surface: FaceSurface
    mask: np.ndarray
    confidence: float
    affine: np.ndarray
    box: Optional[np.ndarray] = None
    mesh_vertices: Optional[np.ndarray] = None


@dataclass
class DroppedFace:
    """A detection that gave no usable face, and why.

    Args:
        detection (FaceDetection): The detector's face.
        error (Exception): :class:`NoFaceError` (the mesh stage found no
            face there) or :class:`DegenerateMeshError` (it found one whose
            mesh is unusable).
        mesh_vertices (np.ndarray, optional): (V, 3) the unusable mesh in
            the source image frame, when one was reconstructed (its head
            pose may still be known).
    """

    detection: FaceDetection
    error: Exception
    mesh_vertices: Optional[np.ndarray] = None


class FacePipeline:
    """Find, reconstruct and align a face.

    Args:
        reconstructor (dict | callable): Config of a ``RECONSTRUCTORS`` entry
            (default ``dict(type='MediaPipeFaceMesh')``) or a built instance.
        crop_size (int | tuple[int, int]): (H, W) of the aligned crop; 224 in
            the paper.
        template (dict, optional): Keypoint positions as fractions of the crop.
        min_confidence (float): Faces scoring lower raise :class:`NoFaceError`.
        mask_background (bool): Zero the crop outside the facial region.
        detector (dict | callable, optional): Config of a ``FACE_DETECTORS``
            entry or a built instance; ``None`` means
            :class:`WholeImageDetector` (the mesh stage sees the whole
            image, for aligned crops and file-backed reconstructors).
        max_faces (int, optional): Keep at most this many faces per image,
            largest first; ``None`` keeps all.
        crop_margin (float): Side of the mesh stage's crop over the
            detector box's side.
        mesh_input_size (int): Side the mesh stage's crop is resampled to.
    """

    def __init__(
        self,
        reconstructor: Union[dict, object, None] = None,
        crop_size: Union[int, Tuple[int, int]] = 224,
        template: Optional[Dict[str, Sequence[float]]] = None,
        min_confidence: float = 0.0,
        mask_background: bool = False,
        detector: Union[dict, object, None] = None,
        max_faces: Optional[int] = None,
        crop_margin: float = 2.0,
        mesh_input_size: int = 256,
    ) -> None:
        self.reconstructor = build_reconstructor(
            reconstructor
            if reconstructor is not None
            else dict(type='MediaPipeFaceMesh')
        )
        self.crop_size = (
            (crop_size, crop_size)
            if isinstance(crop_size, int)
            else tuple(crop_size)
        )
        self.template = dict(
            DEFAULT_TEMPLATE if template is None else template
        )
        self.min_confidence = min_confidence
        self.mask_background = mask_background
        self.detector = build_face_detector(
            detector if detector is not None else WholeImageDetector()
        )
        if max_faces is not None and max_faces < 1:
            raise ValueError(f'max_faces must be >= 1, got {max_faces}')
        self.max_faces = max_faces
        self.crop_margin = crop_margin
        self.mesh_input_size = mesh_input_size

    def process_all(
        self,
        image_bgr: np.ndarray,
        meta: Optional[dict] = None,
        name: str = 'image',
    ) -> List[FaceResult]:
        """Find, reconstruct and align every face in one image.

        Args:
            image_bgr (np.ndarray): (H, W, 3) uint8 BGR image.
            meta (dict, optional): Frame identity (``source``,
                ``frame_index``) for file-backed reconstructors.
            name (str): How errors name this frame.

        Returns:
            list[FaceResult]: One per face that gave a usable mesh above
            ``min_confidence``, largest box first, at most ``max_faces``;
            empty when there is none.
        """
        return self.process_with_reasons(image_bgr, meta, name)[0]

    def process_with_reasons(
        self,
        image_bgr: np.ndarray,
        meta: Optional[dict] = None,
        name: str = 'image',
    ) -> Tuple[List[FaceResult], List[DroppedFace]]:
        """:meth:`process_all`, and each detection that gave no face with
        the reason, for callers that report why a frame has none.

        Returns:
            tuple: (faces as :meth:`process_all` returns them, the
            :class:`DroppedFace` of every other detection tried).
        """
        detections = self.detect(image_bgr, name)
        faces: List[FaceResult] = []
        dropped: List[DroppedFace] = []
        for det in detections:
            if self.max_faces is not None and len(faces) >= self.max_faces:
                break
            raw = None
            try:
                raw = self._fit(image_bgr, det, meta, name)
                faces.append(self._align(image_bgr, raw, det, name))
            except (NoFaceError, DegenerateMeshError) as err:
                vertices = None if raw is None else raw.vertices
                dropped.append(DroppedFace(det, err, vertices))
        return faces, dropped

    def detect(
        self, image_bgr: np.ndarray, name: str = 'image'
    ) -> List[FaceDetection]:
        """The detector's faces of one image, largest box first.

        Args:
            image_bgr (np.ndarray): (H, W, 3) uint8 BGR image.
            name (str): How errors name this frame.

        Returns:
            list[FaceDetection]: Every detection, ``max_faces`` not applied.
        """
        check_image(image_bgr, name)
        return sorted(self.detector(image_bgr), key=lambda d: -d.size)

    def process_detection(
        self,
        image_bgr: np.ndarray,
        det: FaceDetection,
        meta: Optional[dict] = None,
        name: str = 'image',
    ) -> FaceResult:
        """Reconstruct and align the face of one detection.

        Args:
            image_bgr (np.ndarray): (H, W, 3) uint8 BGR image.
            det (FaceDetection): One of :meth:`detect`'s detections.
            meta (dict, optional): Frame identity for file-backed
                reconstructors.
            name (str): How errors name this frame.

        Raises:
            NoFaceError: The mesh stage found no face there, or one below
                ``min_confidence``.
            DegenerateMeshError: The reconstructed mesh is unusable.
        """
        return self._align(
            image_bgr, self._fit(image_bgr, det, meta, name), det, name
        )

    def _fit(
        self,
        image_bgr: np.ndarray,
        det: FaceDetection,
        meta: Optional[dict],
        name: str,
    ) -> RawFace:
        """The mesh of one detection, or :class:`NoFaceError`."""
        raw = self._reconstruct(image_bgr, det, meta)
        if raw is None:
            raise NoFaceError(f'{name}: no face found')
        if raw.confidence < self.min_confidence:
            raise NoFaceError(
                f'{name}: face score {raw.confidence:.2f} below '
                f'{self.min_confidence}'
            )
        return raw

    def _reconstruct(
        self,
        image_bgr: np.ndarray,
        det: FaceDetection,
        meta: Optional[dict],
    ) -> Optional[RawFace]:
        """The mesh of one detected face in the source image frame."""
        if isinstance(self.detector, WholeImageDetector):
            # The detector's box is the image: the mesh stage runs on it
            # unchanged, as file-backed reconstructors expect.
            return self.reconstructor(image_bgr, meta)
        crop = face_crop(
            image_bgr, det, self.crop_margin, self.mesh_input_size
        )
        raw = self.reconstructor(crop.image, meta)
        if raw is None:
            return None
        vertices = crop.points_to_image(raw.vertices)
        if not mesh_in_detection(vertices, det):
            return None
        keypoints = {
            k: crop.points_to_image(np.asarray(v, np.float64)[None])[0]
            for k, v in raw.keypoints.items()
        }
        return RawFace(vertices, raw.faces, keypoints, float(raw.confidence))

    @property
    def can_track(self) -> bool:
        """Whether :meth:`track` works: the reconstructor can mesh a given
        region without detecting (``in_region``) and the detector is not
        :class:`WholeImageDetector` (whose meshes come from the whole
        frame, e.g. per-frame files)."""
        return hasattr(self.reconstructor, 'in_region') and not isinstance(
            self.detector, WholeImageDetector
        )

    def track(
        self,
        image_bgr: np.ndarray,
        previous: FaceResult,
        name: str = 'image',
    ) -> FaceResult:
        """The face of ``previous`` (the last frame's) in the next frame,
        with no detector: the landmark model runs on a region around the
        previous mesh, as MediaPipe's own face tracking does.

        The region is the previous mesh's box, ``TRACK_REGION_SCALE`` times
        its side, turned so that the eyes are level. The returned box is
        the previous box moved and scaled like the mesh's box, so it keeps
        the detector's proportions; the confidence is the previous one
        (the landmark model gives no detector score).

        Args:
            image_bgr (np.ndarray): (H, W, 3) uint8 BGR frame.
            previous (FaceResult): The face in the previous frame, with
                ``box`` and ``mesh_vertices``.
            name (str): How errors name this frame.

        Raises:
            NoFaceError: The face is lost (the landmark model sees no
                face there, or the mesh jumped to another size or place).
            DegenerateMeshError: The mesh is unusable.
        """
        check_image(image_bgr, name)
        prev = np.asarray(previous.mesh_vertices, np.float64)
        pb = mesh_box(prev)
        centre, side = (pb[:2] + pb[2:]) / 2, float(np.max(pb[2:] - pb[:2]))
        eye_r, eye_l = (
            prev[TRACK_EYE_CORNERS[0], :2],
            prev[TRACK_EYE_CORNERS[1], :2],
        )
        rotation = -np.arctan2(-(eye_l[1] - eye_r[1]), eye_l[0] - eye_r[0])
        raw = self.reconstructor.in_region(
            image_bgr, centre, TRACK_REGION_SCALE * side, rotation
        )
        if raw is None:
            raise NoFaceError(f'{name}: tracked face lost')
        nb = mesh_box(raw.vertices)
        new_centre = (nb[:2] + nb[2:]) / 2
        scale = float(np.max(nb[2:] - nb[:2])) / max(side, 1e-9)
        if (
            not 0.5 <= scale <= 2.0
            or np.linalg.norm(new_centre - centre) > side
        ):
            raise NoFaceError(f'{name}: tracked face lost')
        box = np.asarray(previous.box, np.float64)
        box = np.tile(new_centre, 2) + scale * (box - np.tile(centre, 2))
        raw.confidence = float(previous.confidence)
        det = FaceDetection(box, raw.confidence, np.zeros((0, 2)), ())
        return self._align(image_bgr, raw, det, name)

    def process(
        self,
        image_bgr: np.ndarray,
        meta: Optional[dict] = None,
        name: str = 'image',
    ) -> FaceResult:
        """The largest face of one image (see :meth:`process_all`).

        Args:
            image_bgr (np.ndarray): (H, W, 3) uint8 BGR image.
            meta (dict, optional): Frame identity (``source``, ``frame_index``)
                for file-backed reconstructors.
            name (str): How errors name this frame.

        Raises:
            NoFaceError: No face (or one below ``min_confidence``).
            DegenerateMeshError: The reconstructed mesh is unusable.
        """
        faces, dropped = self.process_with_reasons(image_bgr, meta, name)
        if faces:
            return faces[0]
        if dropped:
            raise dropped[0].error
        raise NoFaceError(f'{name}: no face found')

    def _align(
        self,
        image_bgr: np.ndarray,
        raw: RawFace,
        det: FaceDetection,
        name: str,
    ) -> FaceResult:
        """Carry one source-frame mesh into its aligned crop."""
        source = FaceSurface(
            raw.vertices, raw.faces, image_bgr.shape[:2]
        ).validate(name)
        h, w = self.crop_size
        src = np.stack([raw.keypoints[k] for k in KEYPOINTS])
        if not np.isfinite(src).all():
            raise DegenerateMeshError(f'{name}: keypoints are not finite')
        dst = template_points((h, w), self.template)
        affine = similarity_transform(src, dst)
        crop = cv2.warpAffine(
            image_bgr,
            affine,
            (w, h),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
        )
        surface = source.transform(affine, (h, w)).validate(name)
        mask = rasterize_mask(surface)
        if self.mask_background:
            crop = crop * mask[..., None].astype(crop.dtype)
        return FaceResult(
            crop,
            surface,
            mask,
            float(raw.confidence),
            affine,
            np.asarray(det.box, np.float64),
            np.asarray(raw.vertices, np.float64),
        )


def rasterize_mask(surface: FaceSurface) -> np.ndarray:
    """(H, W) bool: pixels whose centre is covered by the mesh."""
    tri, _ = rasterize_fast(
        surface.vertices, surface.faces, surface.image_size
    )
    return tri >= 0
