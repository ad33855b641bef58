"""Throughput of AU inference: frames/s and faces/s of the whole pipeline, the
model's forward alone, the cost per face, the detection paths, and
onnxruntime against PyTorch.

The whole pipeline is face detection and mesh (FacePipeline), alignment,
geodesic weights for every GeoConv layer, packing and the batched forward pass;
"forward alone" runs the same batches through the model with their inputs
prepared in advance. Both are measured in one run on the same one-face frames
(real faces: skimage's astronaut, mirrored and rescaled), and their ratio is
the pipeline overhead.

``--faces 1 2 4 8`` also times frames holding that many copies of the face (a
fixed 720 x 1280 canvas, so the detector's share is the same for every count),
alternated over ``--rounds``, and fits seconds per frame = fixed + per-face
x faces: a cost that grows linearly leaves small residuals.

``--compare-paths`` alternates, over ``--rounds``, on the same frames of a
one-face video, the default video path (the default detector, MediaPipe's
full-range detector tiled with MTCNN behind it, on key frames; each face
tracked from its previous mesh between them) with the one-face path
(``WholeImageDetector``: the face mesh's own short-range detector on the
whole frame, one face), and prints their frames/s ratios in wall and CPU
time; the full detection on every frame (as for still images), tiled and in
one pass, runs alongside to show what key frames and tiles cost.

``--compare-backends`` exports the model to ONNX
(:func:`geoconv_mm.apis.export_model_onnx`, the export of
``tools/deployment/pytorch2onnx.py``) and alternates,
over ``--rounds``, the onnxruntime backend with the PyTorch one on the CPU:
the network alone on the same packed faces, and the whole pipeline on the
one-face frames; it prints their frames/s ratios and the largest difference
of their outputs.

Every figure is printed with the load average at the time it was taken: on
a busy machine compare only figures from the same run.

Example:
    python tools/benchmarks/benchmark_inference.py \\
        configs/geocnn_synthau_demo.py --frames 32 --faces 1 2 4 8 \\
        --compare-paths --compare-backends --rounds 3
"""

import argparse
import json
import os
import os.path as osp
import sys
import tempfile
import time
from typing import Dict, List, Sequence

import numpy as np

from geoconv_mm.face.detectors import default_detector_config
from geoconv_mm.face.samples import astronaut_bgr, sample_frames
from geoconv_mm.face.schedule import DEFAULT_DETECT_EVERY

#: Detection paths of ``--compare-paths``: (FacePipeline keywords, whether
#: the frames are fed as a video). First the default path on a video (the
#: default detector on key frames; each face tracked from its previous mesh
#: between them), then the same detector on every frame (how still images
#: are treated), MediaPipe's full-range detector in one pass (no tiles, no
#: MTCNN: faces under about a tenth of the frame's side are missed) to show
#: the share of the tiles and of MTCNN, and last the one-face path, the
#: baseline of the ratios (the face mesh's own short-range detector on the
#: whole frame, one face).
PATHS = {
    'every face, video (key frames)': (
        dict(detector=default_detector_config()),
        True,
    ),
    'every face, every frame (tiled)': (
        dict(detector=default_detector_config()),
        False,
    ),
    'every face, every frame (1 pass)': (
        dict(detector=dict(type='MediaPipeFaceDetector', min_face_size=None)),
        False,
    ),
    'one face (whole frame)': (
        dict(detector=dict(type='WholeImageDetector')),
        False,
    ),
}
CANVAS = (720, 1280)
FACE_SIDE = 200


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'config',
        help='model config (its initial weights are used: speed '
        'does not depend on them)',
    )
    parser.add_argument('--checkpoint', default=None)
    parser.add_argument('--frames', type=int, default=32)
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--device', default=None)
    parser.add_argument(
        '--faces',
        type=int,
        nargs='+',
        default=None,
        help='faces per frame of the multi-face runs (1-8), e.g. 1 2 4 8',
    )
    parser.add_argument(
        '--compare-paths',
        action='store_true',
        help='alternate the default video path with the one-face path '
        '(and full detection on every frame) on one-face video frames',
    )
    parser.add_argument(
        '--compare-backends',
        action='store_true',
        help='export the model to ONNX and alternate onnxruntime with '
        'PyTorch on the CPU (network alone and whole pipeline)',
    )
    parser.add_argument(
        '--detect-every',
        type=int,
        default=DEFAULT_DETECT_EVERY,
        help='key-frame interval of the video path (AUInferencer)',
    )
    parser.add_argument(
        '--rounds', type=int, default=3, help='alternations per comparison'
    )
    parser.add_argument('--out', default='work_dirs/benchmark_inference.json')
    args = parser.parse_args(argv)
    if args.faces and not all(1 <= k <= 8 for k in args.faces):
        parser.error(f'--faces must be between 1 and 8, got {args.faces}')
    if args.rounds < 1 or args.frames < 1 or args.detect_every < 1:
        parser.error('--rounds, --frames and --detect-every must be >= 1')
    return args


