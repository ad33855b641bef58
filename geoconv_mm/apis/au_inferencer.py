"""Per-frame AU predictions from a trained checkpoint, for images, folders,
videos and webcams (the OpenFace / py-feat / LibreFace use case)."""

from __future__ import annotations

import logging
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import (
    Dict,
    Iterable,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from geoconv_mm.datasets.transforms import fill_geo_specs
from geoconv_mm.face.schedule import DEFAULT_DETECT_EVERY
from geoconv_mm.ops import model_geo_specs
from geoconv_mm.utils.frame_io import Frame, FrameSource, Source

logger = logging.getLogger(__name__)

# Loading steps of a dataset pipeline: at inference the crop and mesh come from
# the face pipeline instead of from files.
_LOADING_TRANSFORMS = ('LoadImageFromFile', 'LoadFaceSurface')


@dataclass
class AUPrediction:
    """AU prediction of one face of one frame (or of a frame without one).

    Args:
        frame (int): 0-based frame index.
        timestamp (float): Seconds from the start of the input.
        success (bool): A face was found and analysed (OpenFace's name).
        confidence (float): Face detector score (0 without a face).
        probabilities (np.ndarray | None): (A,) AU occurrence probabilities.
        presence (np.ndarray | None): (A,) 0/1 decisions at the model's
            threshold.
        name (str): The frame's source, for messages.
        reason (str): Why ``success`` is False.
        crop (np.ndarray | None): The aligned face crop (BGR), when asked for.
        face_id (int | None): Identity of the face over the input
            (:class:`~geoconv_mm.face.FaceTracker`); None without a face.
        box (np.ndarray | None): (4,) xyxy face box in the frame.
        pose (dict | None): OpenFace's ``pose_Tx`` ... ``pose_Rz``
            (:class:`~geoconv_mm.face.HeadPoseEstimator`), when the mesh
            gives them.
        status (str): ``ok``; ``no_face``; ``unreadable`` (the frame could
            not be decoded); ``degenerate_mesh`` (the face's mesh is
            unusable); ``error`` (anything else that failed on this frame).
    """

    frame: int
    timestamp: float
    success: bool
    confidence: float = 0.0
    probabilities: Optional[np.ndarray] = None
    presence: Optional[np.ndarray] = None
    name: str = ''
    reason: str = ''
    crop: Optional[np.ndarray] = field(default=None, repr=False)
    face_id: Optional[int] = None
    box: Optional[np.ndarray] = None
    pose: Optional[Dict[str, float]] = None
    status: str = 'ok'


def _au_ids_from(cfg: Config, checkpoint_meta: dict) -> List[int]:
    meta = (checkpoint_meta or {}).get('dataset_meta') or {}
    if meta.get('au_ids'):
        return [int(a) for a in meta['au_ids']]
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    if dataset.get('au_ids'):
        return [int(a) for a in dataset['au_ids']]
    from mmpretrain.registry import DATASETS

    dataset_cls = DATASETS.get(dataset.get('type', ''))
    default = getattr(dataset_cls, 'DEFAULT_AU_IDS', None)
    if default:
        return [int(a) for a in default]
    raise ValueError(
        'cannot tell which AUs the model predicts: the checkpoint has no '
        'dataset_meta["au_ids"] and the config names none; pass au_ids='
    )


def _box_side(box) -> float:
    """Mean of an xyxy box's width and height (the detector's face size)."""
    b = np.asarray(box, np.float64)
    return float((b[2] - b[0] + b[3] - b[1]) / 2)


class AUInferencer:
    """AU recognition on raw frames: face -> aligned crop and mesh -> geodesic
    weights -> model.

    Args:
        config (str | Config): The model's training config.
        checkpoint (str, optional): Trained weights (``None`` keeps the
            initialisation, useful only for testing the pipeline).
        device (str, optional): ``'cpu'``, ``'cuda'``, ...; default CUDA when
            available.
        batch_size (int): Faces per forward pass.
        face_pipeline (dict, optional): Keyword arguments of
            :class:`geoconv_mm.face.FacePipeline`; ``crop_size`` defaults to
            the config's ``image_size`` (224) and ``detector`` to
            ``MediaPipeFaceDetector`` (every face of the frame, at full
            resolution).
        au_ids (Sequence[int], optional): AU numbers of the model's outputs;
            read from the checkpoint's ``dataset_meta`` or the config by
            default.
        keep_crops (bool): Attach each face's aligned crop to its prediction.
        max_faces (int, optional): Faces per frame, largest first; None
            keeps all (overrides ``face_pipeline['max_faces']``).
        tracker (dict, optional): Keyword arguments of
            :class:`geoconv_mm.face.FaceTracker`.
        detect_every (int): In a video, webcam or other ordered frame
            sequence, the full detection runs on key frames only (the first,
            every ``detect_every``-th, and any frame where a face is lost or
            none is tracked); between them each face is followed from its
            previous mesh with no detector. A face entering between key
            frames is found at the next one. Still images and folders of
            photos always get the full detection; 1 gives it to every frame.
    """

    def __init__(
        self,
        config: Union[str, Config],
        checkpoint: Optional[str] = None,
        device: Optional[str] = None,
        batch_size: int = 16,
        face_pipeline: Optional[dict] = None,
        au_ids: Optional[Sequence[int]] = None,
        keep_crops: bool = False,
        max_faces: Optional[int] = None,
        tracker: Optional[dict] = None,
        detect_every: int = DEFAULT_DETECT_EVERY,
    ) -> None:
        from mmpretrain.registry import MODELS

        from geoconv_mm.face import (
            FacePipeline,
            FaceTracker,
            HeadPoseEstimator,
            KeyFrameSchedule,
        )

        self.cfg = (
            Config.fromfile(config)
            if isinstance(config, (str, os.PathLike))
            else config
        )
        init_default_scope(self.cfg.get('default_scope', 'mmpretrain'))
        self.device = torch.device(
            device or ('cuda' if torch.cuda.is_available() else 'cpu')
        )
        self.model = MODELS.build(self.cfg.model)
        meta = {}
        if checkpoint is not None:
            if not os.path.isfile(checkpoint):
                raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
            meta = load_checkpoint(
                self.model, checkpoint, map_location='cpu'
            ).get('meta', {})
        self.model.to(self.device).eval()
        self.au_ids = (
            list(au_ids)
            if au_ids is not None
            else _au_ids_from(self.cfg, meta)
        )
        num_aus = getattr(
            getattr(self.model, 'head', None), 'num_aus', len(self.au_ids)
        )
        if num_aus != len(self.au_ids):
            raise ValueError(
                f'the model predicts {num_aus} AUs but {len(self.au_ids)} AU '
                f'ids were given ({self.au_ids})'
            )
        self.threshold = float(getattr(self.model.head, 'threshold', 0.5))
        self.batch_size = batch_size
        self.keep_crops = keep_crops
        face_cfg = dict(face_pipeline or {})
        face_cfg.setdefault('crop_size', int(self.cfg.get('image_size', 224)))
        face_cfg.setdefault('detector', dict(type='MediaPipeFaceDetector'))
        if max_faces is not None:
            face_cfg['max_faces'] = max_faces
        self.face_pipeline = FacePipeline(**face_cfg)
        self.tracker = FaceTracker(**(tracker or {}))
        self.schedule = KeyFrameSchedule(detect_every)
        # Faces of the previous frame, tracked on the next one when the
        # input is a frame sequence (set by iter_predictions).
        self._sequence = False
        self._live: list = []
        self.head_pose = HeadPoseEstimator()
        steps = self.cfg.test_dataloader.dataset.pipeline
        self.pipeline = Compose(
            [t for t in steps if t['type'] not in _LOADING_TRANSFORMS]
        )
        # specs='auto': the weights of exactly this model's GeoConv layers.
        fill_geo_specs(
            self.pipeline, model_geo_specs(self.model, face_cfg['crop_size'])
        )

    @property
    def au_names(self) -> List[str]:
        """OpenFace-style AU names, zero-padded: ``AU01``, ``AU12``..."""
        return [f'AU{a:02d}' for a in self.au_ids]

    def _pose(self, face, image_size) -> Optional[Dict[str, float]]:
        """OpenFace pose columns of one face, None when its mesh has another
        topology than the head-pose reference or is degenerate."""
        try:
            return self.head_pose(face.mesh_vertices, image_size).to_dict()
        except ValueError as exc:
            logger.debug('no head pose: %s', exc)
            return None

    def preprocess(self, frame: Frame) -> List[Tuple[AUPrediction, object]]:
        """Faces, crops, meshes and model inputs of one frame.

        Call in frame order: face ids continue the previous frame's.

        Returns:
            list[tuple]: (AUPrediction without AU values, packed sample), one
            per face, largest first; a frame without a usable face gives one
            pair with ``success`` False and sample None.
        """
        from geoconv_mm.geodesic.surface import DegenerateMeshError

        def failed(status: str, reason: str):
            if status != 'no_face':
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
            return [(pred, None)]

        if frame.error is not None:
            return failed('unreadable', str(frame.error))
        faces = self._tracked(frame)
        dropped: list = []
        if faces is None:
            try:
                faces, dropped = self.face_pipeline.process_with_reasons(
                    frame.image, None, frame.name
                )
            except (ValueError, RuntimeError, cv2.error) as exc:
                return failed('error', f'{type(exc).__name__}: {exc}')
        self._live = faces
        if not faces:
            degenerate = [
                d for d in dropped if isinstance(d, DegenerateMeshError)
            ]
            if degenerate:
                return failed('degenerate_mesh', str(degenerate[0]))
            return failed('no_face', 'no_face')
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
                pose=self._pose(face, frame.image.shape[:2]),
            )
            if self.keep_crops:
                pred.crop = face.crop
            h, w = face.crop.shape[:2]
            results = dict(
                img=face.crop,
                face_surface=face.surface,
                img_shape=(h, w),
                ori_shape=(h, w),
                img_path=frame.name,
                sample_idx=frame.index,
            )
            out.append((pred, self.pipeline(results)))
        return out

    def _tracked(self, frame: Frame) -> Optional[list]:
        """The previous frame's faces followed into this one, or None when
        this frame gets the full detection (not a sequence, a key frame, or
        a face was lost)."""
        from geoconv_mm.geodesic.surface import DegenerateMeshError

        if not (self._sequence and self.face_pipeline.can_track):
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

    @torch.no_grad()
    def predict_batch(self, samples: List[dict]) -> np.ndarray:
        """AU probabilities (B, A) of packed samples."""
        data = self.model.data_preprocessor(pseudo_collate(samples), False)
        outputs = self.model(**data, mode='predict')
        return (
            torch.stack([o.pred_score for o in outputs]).float().cpu().numpy()
        )

    def _fill(self, samples) -> None:
        """Sets the AU values of the (prediction, packed sample) pairs, one
        batch.
        """
        if samples:
            probs = self.predict_batch([s for _, s in samples])
            for (pred, _), p in zip(samples, probs):
                pred.probabilities = p
                pred.presence = (p >= self.threshold).astype(np.int64)

    def _preprocessed(self, frames: Iterable[Frame]):
        """``preprocess`` run up to two batches ahead in a background thread,
        so that face fitting and geodesic weights overlap the forward pass
        (torch, OpenCV and MediaPipe release the GIL). One thread: the face
        pipeline is not re-entrant."""
        look_ahead = 2 * self.batch_size
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = deque()
            for frame in frames:
                pending.append(pool.submit(self.preprocess, frame))
                if len(pending) > look_ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def iter_predictions(
        self, frames: Iterable[Frame], sequence: Optional[bool] = None
    ) -> Iterator[AUPrediction]:
        """Predictions in frame order, batched: one per face of each frame
        (largest first), one with ``success`` False for a frame without a
        face. Face ids start afresh for each call.

        Args:
            frames (Iterable[Frame]): The frames, in order.
            sequence (bool, optional): Whether consecutive frames show the
                same scene (a video), so that faces are tracked between key
                frames (see ``detect_every``); default: True for a
                :class:`FrameSource` of a video or webcam, False otherwise
                (images are unrelated photos).
        """
        if sequence is None:
            sequence = getattr(frames, 'kind', None) in ('video', 'webcam')
        self._sequence = bool(sequence)
        self._live = []
        self.schedule.reset()
        self.tracker.reset()
        pending: List[AUPrediction] = []
        samples = []
        for pairs in self._preprocessed(frames):
            for pred, sample in pairs:
                pending.append(pred)
                if sample is not None:
                    samples.append((pred, sample))
            if len(samples) >= self.batch_size:
                self._fill(samples)
                yield from pending
                pending, samples = [], []
        self._fill(samples)
        yield from pending

    def __call__(
        self,
        source: Source,
        fps: float = 30.0,
        max_frames: Optional[int] = None,
        progress: bool = False,
    ) -> List[AUPrediction]:
        """Predict every frame of ``source``.

        Args:
            source: Image path, list of paths, image folder, video file or
                webcam index.
            fps (float): Frame rate assumed for image sequences.
            max_frames (int, optional): Stop after this many frames (needed for
                webcams).
            progress (bool): Show a progress bar.

        Returns:
            list[AUPrediction]: One per face of each frame; one with
            ``success`` False for a frame without a face or that cannot be
            decoded.
        """
        frames = FrameSource(
            source, fps=fps, max_frames=max_frames, keep_errors=True
        )
        preds = self.iter_predictions(frames)
        if progress:
            from tqdm import tqdm

            preds = tqdm(
                preds,
                unit='face',
                desc='AU inference',
            )
        return list(preds)
