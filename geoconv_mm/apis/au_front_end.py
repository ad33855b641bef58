"""The face front-end of AU inference: a frame in, each face's row and
packed network input out (detection, mesh, alignment, head pose, geodesic
weights), with no network.

It runs wherever the frames are: in the inferencer's own process, or in the
worker processes of a many-input run, which send its output to one network.
"""

from __future__ import annotations

import logging
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmengine.dataset import Compose

from geoconv_mm.face.detectors import default_detector_config
from geoconv_mm.face.schedule import DEFAULT_DETECT_EVERY
from geoconv_mm.utils.frame_io import Frame

from .au_prediction import AUPrediction

logger = logging.getLogger(__name__)

# Loading steps of a dataset pipeline: at inference the crop and mesh come from
# the face pipeline instead of from files.
_LOADING_TRANSFORMS = ('LoadImageFromFile', 'LoadFaceSurface')


def _box_side(box) -> float:
    """Mean of an xyxy box's width and height (the detector's face size)."""
    b = np.asarray(box, np.float64)
    return float((b[2] - b[0] + b[3] - b[1]) / 2)


def face_inputs(face, name: str, index: int) -> dict:
    """The data pipeline's input for one face of the face pipeline: its
    aligned crop and mesh, in place of the loading steps'.

    Args:
        face (FaceResult): A face of :class:`~geoconv_mm.face.FacePipeline`.
        name (str): Its frame's name (``img_path``).
        index (int): Its frame's index (``sample_idx``).

    Returns:
        dict: The results dict the pipeline's first step after loading takes.
    """
    h, w = face.crop.shape[:2]
    return dict(
        img=face.crop,
        face_surface=face.surface,
        img_shape=(h, w),
        ori_shape=(h, w),
        img_path=name,
        sample_idx=index,
    )


def face_pipeline_config(
    crop_size: Union[int, Tuple[int, int]],
    face_pipeline: Optional[dict] = None,
    max_faces: Optional[int] = None,
) -> dict:
    """Keyword arguments of the :class:`~geoconv_mm.face.FacePipeline` of
    inference: ``crop_size`` (the network's input size) unless
    ``face_pipeline`` sets it, the detector of
    :func:`~geoconv_mm.face.default_detector_config` (MediaPipe with MTCNN
    behind it for profiles), and ``max_faces`` when given."""
    face_cfg = dict(face_pipeline or {})
    if isinstance(crop_size, int):
        crop_size = (crop_size, crop_size)
    face_cfg.setdefault('crop_size', tuple(int(v) for v in crop_size))
    face_cfg.setdefault('detector', default_detector_config())
    if max_faces is not None:
        face_cfg['max_faces'] = max_faces
    return face_cfg


