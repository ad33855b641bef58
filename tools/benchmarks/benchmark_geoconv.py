"""Benchmark GeoConv against F.conv2d, methods alternated within each shape.

Times forward alone (inference) and forward+backward with geo_weight not
requiring a gradient (training: the geodesic weights come from data) at the
GeoCNN layer shapes (3x3 kernels, VGG-19 widths at 224, 112, 56, 28 and 14
pixels), at batch 1 (video inference), 8 and 32. ``geoconv`` is the native
kernel; ``--portable`` adds the portable PyTorch backend (``portable``). The
first call's self-check (``geoconv_mm.ops.backends``) is timed once and
reported as ``self_check_ms``. Within every shape the methods run in turn, up
to ``--repeats`` rounds
(fewer where the rounds would not fit in ``--budget`` seconds, but at least
``--min-repeats``), and each method's best round is reported, as a ratio to
conv2d's best in the same run: on a shared machine only such ratios mean
anything. ``os.getloadavg()`` is printed beside every row and recorded in the
JSON; rows taken on a loaded machine are marked LOADED.

Example:
    # batch 1, 8 and 32, all shapes
    python tools/benchmarks/benchmark_geoconv.py
    python tools/benchmarks/benchmark_geoconv.py --batch 8 \\
        --shapes 14:512:512 --repeats 3
    # geo_weight gets a gradient
    python tools/benchmarks/benchmark_geoconv.py --cases train_geo
    python tools/benchmarks/benchmark_geoconv.py --device cuda --amp
    # native, portable and cuDNN on a GPU
    python tools/benchmarks/benchmark_geoconv.py --device cuda --portable
    python tools/benchmarks/benchmark_geoconv.py \\
        --markdown work_dirs/benchmark_geoconv.json
"""

import argparse
import gc
import json
import os
import os.path as osp
import sys
import time
import warnings

import torch
import torch.nn.functional as F

from geoconv_mm.ops import backends, build_info, geo_conv2d, use_backend
from geoconv_mm.ops.reference import geo_conv2d_unfold
from geoconv_mm.utils.atomic_io import atomic_write_json

# (resolution, in_channels, out_channels): one VGG-19-width layer per GeoCNN
# scale.
LAYER_SHAPES = [
    (224, 64, 64),
    (112, 128, 128),
    (56, 256, 256),
    (28, 512, 512),
    (14, 512, 512),
]
CLOCKS = dict(wall=time.perf_counter, thread=time.thread_time)
# forward: inference; train: fwd+bwd, geo_weight without gradient; train_geo:
# with.
CASES = ('forward', 'train', 'train_geo')
# Timings are flagged as unreliable when the 1-minute load average exceeds the
# benchmark's own busy threads by this much: other work then held about half a
# core on average.
OTHER_LOAD_LIMIT = 0.5


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument(
        '--batch', default='1,8,32', help='comma list of batch sizes'
    )
    parser.add_argument(
        '--shapes',
        default=None,
        help='comma list of RES:CIN:COUT, default: the GeoCNN shapes',
    )
    parser.add_argument(
        '--cases',
        default='forward,train',
        help=f'comma list out of {",".join(CASES)}',
    )
    parser.add_argument(
        '--repeats',
        type=int,
        default=5,
        help='alternated rounds per shape at most; the best round counts',
    )
    parser.add_argument(
        '--budget',
        type=float,
        default=30.0,
        help='seconds of timed rounds per shape and case: large shapes run '
        'fewer rounds (at least --min-repeats) so that a full run ends',
    )
    parser.add_argument(
        '--min-repeats',
        type=int,
        default=2,
        help='alternated rounds per shape at least, whatever --budget says',
    )
    parser.add_argument(
        '--amp', action='store_true', help='CUDA: float16 autocast'
    )
    parser.add_argument(
        '--tf32',
        action='store_true',
        help='CUDA: allow TF32 in cuDNN and in matmuls alike '
        '(default: neither)',
    )
    parser.add_argument(
        '--unfold',
        action='store_true',
        help='also time the F.unfold reference',
    )
    parser.add_argument(
        '--portable',
        action='store_true',
        help='also time the portable PyTorch backend (GEOCONV_BACKEND=torch)',
    )
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch CPU threads (default: torch\'s, one per core)',
    )
    parser.add_argument(
        '--clock',
        default='wall',
        choices=['wall', 'thread'],
        help='wall: elapsed time; thread: CPU time of the calling thread, '
        'which other load on a shared machine barely changes (needs '
        '--threads 1 on the CPU)',
    )
    parser.add_argument('--out', default='work_dirs/benchmark_geoconv.json')
    parser.add_argument(
        '--markdown',
        metavar='JSON',
        default=None,
        help='print the README table of a result file and exit',
    )
    return parser.parse_args(argv)


