"""Benchmark GeoConv against F.conv2d and the F.unfold reference, in one run.

Forward+backward time and peak memory at the GeoCNN layer shapes (3x3 kernels, VGG-19
channel widths at 224, 112, 56, 28 and 14 pixels), reported as ratios to the baselines
measured in the same process, since absolute times on shared machines are noisy.

Example:
    python tools/benchmark_geoconv.py --batch 32 --out work_dirs/benchmark_geoconv.json
    python tools/benchmark_geoconv.py --device cuda --amp
"""
import argparse
import gc
import json
import os
import os.path as osp
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from geoconv_mm.ops import build_info, geo_conv2d  # noqa: E402
from geoconv_mm.ops.reference import geo_conv2d_unfold  # noqa: E402

# (resolution, in_channels, out_channels): one VGG-19-width layer per GeoCNN scale.
LAYER_SHAPES = [(224, 64, 64), (112, 128, 128), (56, 256, 256), (28, 512, 512), (14, 512, 512)]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--reps', type=int, default=3, help='timed repetitions per method')
    parser.add_argument('--amp', action='store_true', help='CUDA: run under float16 autocast')
    parser.add_argument('--no-unfold', action='store_true', help='skip the unfold reference')
    parser.add_argument('--shapes', default=None,
                        help='comma list of RES:CIN:COUT, default: the GeoCNN shapes')
    parser.add_argument('--out', default='work_dirs/benchmark_geoconv.json')
    return parser.parse_args()


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


def step(fn, inputs):
    out = fn(*inputs)
    out.backward(torch.ones_like(out))
    for t in inputs:
        t.grad = None


def measure(fn, inputs, reps, device):
    sync = torch.cuda.synchronize if device == 'cuda' else (lambda: None)
    with PeakMemory(device) as mem:
        step(fn, inputs)  # warm-up, and the memory measurement
    times = []
    for _ in range(reps):
        sync()
        start = time.perf_counter()
        step(fn, inputs)
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times), mem.peak


def main():
    if os.environ.get('MALLOC_MMAP_THRESHOLD_') is None:
        # glibc otherwise raises its mmap threshold after the first large free and serves
        # later tensors from a heap that never shrinks, which hides their peak from RSS.
        env = dict(os.environ, MALLOC_MMAP_THRESHOLD_='131072')
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    args = parse_args()
    if args.device == 'cuda' and not torch.cuda.is_available():
        sys.exit('--device cuda: torch sees no GPU')
    shapes = LAYER_SHAPES if not args.shapes else [
        tuple(int(v) for v in s.split(':')) for s in args.shapes.split(',')]
    dtype = torch.float32
    methods = {
        'conv2d': lambda x, w, g: F.conv2d(x, w, None, 1, 1),
        'geoconv': lambda x, w, g: geo_conv2d(x, w, g, None, 1, 1),
    }
    if not args.no_unfold:
        methods['unfold'] = lambda x, w, g: geo_conv2d_unfold(x, w, g, None, 1, 1)
    autocast = torch.autocast('cuda', dtype=torch.float16, enabled=args.amp)
    rows = []
    header = (f'{"shape (N,C,O,HxW)":>26} {"conv2d ms":>10} {"geoconv ms":>10} {"unfold ms":>10}'
              f' {"geo/conv":>8} {"unfold/geo":>10} {"mem geo/conv":>12}')
    print(f'device={args.device} threads={torch.get_num_threads()} amp={args.amp} '
          f'build={build_info()}')
    print(header)
    for res, cin, cout in shapes:
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(args.batch, cin, res, res, generator=gen, dtype=dtype)
        w = torch.randn(cout, cin, 3, 3, generator=gen, dtype=dtype) * 0.05
        g = torch.rand(args.batch, 9, res, res, generator=gen, dtype=dtype) * 2
        inputs = [t.to(args.device).requires_grad_() for t in (x, w, g)]
        row = dict(batch=args.batch, resolution=res, in_channels=cin, out_channels=cout)
        for name, fn in methods.items():
            with autocast:
                seconds, peak = measure(fn, inputs, args.reps, args.device)
            row[f'{name}_s'], row[f'{name}_peak_bytes'] = seconds, peak
        row['geo_over_conv'] = row['geoconv_s'] / row['conv2d_s']
        row['unfold_over_geo'] = row['unfold_s'] / row['geoconv_s'] if 'unfold_s' in row else None
        row['mem_geo_over_conv'] = row['geoconv_peak_bytes'] / max(row['conv2d_peak_bytes'], 1)
        rows.append(row)
        unfold = f'{row["unfold_s"] * 1e3:10.1f}' if 'unfold_s' in row else f'{"-":>10}'
        ratio = f'{row["unfold_over_geo"]:10.2f}' if row['unfold_over_geo'] else f'{"-":>10}'
        print(f'{str((args.batch, cin, cout, f"{res}x{res}")):>26} {row["conv2d_s"] * 1e3:10.1f}'
              f' {row["geoconv_s"] * 1e3:10.1f} {unfold} {row["geo_over_conv"]:8.2f} {ratio}'
              f' {row["mem_geo_over_conv"]:12.2f}', flush=True)
        del inputs
    total = {k: sum(r[f'{k}_s'] for r in rows) for k in methods}
    summary = dict(geo_over_conv=total['geoconv'] / total['conv2d'])
    if 'unfold' in total:
        summary['unfold_over_geo'] = total['unfold'] / total['geoconv']
    summary['max_mem_geo_over_conv'] = max(r['mem_geo_over_conv'] for r in rows)
    print('all shapes: ' + ', '.join(f'{k} {v:.2f}' for k, v in summary.items()))
    result = dict(device=args.device, amp=args.amp, threads=torch.get_num_threads(),
                  torch=torch.__version__, build=build_info(), rows=rows, summary=summary)
    if args.device == 'cuda':
        result['gpu'] = torch.cuda.get_device_name()
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    tmp = args.out + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(result, f, indent=2)
    os.replace(tmp, args.out)
    print(f'written {args.out}')


if __name__ == '__main__':
    main()
