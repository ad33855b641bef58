"""Per-frame AU predictions from a trained checkpoint or a deployed ONNX
model, for images, folders, videos and webcams (the OpenFace / py-feat /
LibreFace use case)."""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import (
    Iterable,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from mmengine.config import Config
from mmengine.registry import init_default_scope

from geoconv_mm.face.schedule import DEFAULT_DETECT_EVERY
from geoconv_mm.utils.frame_io import Frame, FrameSource, Source

from .au_csv import AUColumnGroup, au_column_groups
from .au_front_end import AUFrontEnd, face_pipeline_config
from .au_network import NETWORK_BACKENDS
from .au_prediction import AUNetworkOutput, AUPrediction


def config_au_ids(cfg: Config) -> Optional[List[int]]:
    """AU numbers a config's test set names (or its dataset's default)."""
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    if dataset.get('au_ids'):
        return [int(a) for a in dataset['au_ids']]
    from mmpretrain.registry import DATASETS

    dataset_cls = DATASETS.get(dataset.get('type', ''))
    default = getattr(dataset_cls, 'DEFAULT_AU_IDS', None)
    return [int(a) for a in default] if default else None


def network_au_ids(network, cfg: Optional[Config] = None) -> List[int]:
    """AU numbers of a network's outputs: its own (the checkpoint's
    ``dataset_meta``, the ONNX file's metadata), else the config's.

    Raises:
        ValueError: Neither names them.
    """
    au_ids = network.au_ids or (config_au_ids(cfg) if cfg else None)
    if not au_ids:
        raise ValueError(
            'cannot tell which AUs the model predicts: the checkpoint '
            'has no dataset_meta["au_ids"] and the config names none; '
            'pass au_ids='
        )
    return [int(a) for a in au_ids]


def load_config(config: Union[str, os.PathLike, Config]) -> Config:
    """The config, its default scope initialised (``mmpretrain``)."""
    cfg = (
        Config.fromfile(config)
        if isinstance(config, (str, os.PathLike))
        else config
    )
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    return cfg


class AUInferencer:
    """AU recognition on raw frames: face -> aligned crop and mesh -> geodesic
    weights -> network.

    The face front-end (:class:`AUFrontEnd`) and the network
    (a :data:`NETWORK_BACKENDS` entry, PyTorch by default) are separate
    stages: the front-end of frame ``t + 1`` runs in a background thread
    while the network works on a batch.

    Each prediction has the network's outputs: occurrence probabilities
    and presence, and, for a model with an intensity head, intensities
    (0-5).

    Args:
        config (str | Config, optional): The model's training config (the
            ``pytorch`` backend).
        checkpoint (str, optional): Trained weights (``None`` keeps the
            initialisation, useful only for testing the pipeline).
        device (str, optional): ``'cpu'``, ``'cuda'``, ...; default CUDA when
            available.
        batch_size (int): Faces per forward pass.
        face_pipeline (dict, optional): Keyword arguments of
            :class:`geoconv_mm.face.FacePipeline`; ``crop_size`` defaults to
            the network's input size (the config's ``image_size``, or the
            ONNX file's) and ``detector`` to MediaPipe's
            tiled detector with MTCNN behind it for profiles
            (:func:`geoconv_mm.face.default_detector_config`: every face
            of the frame, at full resolution, turned up to 90 degrees).
        au_ids (Sequence[int], optional): AU numbers of the model's outputs;
            read from the checkpoint's ``dataset_meta`` (or the ONNX file's
            metadata), else the config, by default.
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
        strict (bool): Refuse a checkpoint that does not fit the model
            (:class:`geoconv_mm.engine.CheckpointMismatchError`, listing the
            keys); ``False`` loads the matching part and warns.
        backend (str): The network's runtime, a :data:`NETWORK_BACKENDS`
            name: ``'pytorch'`` (config and checkpoint) or ``'onnxruntime'``
            (``model``, an exported file, with no config or checkpoint).
        network (dict, optional): Further keyword arguments of the backend
            (PyTorch: ``channels_last``, ``compile``, ``threads``;
            onnxruntime: ``threads``).
        model (str, optional): The deployed model file of the
            ``onnxruntime`` backend (``tools/deployment/pytorch2onnx.py``).
    """

    def __init__(
        self,
        config: Optional[Union[str, Config]] = None,
        checkpoint: Optional[str] = None,
        device: Optional[str] = None,
        batch_size: int = 16,
        face_pipeline: Optional[dict] = None,
        au_ids: Optional[Sequence[int]] = None,
        keep_crops: bool = False,
        max_faces: Optional[int] = None,
        tracker: Optional[dict] = None,
        detect_every: int = DEFAULT_DETECT_EVERY,
        strict: bool = True,
        backend: str = 'pytorch',
        network: Optional[dict] = None,
        model: Optional[str] = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        self.cfg = None if config is None else load_config(config)
        self.network = NETWORK_BACKENDS.build(
            dict(
                network or {},
                type=backend,
                config=self.cfg,
                checkpoint=checkpoint,
                model=model,
                device=device,
                strict=strict,
            )
        )
        if au_ids is not None:
            self.au_ids = [int(a) for a in au_ids]
        else:
            self.au_ids = network_au_ids(self.network, self.cfg)
        num_aus = self.network.num_aus or len(self.au_ids)
        if num_aus != len(self.au_ids):
            raise ValueError(
                f'the model predicts {num_aus} AUs but {len(self.au_ids)} AU '
                f'ids were given ({self.au_ids})'
            )
        self.threshold = self.network.threshold
        self.batch_size = batch_size
        self.face_cfg = face_pipeline_config(
            self.network.input_size, face_pipeline, max_faces
        )
        self.front_end = AUFrontEnd(
            self.network.test_pipeline,
            self.network.geo_specs(self.face_cfg['crop_size']),
            self.face_cfg,
            tracker=tracker,
            detect_every=detect_every,
            keep_crops=keep_crops,
        )

    @property
    def au_names(self) -> List[str]:
        """OpenFace-style AU names, zero-padded: ``AU01``, ``AU12``..."""
        return [f'AU{a:02d}' for a in self.au_ids]

    @property
    def predicts_occurrence(self) -> bool:
        """Whether the predictions carry probabilities and presence."""
        return self.network.predicts_occurrence

    @property
    def predicts_intensity(self) -> bool:
        """Whether the predictions carry intensities (0-5)."""
        return self.network.predicts_intensity

    @property
    def column_groups(self) -> Tuple[AUColumnGroup, ...]:
        """The CSV's per-AU column groups for this model's outputs."""
        return au_column_groups(
            self.predicts_occurrence, self.predicts_intensity
        )

    @property
    def device(self):
        return self.network.device

    @property
    def model(self):
        """The backend's model: the torch module (``'pytorch'``), or the
        :class:`~geoconv_mm.ops.onnx_runtime.ONNXAUModel`
        (``'onnxruntime'``)."""
        return self.network.model

    @property
    def face_pipeline(self):
        return self.front_end.face_pipeline

    @property
    def tracker(self):
        return self.front_end.tracker

    @property
    def schedule(self):
        return self.front_end.schedule

    def preprocess(self, frame: Frame):
        """The front-end's rows and packed samples of one frame
        (:meth:`AUFrontEnd.preprocess`)."""
        return self.front_end.preprocess(frame)

    def predict_batch(self, samples: List[dict]) -> AUNetworkOutput:
        """AU probabilities and intensities (B, A) of packed samples."""
        return self.network.predict(samples)

    def fill(self, pairs) -> None:
        """Set the AU values of (prediction, packed sample) pairs, in
        forward passes of at most ``batch_size`` faces."""
        for i in range(0, len(pairs), self.batch_size):
            chunk = pairs[i : i + self.batch_size]
            output = self.predict_batch([s for _, s in chunk])
            output.set_on([p for p, _ in chunk], self.threshold)

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
        self.front_end.start(sequence)
        pending: List[AUPrediction] = []
        samples = []
        for pairs in self._preprocessed(frames):
            for pred, sample in pairs:
                pending.append(pred)
                if sample is not None:
                    samples.append((pred, sample))
            if len(samples) >= self.batch_size:
                self.fill(samples)
                yield from pending
                pending, samples = [], []
        self.fill(samples)
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