class PeakMemory:
    """Peak memory above the current level, for CPU (process RSS) or CUDA."""

    def __init__(self, device):
        self.device = device

    def __enter__(self):
        gc.collect()
        if self.device == 'cuda':
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
        else:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')  # resets the VmHWM high-water mark (Linux)
            self.base = self._rss('VmRSS')
        return self

    def __exit__(self, *exc):
        if self.device == 'cuda':
            torch.cuda.synchronize()
            self.peak = torch.cuda.max_memory_allocated() - self.base
        else:
            self.peak = self._rss('VmHWM') - self.base

    @staticmethod
    def _rss(field):
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
        raise RuntimeError(f'{field} not in /proc/self/status')


def load_note(own_threads: int = 0):
    """The load average, and whether work other than the benchmark's own
    ``own_threads`` busy threads loaded the machine."""
    load = os.getloadavg()
    return load, load[0] - own_threads > OTHER_LOAD_LIMIT


def make_step(fn, inputs, case):
    x, w, g = inputs
    x.requires_grad_(case != 'forward')
    w.requires_grad_(case != 'forward')
    g.requires_grad_(case == 'train_geo')

    def step():
        if case == 'forward':
            with torch.no_grad():
                return fn(x, w, g)
        out = fn(x, w, g)
        out.backward(torch.ones_like(out))
        for t in inputs:
            t.grad = None

    return step


def time_once(step, device, clock=time.perf_counter):
    sync = torch.cuda.synchronize if device == 'cuda' else (lambda: None)
    sync()
    start = clock()
    step()
    sync()
    return clock() - start


def rounds_for(warmup_s, args):
    """Timed rounds that fit ``args.budget``, given one warm-up round's
    time.
    """
    fit = int(args.budget / max(warmup_s, 1e-9))
    return max(args.min_repeats, min(args.repeats, fit))


def bench_shape(methods, inputs, case, args, autocast):
    """Best time and peak memory of every method, rounds alternated.

    Returns:
        tuple: best seconds per method, peak bytes per method, and the number
        of timed rounds (fewer than ``--repeats`` where a round exceeds the
        budget).
    """
    steps = {name: make_step(fn, inputs, case) for name, fn in methods.items()}
    peaks, best = {}, {name: float('inf') for name in methods}
    with autocast:
        warmup_s = 0.0
        for name, step in steps.items():
            # The warm-up round is also the memory measurement.
            start = time.perf_counter()
            with PeakMemory(args.device) as mem:
                step()
            warmup_s += time.perf_counter() - start
            peaks[name] = mem.peak
        names = list(steps)
        repeats = rounds_for(warmup_s, args)
        for r in range(repeats):
            # Rotate the order too, so that no method always runs after the
            # same one.
            for name in names[r % len(names) :] + names[: r % len(names)]:
                best[name] = min(
                    best[name],
                    time_once(steps[name], args.device, CLOCKS[args.clock]),
                )
    return best, peaks, repeats


