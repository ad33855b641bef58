"""Training-step time of GeoCNN versus VGG-19 alone, same batch and input, one
run.

A step is what the runner does per iteration: preprocessing of a ready batch
(images and precomputed geodesic weights), forward, balanced loss, backward and
the SGD update, through ``model.train_step``. Geodesic weights are made in the
data pipeline and are not part of the step. The two models are timed in
alternation so that load on a shared machine hits both alike. Target: GeoCNN <=
1.4 x VGG-19::

    python tools/benchmarks/benchmark_train_step.py --device cpu \\
        --batch-size 2 --iters 5
    python tools/benchmarks/benchmark_train_step.py --device cuda \\
        --batch-size 32
"""

from __future__ import annotations

import argparse
import os.path as osp
import statistics
import sys
import time

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import geoconv_mm.models  # noqa: F401
from geoconv_mm.ops import collect_geo_specs

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_MODELS = (
    ('GeoCNN', 'configs/geocnn_bp4d_fold1.py'),
    ('VGG-19', 'configs/ablations/vgg19_bp4d.py'),
)


def build(config: str, device: str):
    cfg = Config.fromfile(
        osp.join(ROOT, config) if not osp.isabs(config) else config
    )
    model = MODELS.build(cfg.model).to(device)
    num_aus = model.head.num_aus
    # Statistics only set the loss weights; any valid counts cost the same.
    model.head.loss_module.set_statistics([100] * num_aus, [30] * num_aus)
    model.train()
    return model, build_optim_wrapper(model, cfg.optim_wrapper)


def make_batch(
    model, batch_size: int, size: int, device: str, seed: int = 0
) -> dict:
    g = torch.Generator().manual_seed(seed)
    specs = collect_geo_specs(model, (size, size))
    num_aus = model.head.num_aus
    samples = []
    for _ in range(batch_size):
        s = DataSample()
        s.set_field(
            torch.randint(0, 2, (num_aus,), generator=g).float(), 'gt_au'
        )
        s.set_field(torch.ones(num_aus, dtype=torch.bool), 'au_mask')
        if specs:
            s.set_field(
                {
                    sp.key: 0.5
                    + torch.rand(
                        sp.num_taps, *sp.output_size((size, size)), generator=g
                    )
                    for sp in specs
                },
                'geo_weights',
            )
        samples.append(s)
    inputs = torch.randint(
        0, 256, (batch_size, 3, size, size), dtype=torch.uint8, generator=g
    )
    return dict(inputs=inputs, data_samples=samples)


def sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu'
    )
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--image-size', type=int, default=224)
    parser.add_argument(
        '--iters', type=int, default=10, help='timed steps per model'
    )
    parser.add_argument(
        '--warmup', type=int, default=2, help='untimed steps per model'
    )
    parser.add_argument(
        '--threads', type=int, default=None, help='torch CPU threads'
    )
    parser.add_argument('--out', help='write the figures as JSON here')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    # The optimizer constructor logs every parameter's lr; keep the output
    # short.
    MMLogger.get_instance('benchmark_train_step', log_level='WARNING')
    runs = []
    for name, config in DEFAULT_MODELS:
        model, optim = build(config, args.device)
        runs.append(
            dict(
                name=name,
                config=config,
                model=model,
                optim=optim,
                batch=make_batch(
                    model, args.batch_size, args.image_size, args.device
                ),
                times=[],
            )
        )
    for step in range(args.warmup + args.iters):
        for run in runs:
            sync(args.device)
            start = time.perf_counter()
            run['model'].train_step(run['batch'], run['optim'])
            sync(args.device)
            if step >= args.warmup:
                run['times'].append(time.perf_counter() - start)
        print(f'step {step + 1}/{args.warmup + args.iters}', file=sys.stderr)
    device_name = (
        torch.cuda.get_device_name()
        if args.device.startswith('cuda')
        else f'CPU, {torch.get_num_threads()} threads'
    )
    result = dict(
        device=device_name,
        batch_size=args.batch_size,
        image_size=args.image_size,
        iters=args.iters,
        models={},
    )
    print(
        f'{device_name}; batch {args.batch_size}, '
        f'{args.image_size}x{args.image_size}, {args.iters} timed steps each'
    )
    for run in runs:
        med = statistics.median(run['times'])
        result['models'][run['name']] = dict(
            config=run['config'],
            median_s=med,
            mean_s=statistics.mean(run['times']),
            params_m=sum(p.numel() for p in run['model'].parameters()) / 1e6,
        )
        print(
            f'  {run["name"]:<8} median {med * 1000:9.1f} ms/step  '
            f'({result["models"][run["name"]]["params_m"]:.1f} M parameters)'
        )
    ratio = (
        result['models']['GeoCNN']['median_s']
        / result['models']['VGG-19']['median_s']
    )
    result['ratio'] = ratio
    print(f'  GeoCNN / VGG-19 = {ratio:.2f}x (target <= 1.4x)')
    if args.out:
        from geoconv_mm.utils.atomic_io import atomic_write_json

        atomic_write_json(args.out, result, indent=2)
    return result


if __name__ == '__main__':
    main()