class AUFrontEnd:
    """Faces, meshes and model inputs of frames, in order.

    Args:
        pipeline (Sequence[dict]): The network's test pipeline, as
            transform configs (its ``test_pipeline``; loading steps are
            dropped: the crop and mesh come from the face pipeline).
        geo_specs (Sequence[GeoSpec]): The geodesic weights the network
            reads (its ``geo_specs(crop_size)``).
        face_pipeline (dict): Keyword arguments of
            :class:`~geoconv_mm.face.FacePipeline`
            (:func:`face_pipeline_config`).
        tracker (dict, optional): Keyword arguments of
            :class:`~geoconv_mm.face.FaceTracker`.
        detect_every (int): Key-frame interval of frame sequences
            (:class:`~geoconv_mm.face.KeyFrameSchedule`).
        keep_crops (bool): Attach each face's aligned crop to its row.
    """

    def __init__(
        self,
        pipeline: Sequence[dict],
        geo_specs: Sequence,
        face_pipeline: dict,
        tracker: Optional[dict] = None,
        detect_every: int = DEFAULT_DETECT_EVERY,
        keep_crops: bool = False,
    ) -> None:
        from geoconv_mm.datasets.transforms import fill_geo_specs
        from geoconv_mm.face import (
            FacePipeline,
            FaceTracker,
            HeadPoseEstimator,
            KeyFrameSchedule,
        )

        self.face_pipeline = FacePipeline(**face_pipeline)
        self.tracker = FaceTracker(**(tracker or {}))
        self.schedule = KeyFrameSchedule(detect_every)
        self.head_pose = HeadPoseEstimator()
        self.keep_crops = keep_crops
        from mmpretrain.registry import TRANSFORMS

        # Built in mmpretrain's registry, whatever the default scope: a
        # deployed model comes without a config to set one.
        self.pipeline = Compose(
            [
                TRANSFORMS.build(t)
                for t in pipeline
                if t['type'] not in _LOADING_TRANSFORMS
            ]
        )
        # specs='auto': the weights of exactly the network's GeoConv layers.
        fill_geo_specs(self.pipeline, geo_specs)
        self.sequence = False
        self._live: list = []

    def start(self, sequence: bool) -> None:
        """A new input: face ids restart, and ``sequence`` says whether
        consecutive frames show the same scene (faces are then tracked
        between key frames)."""
        self.sequence = bool(sequence)
        self._live = []
        self.schedule.reset()
        self.tracker.reset()

    def _pose(self, vertices, image_size) -> Optional[Dict[str, float]]:
        """OpenFace pose columns of one mesh, None when it has another
        topology than the head-pose reference or is degenerate."""
        try:
            return self.head_pose(vertices, image_size).to_dict()
        except ValueError as exc:
            logger.debug('no head pose: %s', exc)
            return None

    def _failed(self, frame: Frame, status: str, reason: str, dropped=None):
        """The one row of a frame without a usable face."""
        if status not in ('no_face', 'no_mesh'):
            where = '' if frame.name in reason else f'{frame.name}: '
            logger.warning('%s%s (row with success 0)', where, reason)
        self.tracker.update(np.zeros((0, 4)))
        self._live = []
        pred = AUPrediction(
            frame.index,
            frame.timestamp,
            False,
            name=frame.name,
            reason=reason,
            status=status,
        )
        if dropped is not None:
            pred.confidence = float(dropped.detection.score)
            pred.box = np.asarray(dropped.detection.box, np.float64)
            if dropped.mesh_vertices is not None:
                pred.pose = self._pose(
                    dropped.mesh_vertices, frame.image.shape[:2]
                )
        return [(pred, None)]

    def preprocess(self, frame: Frame) -> List[Tuple[AUPrediction, object]]:
        """Faces, crops, meshes and model inputs of one frame.

        Call in frame order: face ids continue the previous frame's.

        Returns:
            list[tuple]: (AUPrediction without AU values, packed sample), one
            per face, largest first. A frame without a usable face gives
            one pair with ``success`` False and sample None; when a face
            was detected but could not be analysed (``no_mesh``,
            ``degenerate_mesh``), that row carries the detector's box and
            score, and the head pose when the mesh gives one.
        """
        from geoconv_mm.geodesic.surface import DegenerateMeshError

        if frame.error is not None:
            return self._failed(frame, 'unreadable', str(frame.error))
        faces = self._tracked(frame)
        dropped: list = []
        if faces is None:
            try:
                faces, dropped = self.face_pipeline.process_with_reasons(
                    frame.image, None, frame.name
                )
            except (ValueError, RuntimeError, cv2.error) as exc:
                return self._failed(
                    frame, 'error', f'{type(exc).__name__}: {exc}'
                )
        self._live = faces
        if not faces:
            for d in dropped:
                if isinstance(d.error, DegenerateMeshError):
                    return self._failed(
                        frame, 'degenerate_mesh', str(d.error), d
                    )
            if dropped:
                d = dropped[0]
                return self._failed(
                    frame,
                    'no_mesh',
                    f'{frame.name}: a face was detected (score '
                    f'{d.detection.score:.2f}) but the face mesh found '
                    'none there; it may be turned too far from the camera',
                    d,
                )
            return self._failed(frame, 'no_face', 'no_face')
        ids = self.tracker.update(
            np.stack([f.box for f in faces]),
            np.stack([f.mesh_vertices[:, :2] for f in faces]),
        )
        out = []
        for face, face_id in zip(faces, ids):
            pred = AUPrediction(
                frame.index,
                frame.timestamp,
                True,
                confidence=face.confidence,
                name=frame.name,
                face_id=int(face_id),
                box=face.box,
                pose=self._pose(face.mesh_vertices, frame.image.shape[:2]),
            )
            if self.keep_crops:
                pred.crop = face.crop
            inputs = face_inputs(face, frame.name, frame.index)
            out.append((pred, self.pipeline(inputs)))
        return out

    def _tracked(self, frame: Frame) -> Optional[list]:
        """The previous frame's faces followed into this one, or None when
        this frame gets the full detection (not a sequence, a key frame, or
        a face was lost)."""
        from geoconv_mm.geodesic.surface import DegenerateMeshError

        if not (self.sequence and self.face_pipeline.can_track):
            return None
        if self.schedule.next_frame(len(self._live)):
            return None
        try:
            faces = [
                self.face_pipeline.track(frame.image, f, frame.name)
                for f in self._live
            ]
        except (DegenerateMeshError, ValueError, RuntimeError, cv2.error):
            # NoFaceError is a RuntimeError: a lost face.
            self.schedule.redetect()
            return None
        return sorted(faces, key=lambda f: -_box_side(f.box))