def markdown(path):
    with open(path) as f:
        result = json.load(f)
    portable = any('portable_s' in r for r in result['rows'])
    lines = [
        f'Measured by `{result["command"]}` ({result["device"]}, '
        f'{result["threads"]} threads, {result["clock"]} clock, '
        f'torch {result["torch"]}, load average '
        f'{result["load_start"][0]:.2f} at start, {result["load_end"][0]:.2f} '
        'at end).',
        '',
        '| batch | shape (C->O @ HxW) | case | conv2d ms | GeoConv ms | '
        'time GeoConv / conv2d | peak memory GeoConv / conv2d |'
        + (' portable / conv2d |' if portable else '')
        + ' load |',
        '|---|---|---|---|---|---|---|'
        + ('---|' if portable else '')
        + '---|',
    ]
    for r in result['rows']:
        lines.append(
            f'| {r["batch"]} | {r["in_channels"]}->{r["out_channels"]} @ '
            f'{r["resolution"]}x{r["resolution"]} | {r["case"]} | '
            f'{r["conv2d_s"] * 1e3:.1f} | {r["geoconv_s"] * 1e3:.1f} | '
            f'{r["geo_over_conv"]:.2f} | {r["mem_geo_over_conv"]:.2f} |'
            + (f' {r["portable_over_conv"]:.2f} |' if portable else '')
            + f' {r["loadavg"][0]:.2f} |'
        )
    print('\n'.join(lines))


def with_backend(name, fn):
    """``fn`` run under GEOCONV backend ``name``."""

    def run(*args):
        with use_backend(name):
            return fn(*args)

    return run


def time_self_check(device, dtype=torch.float32, rounds=3):
    """Best seconds of the native kernel's self-check, or None where the
    device has no native kernel."""
    if device not in backends.native_device_types():
        return None
    best = float('inf')
    for _ in range(rounds):
        start = time.perf_counter()
        problem = backends.self_check(device, dtype)
        if device == 'cuda':
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
        if problem is not None:
            warnings.warn(f'self-check on {device}: {problem}')
    return best


