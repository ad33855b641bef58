"""Throughput of AU inference: the whole pipeline against the model's forward alone.

The whole pipeline is face detection and mesh (FacePipeline), alignment, geodesic
weights for every GeoConv layer, packing and the batched forward pass; "forward alone"
runs the same batches through the model with their inputs prepared in advance. Both are
measured in one run on the same frames (real faces: skimage's astronaut, mirrored and
rescaled), and their ratio is the pipeline overhead.

Example:
    python tools/benchmarks/benchmark_inference.py \\
        configs/geocnn_bp4d_fold1.py --frames 32
"""

import argparse
import json
import os
import os.path as osp
import sys
import time


def parse_args():
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
    parser.add_argument('--out', default='work_dirs/benchmark_inference.json')
    return parser.parse_args()


def make_frames(n):
    import cv2
    from skimage import data

    from geoconv_mm.apis import Frame

    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    variants = [
        face,
        face[:, ::-1].copy(),
        cv2.resize(face, (384, 384)),
        cv2.resize(face, (640, 640)),
    ]
    return [
        Frame(i, i / 30.0, variants[i % len(variants)], f'astronaut:{i}')
        for i in range(n)
    ]


def main():
    args = parse_args()
    import torch

    from geoconv_mm.apis import AUInferencer

    inferencer = AUInferencer(
        args.config,
        args.checkpoint,
        device=args.device,
        batch_size=args.batch_size,
        au_ids=None
        if args.checkpoint
        else list(range(1, 1 + _num_aus(args.config))),
    )
    frames = make_frames(args.frames)
    sync = (
        torch.cuda.synchronize
        if inferencer.device.type == 'cuda'
        else (lambda: None)
    )
    list(inferencer.iter_predictions(frames[: args.batch_size]))  # warm-up

    start = time.perf_counter()
    preds = list(inferencer.iter_predictions(frames))
    sync()
    pipeline_s = time.perf_counter() - start
    if not all(p.success for p in preds):
        sys.exit('benchmark frames must all contain a face')

    start = time.perf_counter()
    samples = [s for f in frames for _, s in inferencer.preprocess(f)]
    preprocess_s = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(0, len(samples), args.batch_size):
        inferencer.predict_batch(samples[i : i + args.batch_size])
    sync()
    forward_s = time.perf_counter() - start

    result = dict(
        config=args.config,
        device=str(inferencer.device),
        frames=args.frames,
        batch_size=args.batch_size,
        threads=torch.get_num_threads(),
        pipeline_fps=args.frames / pipeline_s,
        forward_fps=args.frames / forward_s,
        preprocess_ms_per_frame=1e3 * preprocess_s / args.frames,
        overhead=pipeline_s / forward_s,
    )
    print(
        f'device {result["device"]}, {args.frames} frames, batch {args.batch_size}, '
        f'{result["threads"]} threads'
    )
    print(f'whole pipeline : {result["pipeline_fps"]:7.2f} frames/s')
    print(f'forward alone  : {result["forward_fps"]:7.2f} frames/s')
    print(
        f'preprocessing  : {result["preprocess_ms_per_frame"]:7.1f} ms/frame '
        '(face, mesh, alignment, geodesic weights)'
    )
    print(f'overhead       : {result["overhead"]:7.2f}x the forward pass')
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    tmp = args.out + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(result, f, indent=2)
    os.replace(tmp, args.out)


def _num_aus(config):
    from mmengine.config import Config

    return Config.fromfile(config).model.head.num_aus


if __name__ == '__main__':
    main()