def make_video_frames(n):
    """``n`` frames of a one-face video: the astronaut photo drifting by a
    few pixels and a slight zoom per frame (consecutive frames show the same
    scene, as a video's do)."""
    import cv2

    from geoconv_mm.apis import Frame

    face = astronaut_bgr()
    h, w = face.shape[:2]
    frames = []
    for i in range(n):
        phase = 2 * np.pi * i / 48
        scale = 1.0 + 0.05 * np.sin(phase)
        shift = 20 * np.array([np.sin(phase), np.cos(phase) - 1])
        affine = cv2.getRotationMatrix2D((w / 2, h / 2), 0.0, scale)
        affine[:, 2] += shift
        image = cv2.warpAffine(
            face, affine, (w, h), borderMode=cv2.BORDER_REPLICATE
        )
        frames.append(Frame(i, i / 30.0, image, f'astronaut-video:{i}'))
    return frames


def face_spots(count: int) -> List[tuple]:
    """(x, y, side) of ``count`` faces on a 2 x 4 grid of the canvas."""
    cells = [(60 + 300 * j, 80 + 320 * i) for i in range(2) for j in range(4)]
    return [(x, y, FACE_SIDE) for x, y in cells[:count]]


def make_group_frames(n: int, count: int):
    """``n`` frames of a canvas holding ``count`` copies of the face."""
    from geoconv_mm.apis import Frame

    face = astronaut_bgr()[0:230, 110:340]
    import cv2

    patch = cv2.resize(
        face, (FACE_SIDE, FACE_SIDE), interpolation=cv2.INTER_AREA
    )
    canvas = np.full((*CANVAS, 3), 90, np.uint8)
    for x, y, s in face_spots(count):
        canvas[y : y + s, x : x + s] = patch
    return [Frame(i, i / 30.0, canvas, f'group{count}:{i}') for i in range(n)]


def load() -> float:
    return round(os.getloadavg()[0], 2)


def timed_run(inferencer, frames, sync, sequence=False):
    """(wall seconds, CPU seconds, successful faces, frames without a face)
    of one pass; ``sequence`` feeds the frames as a video. The CPU seconds
    (all threads of this process) depend far less on the other jobs of a
    shared machine than the wall time does."""
    start, start_cpu = time.perf_counter(), time.process_time()
    preds = list(inferencer.iter_predictions(frames, sequence=sequence))
    sync()
    seconds = time.perf_counter() - start
    cpu = time.process_time() - start_cpu
    faces = sum(p.success for p in preds)
    empty = len({p.frame for p in preds if not p.success})
    return seconds, cpu, faces, empty


