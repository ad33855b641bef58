"""A/B of the BP4D train and test pipelines of two source trees, alternated
round by round within one run.

Each tree gets a worker process with that tree on its ``PYTHONPATH`` (its
Python code and its compiled kernels) that builds the config's pipelines on
one tree prepared by ``benchmark_pipeline.py``. The workers take turns, one
pass over a split at a time, in the order A B, B A, ...; only one runs at a
time. Drift of the machine's speed, which on a shared host can exceed the
difference being measured, then hits both alike, and the figure is the median
over rounds of the per-round ratio B / A::

    git worktree add /tmp/before HEAD~1   # then build its ops there
    python tools/benchmarks/benchmark_pipeline_ab.py --a /tmp/before --b . \\
        --rounds 40

Prints, per split, both trees' median ms per sample and per transform, the
median ratio with its quartiles, and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
SPLITS = ('train', 'test')


def serve(config: str, data_root: str) -> None:
    """Worker: build both pipelines, then answer one JSON line per split
    named on stdin (ms per sample and per transform of one pass).

    Runs as this script (``--serve``), so its folder is on ``sys.path``
    first and ``benchmark_pipeline`` is this tree's."""
    import cv2
    import numpy as np
    import torch
    from benchmark_pipeline import build_dataset, config_geo_specs, run_round

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    np.random.seed(0)  # both trees draw the same flips and colour factors
    specs = config_geo_specs(config)
    datasets = {s: build_dataset(config, data_root, s, specs) for s in SPLITS}
    for ds in datasets.values():  # warm-up: imports, first-call allocations
        run_round(ds)
    print('ready', flush=True)
    for line in sys.stdin:
        ds = datasets[line.strip()]
        for t in ds.pipeline.transforms:
            t.times.clear()
        ms = run_round(ds) * 1000
        stages = {
            t.name: statistics.median(t.times) * 1000
            for t in ds.pipeline.transforms
        }
        print(json.dumps(dict(ms=ms, stages=stages)), flush=True)


class Worker:
    """A worker process of one tree."""

    def __init__(self, tree: str, config: str, data_root: str) -> None:
        env = dict(
            os.environ,
            PYTHONPATH=osp.abspath(tree),
            OMP_NUM_THREADS='1',
        )
        self.tree = tree
        self.proc = subprocess.Popen(
            [sys.executable, __file__, '--serve', config, data_root],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        self._expect('ready')

    def _expect(self, what: str) -> str:
        for line in self.proc.stdout:
            if line.startswith(what) or line.startswith('{'):
                return line
        raise RuntimeError(
            f'the worker of {self.tree} exited ({self.proc.wait()}) before '
            f'answering; run it with PYTHONPATH={self.tree} to see why'
        )

    def round(self, split: str) -> dict:
        self.proc.stdin.write(split + '\n')
        self.proc.stdin.flush()
        return json.loads(self._expect('{'))

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def prepare(work_dir: str, frames: int) -> str:
    """The BP4D tree of ``benchmark_pipeline.py``, prepared by that script
    in ``work_dir``; returns its data root."""
    os.makedirs(work_dir, exist_ok=True)
    done = subprocess.run(
        [
            sys.executable,
            osp.join(HERE, 'benchmark_pipeline.py'),
            '--prepare-only',
            '--work-dir',
            work_dir,
            '--frames',
            str(frames),
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(
            f'preparing the benchmark tree in {work_dir} failed:\n'
            f'{done.stderr[-2000:]}'
        )
    return done.stdout.strip().splitlines()[-1]


def summarise(a: list, b: list) -> dict:
    """Medians of both trees, and the median and quartiles of the per-round
    ratio b / a."""
    ratios = sorted(rb['ms'] / ra['ms'] for ra, rb in zip(a, b))
    q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    stages = {
        name: [
            statistics.median(r['stages'][name] for r in runs)
            for runs in (a, b)
        ]
        for name in a[0]['stages']
    }
    return dict(
        ms=[statistics.median(r['ms'] for r in runs) for runs in (a, b)],
        ratio=statistics.median(ratios),
        ratio_quartiles=[q[0], q[2]],
        stages_ms=stages,
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--a', required=True, help='baseline source tree')
    parser.add_argument('--b', required=True, help='source tree compared')
    parser.add_argument(
        '--config', default=osp.join(ROOT, 'configs', 'geocnn_bp4d_fold1.py')
    )
    parser.add_argument('--frames', type=int, default=24)
    parser.add_argument('--rounds', type=int, default=40)
    parser.add_argument('--work-dir', default=None)
    parser.add_argument('--out', default=None)
    args = parser.parse_args(argv)
    for tree in (args.a, args.b):
        if not osp.isdir(osp.join(tree, 'geoconv_mm')):
            parser.error(f'{tree}: not a source tree (no geoconv_mm/ in it)')

    with tempfile.TemporaryDirectory() as tmp:
        data_root = prepare(args.work_dir or tmp, args.frames)
        workers = [Worker(t, args.config, data_root) for t in (args.a, args.b)]
        runs = {s: ([], []) for s in SPLITS}
        loads = []
        try:
            for r in range(args.rounds):
                order = (0, 1) if r % 2 == 0 else (1, 0)
                for split in SPLITS:
                    for i in order:
                        runs[split][i].append(workers[i].round(split))
                loads.append(os.getloadavg()[0])
        finally:
            for w in workers:
                w.close()
    print(
        f'A = {args.a}, B = {args.b}; one core each, {args.rounds} rounds '
        f'alternated; load average {min(loads):.2f}-{max(loads):.2f}'
    )
    result = dict(a=args.a, b=args.b, rounds=args.rounds, load_average=loads)
    for split in SPLITS:
        s = summarise(*runs[split])
        result[split] = s
        print(
            f'\n{split}: A {s["ms"][0]:.2f} ms, B {s["ms"][1]:.2f} ms per '
            f'sample; B / A {s["ratio"]:.3f} (quartiles '
            f'{s["ratio_quartiles"][0]:.3f}-{s["ratio_quartiles"][1]:.3f})'
        )
        for name, (ta, tb) in s['stages_ms'].items():
            print(f'  {name:<26} {ta:7.3f} {tb:7.3f} ms')
    if args.out:
        from geoconv_mm.utils.atomic_io import atomic_write_json

        atomic_write_json(args.out, result, indent=1)
        print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    if len(sys.argv) == 4 and sys.argv[1] == '--serve':
        serve(sys.argv[2], sys.argv[3])
    else:
        sys.exit(main())
