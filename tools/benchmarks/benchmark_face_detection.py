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

Example::

    python tools/benchmarks/benchmark_face_detection.py --num-images 10
"""

import argparse
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

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

#: Detectors compared: the tiled default and single passes over the image.
DETECTORS = {
    'full_range tiled (default)': dict(type='MediaPipeFaceDetector'),
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
    import skimage.data
    from mediapipe.python.solutions import face_mesh

    from geoconv_mm.datasets.synthau.face_model import reconstruct_base_face
    from geoconv_mm.datasets.synthau.generator import (
        SubjectRenderer,
        SynthAUSpec,
    )

    astronaut = _rgb_to_bgr(skimage.data.astronaut())
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
    truth: np.ndarray, boxes: np.ndarray, scores: Sequence[float]
) -> Tuple[np.ndarray, int]:
    """Which true faces are found, and how many detections are false.

    Returns:
        tuple: (T,) bool found, number of unmatched detections.
    """
    found = np.zeros(len(truth), bool)
    false = 0
    t_c = (truth[:, :2] + truth[:, 2:]) / 2
    t_s = (truth[:, 2:] - truth[:, :2]).mean(1)
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
    parser.add_argument('--out', help='write the report as JSON')
    parser.add_argument(
        '--save-images',
        help='folder for the set (PNG) with '
        'true (green) and found (red) boxes',
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault('GLOG_minloglevel', '2')
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
                args=vars(args),
                load_average=[load[0], load_after[0]],
                report=report,
            ),
            indent=2,
        )
    return 0


if __name__ == '__main__':
    sys.exit(main())
