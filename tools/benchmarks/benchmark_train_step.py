"""Training-step time and agreement of GeoCNN, one comparison per run.

A step is what the runner does per iteration: preprocessing of a ready batch
(images and precomputed geodesic weights), forward, balanced loss, backward and
the optimizer update, through ``model.train_step``. Geodesic weights are made
in the data pipeline and are not part of the step. The two sides of a
comparison are timed in alternation so that load on a shared machine hits both
alike, and the load average is printed beside every figure.

``--compare models`` (default): GeoCNN versus VGG-19 alone, same batch and
input. Target: GeoCNN <= 1.4 x VGG-19.

``--compare backends``: one GeoCNN (``--config``) on one batch with the native
GeoConv kernels and with the portable PyTorch backend: the loss and every
parameter's gradient of one step are compared (the run fails when they differ
by more than ``--grad-rtol`` of the gradient's largest value), then both
step times.

``--compare compile``: eager ``train_step`` versus ``torch.compile`` of it, as
MMEngine's ``compile=True`` does, from the same weights over ``--iters``
steps, each on a different batch: the losses of every step are compared (the
run fails beyond ``--loss-rtol``), the step times after the warm-up steps, and
dynamo's compiled-graph count is reported (it must not grow with the batches).
The samples carry a dataset pipeline's metainfo (``--metainfo pipeline``,
as in training) or none (``--metainfo none``); the data preprocessor runs
eagerly either way, so the metainfo it copies never reaches dynamo's guards.
Inductor's random numbers follow eager's (``fallback_random``), so that
dropout masks agree.

Example::

    python tools/benchmarks/benchmark_train_step.py --device cpu \\
        --batch-size 2 --iters 5
    python tools/benchmarks/benchmark_train_step.py --device cuda \\
        --batch-size 32
    python tools/benchmarks/benchmark_train_step.py --compare backends \\
        --device cuda --batch-size 8
    python tools/benchmarks/benchmark_train_step.py --compare compile \\
        --config configs/geocnn_synthau_demo.py --image-size 112 \\
        --batch-size 16 --iters 8
"""

from __future__ import annotations

import argparse
import copy
import os
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
from geoconv_mm.ops import collect_geo_specs, use_backend
from geoconv_mm.utils.atomic_io import atomic_write_json

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_MODELS = (
    ('GeoCNN', 'configs/geocnn_bp4d_fold1.py'),
    ('VGG-19', 'configs/ablations/vgg19_bp4d.py'),
)
COMPARISONS = ('models', 'backends', 'compile')


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


def twin(model, config: str):
    """A copy of ``model`` (same weights) with an optimizer of its own."""
    cfg = Config.fromfile(
        osp.join(ROOT, config) if not osp.isabs(config) else config
    )
    other = copy.deepcopy(model)
    return other, build_optim_wrapper(other, cfg.optim_wrapper)


def make_batch(
    model,
    batch_size: int,
    size: int,
    device: str,
    seed: int = 0,
    metainfo: bool = True,
) -> dict:
    """A ready batch: uint8 images, AU labels, geodesic weights of every spec
    the model asks for and (``metainfo``) the per-sample metainfo a dataset's
    pipeline packs: a frame number (a new int object per sample), a flip flag
    and a path."""
    g = torch.Generator().manual_seed(seed)
    specs = collect_geo_specs(model, (size, size))
    num_aus = model.head.num_aus
    samples = []
    for i in range(batch_size):
        meta = dict(
            frame=1000 + seed * batch_size + i,
            flip=bool((seed + i) % 2),
            img_path=f'frame_{seed}_{i}.png',
        )
        s = DataSample(metainfo=meta if metainfo else None)
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


def timed(fn, device: str) -> float:
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def device_name(device: str) -> str:
    if device.startswith('cuda'):
        return torch.cuda.get_device_name()
    return f'CPU, {torch.get_num_threads()} threads'


