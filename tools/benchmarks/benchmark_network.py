"""Where the AU network's CPU time goes, and what keeps its outputs and runs
faster: frames/s of each config's network alone and of the whole pipeline,
for the forward variants of :class:`geoconv_mm.apis.TorchAUNetwork` and,
with ``--onnxruntime``, the same network exported to ONNX and run by
:class:`geoconv_mm.apis.ONNXAUNetwork`.

For every config (by default the paper's BP4D GeoCNN, VGG-19 with a GeoConv
branch at 224 px, and the quick-start demo at 112 px) it

1. prepares ``--frames`` one-face frames once (skimage's astronaut, mirrored
   and rescaled) and profiles one batch of the baseline network
   (``torch.profiler``): the share of its time per operator;
2. alternates, over ``--rounds``, the network alone in each variant on the
   same packed samples: ``nchw`` (the contiguous layout), ``channels_last``,
   ``nchw, 1 thread`` and ``channels_last, 1 thread`` (the share of a
   replicated worker on two cores), and ``compiled`` with ``--compile``
   (channels_last under :func:`torch.compile`; its compilation is not
   timed), and ``onnxruntime`` and ``onnxruntime, 1 thread`` with
   ``--onnxruntime`` (the network exported by
   :func:`geoconv_mm.apis.export_model_onnx`, the export of
   ``tools/deployment/pytorch2onnx.py``; the export is not timed). Each
   variant's largest probability difference from ``nchw`` is printed: a
   variant that changes the outputs beyond float rounding is flagged;
3. times the whole pipeline (faces, meshes, weights, network) with the
   default network, with ``nchw`` and, with ``--onnxruntime``, with
   onnxruntime, alternated likewise.

Every figure is printed with the load average when it was taken; compare
only figures of one run.

Example:
    python tools/benchmarks/benchmark_network.py --frames 16 --rounds 3 \\
        --out work_dirs/benchmark_network.json
"""

import argparse
import copy
import os
import os.path as osp
import sys
import tempfile
import time
from typing import Dict, List

import numpy as np

DEFAULT_CONFIGS = (
    'configs/geocnn_bp4d_fold1.py',
    'configs/geocnn_synthau_demo.py',
)
#: Variants of the network: (channels_last, threads or None for torch's
#: default of one per core, compiled).
VARIANTS = {
    'nchw': (False, None, False),
    'channels_last': (True, None, False),
    'nchw, 1 thread': (False, 1, False),
    'channels_last, 1 thread': (True, 1, False),
    'compiled': (True, None, True),
}
#: onnxruntime variants of ``--onnxruntime``: intra-op threads, or None for
#: onnxruntime's default of one per core.
ONNX_VARIANTS = {'onnxruntime': None, 'onnxruntime, 1 thread': 1}
#: Probabilities may move by float rounding only.
TOLERANCE = 1e-4


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='*', default=list(DEFAULT_CONFIGS))
    parser.add_argument('--frames', type=int, default=16)
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument(
        '--compile',
        action='store_true',
        help='add the torch.compile variant (compiles for minutes)',
    )
    parser.add_argument(
        '--onnxruntime',
        action='store_true',
        help='add the network exported to ONNX, run by onnxruntime',
    )
    parser.add_argument(
        '--no-pipeline',
        action='store_true',
        help='time the network alone only',
    )
    parser.add_argument('--out', default=None, help='JSON of the figures')
    args = parser.parse_args(argv)
    if min(args.frames, args.batch_size, args.rounds) < 1:
        parser.error('--frames, --batch-size and --rounds must be >= 1')
    return args


def load() -> float:
    return round(os.getloadavg()[0], 2)


class Variant:
    """One way of running a network: its layout, threads and compilation,
    applied to a copy of the baseline model."""

    def __init__(self, base, channels_last, threads, compiled):
        import torch

        from geoconv_mm.apis import TorchAUNetwork

        self.net = copy.copy(base)
        self.net.model = copy.deepcopy(base.model)
        self.net.channels_last = channels_last
        self.net.model.to(
            memory_format=torch.channels_last
            if channels_last
            else torch.contiguous_format
        )
        self.net._forward = (
            torch.compile(self.net._forward_outputs, dynamic=True)
            if compiled
            else self.net._forward_outputs
        )
        self.threads = threads
        assert isinstance(self.net, TorchAUNetwork)

    def predict(self, samples, batch_size) -> np.ndarray:
        import torch

        default = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            return np.concatenate(
                [
                    self.net.predict(samples[i : i + batch_size]).probabilities
                    for i in range(0, len(samples), batch_size)
                ]
            )
        finally:
            torch.set_num_threads(default)


class ONNXVariant:
    """The network exported to ONNX, in onnxruntime on the CPU with
    ``threads`` intra-op threads (None: one per core)."""

    def __init__(self, path, threads):
        from geoconv_mm.apis import ONNXAUNetwork

        self.net = ONNXAUNetwork(path, device='cpu', threads=threads)

    def predict(self, samples, batch_size) -> np.ndarray:
        return np.concatenate(
            [
                self.net.predict(samples[i : i + batch_size]).probabilities
                for i in range(0, len(samples), batch_size)
            ]
        )