def linear_fit(counts: Sequence[int], seconds: Sequence[float]) -> Dict:
    """Least-squares seconds per frame = fixed + per_face * faces, and the
    largest residual relative to the fitted value."""
    k = np.asarray(counts, np.float64)
    t = np.asarray(seconds, np.float64)
    if len(set(counts)) < 2:
        return {}
    per_face, fixed = np.polyfit(k, t, 1)
    fitted = fixed + per_face * k
    return dict(
        fixed_ms=1e3 * fixed,
        per_face_ms=1e3 * per_face,
        max_relative_residual=float(np.max(np.abs(t - fitted) / fitted)),
    )


def build(args, face_pipeline=None):
    from geoconv_mm.apis import AUInferencer

    return AUInferencer(
        args.config,
        args.checkpoint,
        device=args.device,
        batch_size=args.batch_size,
        face_pipeline=face_pipeline,
        detect_every=args.detect_every,
        au_ids=None
        if args.checkpoint
        else list(range(1, 1 + _num_aus(args.config))),
    )


def base_figures(args, inferencer, frames, sync) -> dict:
    list(inferencer.iter_predictions(frames[: args.batch_size]))  # warm-up
    before = load()
    seconds, _, faces, empty = timed_run(inferencer, frames, sync)
    if empty:
        sys.exit(f'{empty} benchmark frames gave no face; all must hold one')
    start = time.perf_counter()
    samples = [s for f in frames for _, s in inferencer.preprocess(f)]
    preprocess_s = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(0, len(samples), args.batch_size):
        inferencer.predict_batch(samples[i : i + args.batch_size])
    sync()
    forward_s = time.perf_counter() - start
    result = dict(
        pipeline_fps=len(frames) / seconds,
        pipeline_faces_per_s=faces / seconds,
        forward_fps=len(frames) / forward_s,
        preprocess_ms_per_frame=1e3 * preprocess_s / len(frames),
        overhead=seconds / forward_s,
        load_average=[before, load()],
    )
    print(
        f'whole pipeline : {result["pipeline_fps"]:7.2f} frames/s '
        f'{result["pipeline_faces_per_s"]:7.2f} faces/s  (load {before})'
    )
    print(f'forward alone  : {result["forward_fps"]:7.2f} frames/s')
    print(
        f'preprocessing  : {result["preprocess_ms_per_frame"]:7.1f} ms/frame '
        '(face, mesh, alignment, geodesic weights)'
    )
    print(f'overhead       : {result["overhead"]:7.2f}x the forward pass')
    return result


def multi_face(args, inferencer, sync) -> dict:
    """Alternated runs over the face counts; the per-face cost fit."""
    counts = sorted(set(args.faces))
    sets = {k: make_group_frames(args.frames, k) for k in counts}
    for k in counts:
        list(inferencer.iter_predictions(sets[k][:2]))  # warm-up
    runs = []
    for r in range(args.rounds):
        for k in counts if r % 2 == 0 else counts[::-1]:
            avg = load()
            seconds, cpu, faces, _ = timed_run(inferencer, sets[k], sync)
            if faces != k * args.frames:
                sys.exit(
                    f'{k}-face frames gave {faces} faces, expected '
                    f'{k * args.frames}'
                )
            run = dict(
                faces=k,
                round=r,
                ms_per_frame=1e3 * seconds / args.frames,
                cpu_ms_per_frame=1e3 * cpu / args.frames,
                fps=args.frames / seconds,
                faces_per_s=faces / seconds,
                load=avg,
            )
            runs.append(run)
            print(
                f'{k} face(s)/frame, round {r}: {run["fps"]:7.2f} frames/s '
                f'{run["faces_per_s"]:7.2f} faces/s '
                f'{run["ms_per_frame"]:8.1f} ms/frame '
                f'{run["cpu_ms_per_frame"]:8.1f} CPU ms/frame  (load {avg})'
            )
    result = dict(canvas=list(CANVAS), runs=runs)
    for field, what in (('ms_per_frame', 'wall'), ('cpu_ms_per_frame', 'CPU')):
        medians = {
            k: float(np.median([x[field] for x in runs if x['faces'] == k]))
            for k in counts
        }
        fit = linear_fit(list(medians), [m / 1e3 for m in medians.values()])
        result[f'median_{field}'] = medians
        result['fit' if what == 'wall' else 'cpu_fit'] = fit
        if fit:
            print(
                f'{what} fit over the medians: {fit["fixed_ms"]:.1f} ms/frame '
                f'+ {fit["per_face_ms"]:.1f} ms/face, largest residual '
                f'{100 * fit["max_relative_residual"]:.1f}% of the fit'
            )
    return result