def loss_and_grads(model, batch):
    """The loss of one step and the gradient of every parameter."""
    data = model.data_preprocessor(batch, True)
    loss, _ = model.parse_losses(model(**data, mode='loss'))
    params = [p for p in model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    return float(loss.detach()), dict(zip(names, grads))


def compare_models(args) -> dict:
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
            t = timed(
                lambda: run['model'].train_step(run['batch'], run['optim']),
                args.device,
            )
            if step >= args.warmup:
                run['times'].append(t)
        print(f'step {step + 1}/{args.warmup + args.iters}', file=sys.stderr)
    result = dict(models={})
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
    return result


def compare_backends(args) -> dict:
    model, optim = build(args.config, args.device)
    other, other_optim = twin(model, args.config)
    batch = make_batch(model, args.batch_size, args.image_size, args.device)
    outcome = {}
    for backend, m in (('native', model), ('torch', other)):
        torch.manual_seed(0)  # the same dropout masks
        with use_backend(backend):
            outcome[backend] = loss_and_grads(m, batch)
    (loss_n, grads_n), (loss_t, grads_t) = outcome['native'], outcome['torch']
    worst_name, worst = None, 0.0
    for name, gn in grads_n.items():
        gt = grads_t[name]
        if gn is None or gt is None:
            continue
        scale = gt.abs().max().item() or 1.0
        diff = (gn - gt).abs().max().item() / scale
        if diff >= worst:
            worst_name, worst = name, diff
    print(
        f'  loss native {loss_n:.6f}, portable {loss_t:.6f}; largest '
        f'gradient difference {worst:.2e} of its scale ({worst_name})'
    )
    times = {'native': [], 'torch': []}
    sides = (('native', model, optim), ('torch', other, other_optim))
    for step in range(args.warmup + args.iters):
        for backend, m, o in sides:
            with use_backend(backend):
                t = timed(lambda: m.train_step(batch, o), args.device)
            if step >= args.warmup:
                times[backend].append(t)
    medians = {k: statistics.median(v) for k, v in times.items()}
    for backend, med in medians.items():
        print(f'  {backend:<8} median {med * 1000:9.1f} ms/step')
    print(f'  portable / native = {medians["torch"] / medians["native"]:.2f}x')
    return dict(
        config=args.config,
        loss=dict(native=loss_n, torch=loss_t),
        max_grad_rel_diff=worst,
        worst_parameter=worst_name,
        median_s=medians,
        ok=abs(loss_n - loss_t) <= args.grad_rtol * max(abs(loss_t), 1.0)
        and worst <= args.grad_rtol,
    )


def graph_count() -> int:
    from torch._dynamo.utils import counters

    return int(counters['stats']['unique_graphs'])


def compare_compile(args) -> dict:
    import torch._inductor.config as inductor_config

    inductor_config.fallback_random = True  # eager's dropout masks
    torch._dynamo.reset()
    model, optim = build(args.config, args.device)
    compiled, compiled_optim = twin(model, args.config)
    compiled.train_step = torch.compile(
        compiled.train_step, backend=args.compile_backend
    )
    losses = {'eager': [], 'compiled': []}
    times = {'eager': [], 'compiled': []}
    graphs = []
    steps = args.warmup + args.iters
    for step in range(steps):
        batch = make_batch(
            model,
            args.batch_size,
            args.image_size,
            args.device,
            seed=step,
            metainfo=args.metainfo == 'pipeline',
        )
        for name, m, o in (
            ('eager', model, optim),
            ('compiled', compiled, compiled_optim),
        ):
            torch.manual_seed(step)
            out = {}
            t = timed(lambda: out.update(m.train_step(batch, o)), args.device)
            losses[name].append(float(out['loss']))
            if step >= args.warmup:
                times[name].append(t)
        graphs.append(graph_count())
        print(
            f'step {step + 1}/{steps}: loss eager {losses["eager"][-1]:.6f} '
            f'compiled {losses["compiled"][-1]:.6f}; {graphs[-1]} graphs; '
            f'load {os.getloadavg()[0]:.2f}',
            file=sys.stderr,
        )
    diffs = [
        abs(a - b) / max(abs(a), 1e-12)
        for a, b in zip(losses['eager'], losses['compiled'])
    ]
    medians = {k: statistics.median(v) for k, v in times.items()}
    for name, med in medians.items():
        print(f'  {name:<9} median {med * 1000:9.1f} ms/step')
    speedup = medians['eager'] / medians['compiled']
    print(
        f'  eager / compiled = {speedup:.2f}x; largest relative loss '
        f'difference {max(diffs):.2e}; compiled graphs after each step: '
        f'{graphs}'
    )
    return dict(
        config=args.config,
        compile_backend=args.compile_backend,
        losses=losses,
        max_loss_rel_diff=max(diffs),
        graphs_after_step=graphs,
        median_s=medians,
        eager_over_compiled=speedup,
        # no new graph after the first two steps (the first step compiles,
        # the second the optimizer's first update with state)
        ok=max(diffs) <= args.loss_rtol and graphs[-1] == graphs[1],
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--compare', default='models', choices=COMPARISONS)
    parser.add_argument(
        '--config',
        default=DEFAULT_MODELS[0][1],
        help='the GeoCNN config of --compare backends and compile',
    )
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu'
    )
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--image-size', type=int, default=224)
    parser.add_argument(
        '--iters', type=int, default=10, help='timed steps per side'
    )
    parser.add_argument(
        '--warmup', type=int, default=2, help='untimed steps per side'
    )
    parser.add_argument(
        '--threads', type=int, default=None, help='torch CPU threads'
    )
    parser.add_argument(
        '--grad-rtol',
        type=float,
        default=1e-3,
        help='--compare backends: the largest gradient difference allowed, '
        'relative to the gradient\'s largest value',
    )
    parser.add_argument(
        '--loss-rtol',
        type=float,
        default=1e-4,
        help='--compare compile: the largest relative loss difference '
        'allowed at any step',
    )
    parser.add_argument(
        '--compile-backend', default='inductor', help='torch.compile backend'
    )
    parser.add_argument(
        '--metainfo',
        default='pipeline',
        choices=['pipeline', 'none'],
        help='--compare compile: samples carry the metainfo a dataset '
        'pipeline packs (frame, flip, path), or none',
    )
    parser.add_argument('--out', help='write the figures as JSON here')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    # The optimizer constructor logs every parameter's lr; keep the output
    # short.
    if not MMLogger.check_instance_created('benchmark_train_step'):
        MMLogger.get_instance('benchmark_train_step', log_level='WARNING')
    load_start = os.getloadavg()
    print(
        f'{device_name(args.device)}; batch {args.batch_size}, '
        f'{args.image_size}x{args.image_size}, {args.iters} timed steps '
        f'each; load average {load_start[0]:.2f}'
    )
    compare = dict(
        models=compare_models,
        backends=compare_backends,
        compile=compare_compile,
    )[args.compare]
    result = compare(args)
    result.update(
        compare=args.compare,
        device=device_name(args.device),
        torch=torch.__version__,
        batch_size=args.batch_size,
        image_size=args.image_size,
        iters=args.iters,
        warmup=args.warmup,
        load_start=load_start,
        load_end=os.getloadavg(),
        command='python tools/benchmarks/benchmark_train_step.py '
        + ' '.join(sys.argv[1:] if argv is None else argv),
    )
    print(f'  load average {result["load_end"][0]:.2f} at the end')
    if args.out:
        atomic_write_json(args.out, result, indent=2)
    return result


if __name__ == '__main__':
    result = main()
    sys.exit(0 if result.get('ok', True) else 1)