def profile_ops(variant, samples, top=8) -> List[dict]:
    """Share of each operator in one batch's CPU time (self time)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        variant.net.predict(samples)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    rows = sorted(events, key=lambda e: -e.self_cpu_time_total)[:top]
    return [
        dict(
            op=e.key,
            share=e.self_cpu_time_total / total,
            calls=e.count,
            ms=e.self_cpu_time_total / 1e3,
        )
        for e in rows
    ]


def bench_config(config, args) -> Dict:
    import torch
    from mmengine.config import Config

    from geoconv_mm.apis import AUInferencer, export_model_onnx
    from geoconv_mm.face.samples import sample_frames

    num_aus = Config.fromfile(config).model.head.num_aus
    inferencer = AUInferencer(
        config,
        None,
        device='cpu',
        batch_size=args.batch_size,
        au_ids=list(range(1, num_aus + 1)),
    )
    frames = sample_frames(args.frames)
    start = time.perf_counter()
    samples = [s for f in frames for _, s in inferencer.preprocess(f)]
    front_ms = 1e3 * (time.perf_counter() - start) / len(frames)
    base = inferencer.network
    names = [n for n in VARIANTS if args.compile or not VARIANTS[n][2]]
    variants = {n: Variant(base, *VARIANTS[n]) for n in names}
    if args.onnxruntime:
        with tempfile.TemporaryDirectory() as folder:
            path = osp.join(folder, 'model.onnx')
            export_model_onnx(
                inferencer.model, inferencer.cfg, inferencer.au_ids, path
            )
            for name, threads in ONNX_VARIANTS.items():
                variants[name] = ONNXVariant(path, threads)
        names += list(ONNX_VARIANTS)
    print(
        f'\n{config}: {len(samples)} faces, batch {args.batch_size}, '
        f'{torch.get_num_threads()} threads, front-end '
        f'{front_ms:.1f} ms/frame (load {load()})'
    )
    ops = profile_ops(variants['nchw'], samples[: args.batch_size])
    print('where one batch of the nchw network spends its CPU time:')
    for o in ops:
        print(f'  {100 * o["share"]:5.1f}%  {o["op"]} ({o["calls"]} calls)')
    reference = variants['nchw'].predict(samples, args.batch_size)
    diffs = {}
    for name, v in variants.items():
        diffs[name] = float(
            np.abs(v.predict(samples, args.batch_size) - reference).max()
        )  # also the warm-up (and compilation)
    runs = []
    for r in range(args.rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            avg = load()
            start, cpu = time.perf_counter(), time.process_time()
            variants[name].predict(samples, args.batch_size)
            seconds = time.perf_counter() - start
            cpu = time.process_time() - cpu
            runs.append(
                dict(
                    variant=name,
                    round=r,
                    fps=len(samples) / seconds,
                    cpu_fps=len(samples) / cpu,
                    load=avg,
                )
            )
            print(
                f'  network {name:24s} round {r}: '
                f'{len(samples) / seconds:7.2f} frames/s '
                f'{len(samples) / cpu:7.2f} frames/CPU-s (load {avg})'
            )
    network = {}
    for name in names:
        fps = [x['fps'] for x in runs if x['variant'] == name]
        ratios = [
            a / b
            for a, b in zip(
                fps, [x['fps'] for x in runs if x['variant'] == 'nchw']
            )
        ]
        cpu_fps = [x['cpu_fps'] for x in runs if x['variant'] == name]
        network[name] = dict(
            median_fps=float(np.median(fps)),
            median_cpu_fps=float(np.median(cpu_fps)),
            ratio_to_nchw=float(np.median(ratios)),
            max_abs_diff=diffs[name],
            same_outputs=diffs[name] <= TOLERANCE,
        )
        flag = '' if diffs[name] <= TOLERANCE else '  OUTPUTS DIFFER'
        print(
            f'network {name:24s} median {np.median(fps):7.2f} frames/s, '
            f'{np.median(ratios):.3f}x nchw, largest probability change '
            f'{diffs[name]:.1e}{flag}'
        )
    result = dict(
        config=config,
        faces=len(samples),
        front_end_ms_per_frame=front_ms,
        ops=ops,
        network=network,
        network_runs=runs,
    )
    if not args.no_pipeline:
        result['pipeline'] = pipeline_figures(
            inferencer, variants, frames, args
        )
    return result


def pipeline_figures(inferencer, variants, frames, args) -> Dict:
    """Whole-pipeline frames/s with the default network, with nchw and
    with onnxruntime (when measured), alternated."""
    default = inferencer.network
    nets = {'default': default, 'nchw': variants['nchw'].net}
    if 'onnxruntime' in variants:
        nets['onnxruntime'] = variants['onnxruntime'].net
    runs = []
    for r in range(args.rounds):
        for name in nets if r % 2 == 0 else list(nets)[::-1]:
            inferencer.network = nets[name]
            avg = load()
            start = time.perf_counter()
            list(inferencer.iter_predictions(frames))
            fps = len(frames) / (time.perf_counter() - start)
            runs.append(dict(network=name, round=r, fps=fps, load=avg))
            print(
                f'  pipeline, {name:8s} network, round {r}: '
                f'{fps:7.2f} frames/s (load {avg})'
            )
    inferencer.network = default
    out = {
        n: float(np.median([x['fps'] for x in runs if x['network'] == n]))
        for n in nets
    }
    print(
        'pipeline median: '
        + ', '.join(f'{n} {fps:.2f} frames/s' for n, fps in out.items())
    )
    return dict(median_fps=out, runs=runs)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    print(
        f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
        f'{os.cpu_count()} CPUs, load {load()}'
    )
    results = [bench_config(c, args) for c in args.configs]
    if args.out:
        from geoconv_mm.utils.atomic_io import atomic_write_json

        atomic_write_json(
            args.out,
            dict(
                args={k: v for k, v in vars(args).items() if k != 'out'},
                torch=torch.__version__,
                threads=torch.get_num_threads(),
                results=results,
            ),
            indent=2,
        )
    return 0


if __name__ == '__main__':
    sys.exit(main())