def compare_paths(args, frames, sync, default) -> dict:
    """Alternated runs of every path in :data:`PATHS` on the same one-face
    video frames."""
    names = list(PATHS)
    inferencers = {}
    for name, (face_pipeline, sequence) in PATHS.items():
        # The first two paths are the default inferencer's, fed as a video
        # and as separate images.
        inf = default if name in names[:2] else build(args, face_pipeline)
        # warm-up
        list(inf.iter_predictions(frames[: args.batch_size], sequence))
        inferencers[name] = inf
    runs = []
    for r in range(args.rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            avg = load()
            seconds, cpu, _, empty = timed_run(
                inferencers[name], frames, sync, PATHS[name][1]
            )
            if empty:
                sys.exit(f'{name}: {empty} frames gave no face')
            run = dict(
                path=name,
                round=r,
                fps=len(frames) / seconds,
                cpu_fps=len(frames) / cpu,
                load=avg,
            )
            runs.append(run)
            print(
                f'{name:32s} round {r}: {run["fps"]:7.2f} frames/s '
                f'{run["cpu_fps"]:7.2f} frames/CPU-s (load {avg})'
            )
    ratios = {}
    for field, unit in (('fps', 'wall'), ('cpu_fps', 'CPU')):
        baseline = [x[field] for x in runs if x['path'] == names[-1]]
        for name in names[:-1]:
            mine = [x[field] for x in runs if x['path'] == name]
            paired = [a / b for a, b in zip(mine, baseline)]
            ratios.setdefault(name, {})[field] = dict(
                ratio=float(np.median(paired)), rounds=paired
            )
            print(
                f'{unit} {name} / {names[-1]}: {np.median(paired):.3f} '
                f'(median of {len(paired)} same-round ratios '
                f'{", ".join(f"{p:.3f}" for p in paired)})'
            )
    return dict(
        runs=runs,
        median_fps={
            n: float(np.median([x['fps'] for x in runs if x['path'] == n]))
            for n in names
        },
        ratio=ratios[names[0]]['fps']['ratio'],
        cpu_ratio=ratios[names[0]]['cpu_fps']['ratio'],
        ratios=ratios,
    )


def _largest_difference(a, b) -> float:
    """Largest |a - b| over the outputs both have."""
    return max(
        float(np.abs(x - y).max())
        for x, y in zip(a, b)
        if x is not None and y is not None
    )


def compare_backends(args, torch_inferencer, frames) -> dict:
    """onnxruntime against PyTorch on the CPU, alternated: the network alone
    on the same packed faces, then the whole pipeline."""
    from geoconv_mm.apis import AUInferencer, export_model_onnx

    if torch_inferencer.device.type != 'cpu':
        sys.exit('--compare-backends compares on the CPU: add --device cpu')
    with tempfile.TemporaryDirectory() as folder:
        path = osp.join(folder, 'model.onnx')
        export_model_onnx(
            torch_inferencer.model,
            torch_inferencer.cfg,
            torch_inferencer.au_ids,
            path,
        )
        onnx_inferencer = AUInferencer(
            backend='onnxruntime',
            model=path,
            device='cpu',
            batch_size=args.batch_size,
            detect_every=args.detect_every,
        )
    inferencers = {'pytorch': torch_inferencer, 'onnxruntime': onnx_inferencer}
    samples = [s for f in frames for _, s in torch_inferencer.preprocess(f)]

    def network(inf):
        outputs = [
            inf.predict_batch(samples[i : i + args.batch_size])
            for i in range(0, len(samples), args.batch_size)
        ]
        return [
            None
            if outputs[0][k] is None
            else np.concatenate([o[k] for o in outputs])
            for k in range(len(outputs[0]))
        ]

    # Also the warm-up.
    outputs = {name: network(inf) for name, inf in inferencers.items()}
    difference = _largest_difference(*outputs.values())
    for inf in inferencers.values():
        list(inf.iter_predictions(frames[: args.batch_size]))
    runs = []
    for r in range(args.rounds):
        names = list(inferencers) if r % 2 == 0 else list(inferencers)[::-1]
        for stage in ('network', 'pipeline'):
            for name in names:
                inf, avg = inferencers[name], load()
                start, cpu = time.perf_counter(), time.process_time()
                if stage == 'network':
                    network(inf)
                    count = len(samples)
                else:
                    count = len(list(inf.iter_predictions(frames)))
                seconds = time.perf_counter() - start
                cpu = time.process_time() - cpu
                run = dict(
                    backend=name,
                    stage=stage,
                    round=r,
                    fps=count / seconds,
                    cpu_fps=count / cpu,
                    load=avg,
                )
                runs.append(run)
                print(
                    f'{stage:8s} {name:11s} round {r}: {run["fps"]:8.2f} '
                    f'faces/s {run["cpu_fps"]:8.2f} faces/CPU-s (load {avg})'
                )
    result = dict(max_abs_output_difference=difference, runs=runs)
    for stage in ('network', 'pipeline'):
        by = {
            name: [
                x['fps']
                for x in runs
                if x['backend'] == name and x['stage'] == stage
            ]
            for name in inferencers
        }
        paired = [a / b for a, b in zip(by['onnxruntime'], by['pytorch'])]
        result[stage] = dict(
            median_fps={n: float(np.median(v)) for n, v in by.items()},
            ratio=float(np.median(paired)),
            rounds=paired,
        )
        print(
            f'{stage} onnxruntime / pytorch: {np.median(paired):.3f} '
            f'(median of {len(paired)} same-round ratios '
            f'{", ".join(f"{p:.3f}" for p in paired)})'
        )
    print(f'largest |onnxruntime - pytorch| of the outputs: {difference:.1e}')
    return result


def main(argv=None):
    args = parse_args(argv)
    import torch

    inferencer = build(args)
    frames = sample_frames(args.frames)
    sync = (
        torch.cuda.synchronize
        if inferencer.device.type == 'cuda'
        else (lambda: None)
    )
    print(
        f'device {inferencer.device}, {args.frames} frames, batch '
        f'{args.batch_size}, {torch.get_num_threads()} threads, '
        f'{os.cpu_count()} CPUs, load {load()}'
    )
    result = dict(
        config=args.config,
        device=str(inferencer.device),
        frames=args.frames,
        batch_size=args.batch_size,
        threads=torch.get_num_threads(),
    )
    result.update(base_figures(args, inferencer, frames, sync))
    if args.faces:
        result['multi_face'] = multi_face(args, inferencer, sync)
    if args.compare_paths:
        result['compare_paths'] = compare_paths(
            args, make_video_frames(args.frames), sync, inferencer
        )
        result['compare_paths']['detect_every'] = (
            inferencer.schedule.detect_every
        )
    if args.compare_backends:
        result['compare_backends'] = compare_backends(args, inferencer, frames)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    tmp = args.out + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(result, f, indent=2)
    os.replace(tmp, args.out)
    return 0


def _num_aus(config):
    from mmengine.config import Config

    return Config.fromfile(config).model.head.num_aus


if __name__ == '__main__':
    sys.exit(main())