def main(argv=None):
    args = parse_args(argv)
    if args.markdown:
        return markdown(args.markdown)
    if argv is None and os.environ.get('MALLOC_MMAP_THRESHOLD_') is None:
        # glibc otherwise raises its mmap threshold after the first large free
        # and serves later tensors from a heap that never shrinks, which hides
        # their peak from RSS.
        env = dict(os.environ, MALLOC_MMAP_THRESHOLD_='131072')
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.clock == 'thread' and (
        args.device != 'cpu' or torch.get_num_threads() != 1
    ):
        sys.exit('--clock thread measures one CPU thread: add --threads 1')
    if args.device == 'cuda':
        if not torch.cuda.is_available():
            sys.exit('--device cuda: torch sees no GPU')
        # Fair in float32: cuDNN and GeoConv's cuBLAS GEMMs use TF32 alike.
        torch.backends.cudnn.allow_tf32 = args.tf32
        torch.backends.cuda.matmul.allow_tf32 = args.tf32
    cases = args.cases.split(',')
    unknown = set(cases) - set(CASES)
    if unknown:
        sys.exit(f'--cases: unknown {sorted(unknown)}, choose from {CASES}')
    shapes = (
        LAYER_SHAPES
        if not args.shapes
        else [
            tuple(int(v) for v in s.split(':')) for s in args.shapes.split(',')
        ]
    )
    batches = [int(b) for b in args.batch.split(',')]
    geo = lambda x, w, g: geo_conv2d(x, w, g, None, 1, 1)  # noqa: E731
    methods = {
        'conv2d': lambda x, w, g: F.conv2d(x, w, None, 1, 1),
        'geoconv': with_backend('native', geo),
    }
    if args.portable:
        methods['portable'] = with_backend('torch', geo)
    if args.unfold:
        methods['unfold'] = lambda x, w, g: geo_conv2d_unfold(
            x, w, g, None, 1, 1
        )
    autocast = torch.autocast('cuda', dtype=torch.float16, enabled=args.amp)
    # On a GPU one host thread is busy; on the CPU, torch's threads are.
    own_threads = 1 if args.device == 'cuda' else torch.get_num_threads()
    self_check_s = time_self_check(args.device)
    load_start, loaded = load_note()
    print(
        f'device={args.device} threads={torch.get_num_threads()} '
        f'amp={args.amp} tf32={args.tf32} build={build_info()} '
        f'loadavg={load_start}'
    )
    if self_check_s is not None:
        print(f'self-check of the native kernel: {self_check_s * 1e3:.1f} ms')
    if loaded:
        warnings.warn(
            f'load average {load_start} on {os.cpu_count()} cores: the '
            'machine is busy, times are unreliable; only the ratios of this '
            'run compare'
        )
    print(
        f'{"batch":>5} {"shape":>16} {"case":>9} {"conv2d ms":>10} '
        f'{"geoconv ms":>10} {"geo/conv":>8} {"mem geo/conv":>12}  loadavg',
        flush=True,
    )
    rows = []
    for batch in batches:
        for res, cin, cout in shapes:
            gen = torch.Generator().manual_seed(0)
            x = torch.randn(batch, cin, res, res, generator=gen)
            w = torch.randn(cout, cin, 3, 3, generator=gen) * 0.05
            g = torch.rand(batch, 9, res, res, generator=gen) * 2
            inputs = [t.to(args.device) for t in (x, w, g)]
            for case in cases:
                print(
                    f'{batch:5d} {f"{cin}->{cout}@{res}":>16} {case:>9} ...',
                    end='\r',
                    flush=True,
                )
                start = time.perf_counter()
                best, peaks, repeats = bench_shape(
                    methods, inputs, case, args, autocast
                )
                elapsed = time.perf_counter() - start
                load, busy = load_note(own_threads)
                row = dict(
                    batch=batch,
                    resolution=res,
                    in_channels=cin,
                    out_channels=cout,
                    case=case,
                    loadavg=load,
                    loaded=busy,
                    repeats=repeats,
                    elapsed_s=elapsed,
                )
                for name in methods:
                    row[f'{name}_s'], row[f'{name}_peak_bytes'] = (
                        best[name],
                        peaks[name],
                    )
                row['geo_over_conv'] = best['geoconv'] / best['conv2d']
                row['mem_geo_over_conv'] = peaks['geoconv'] / max(
                    peaks['conv2d'], 1
                )
                if args.unfold:
                    row['unfold_over_geo'] = best['unfold'] / best['geoconv']
                if args.portable:
                    row['portable_over_conv'] = (
                        best['portable'] / best['conv2d']
                    )
                rows.append(row)
                print(
                    f'{batch:5d} {f"{cin}->{cout}@{res}":>16} {case:>9} '
                    f'{best["conv2d"] * 1e3:10.1f} '
                    f'{best["geoconv"] * 1e3:10.1f} '
                    f'{row["geo_over_conv"]:8.2f} '
                    f'{row["mem_geo_over_conv"]:12.2f}  '
                    + (
                        f'portable/conv {row["portable_over_conv"]:.2f}  '
                        if args.portable
                        else ''
                    )
                    + f'{load[0]:.2f}{" LOADED" if busy else ""}  ({repeats} '
                    f'rounds, {elapsed:.0f} s)',
                    flush=True,
                )
            del inputs
    load_end, loaded_end = load_note(own_threads)
    if loaded_end or any(r['loaded'] for r in rows):
        warnings.warn(
            f'the machine was loaded during the run (load average {load_end} '
            'at the end): absolute times are unreliable'
        )
    summary = {
        case: dict(
            max_geo_over_conv=max(
                r['geo_over_conv'] for r in rows if r['case'] == case
            ),
            max_mem_geo_over_conv=max(
                r['mem_geo_over_conv'] for r in rows if r['case'] == case
            ),
        )
        for case in cases
    }
    if args.portable:
        for case in cases:
            summary[case]['max_portable_over_conv'] = max(
                r['portable_over_conv'] for r in rows if r['case'] == case
            )
    print('worst ratios: ' + json.dumps(summary))
    result = dict(
        command='python tools/benchmarks/benchmark_geoconv.py '
        + ' '.join(sys.argv[1:] if argv is None else argv),
        device=args.device,
        clock=args.clock,
        amp=args.amp,
        tf32=args.tf32,
        threads=torch.get_num_threads(),
        torch=torch.__version__,
        build=build_info(),
        load_start=load_start,
        load_end=load_end,
        loaded=loaded,
        self_check_ms=None if self_check_s is None else self_check_s * 1e3,
        rows=rows,
        summary=summary,
    )
    if args.device == 'cuda':
        result['gpu'] = torch.cuda.get_device_name()
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    atomic_write_json(args.out, result, indent=2)
    print(f'written {args.out}')
    return result


if __name__ == '__main__':
    main()
