"""Wall time of a SynthAU build in this process against spawned workers.

Builds the default SynthAU (the quick start's data) from scratch into
temporary folders, serial and parallel in turn, ``--rounds`` times each, so
that load on a shared machine hits both alike; the base face is reconstructed
once and shared, as a resumed build would. Checks that both builds hold the
same files, then prints the median wall time of each, their ratio and the load
average beside every figure::

    python tools/benchmarks/benchmark_synthau_build.py --workers 2
"""

from __future__ import annotations

import argparse
import filecmp
import os
import os.path as osp
import shutil
import statistics
import tempfile
import time

from geoconv_mm.datasets.synthau import SynthAUSpec, generate_synthau
from geoconv_mm.datasets.synthau.face_model import reconstruct_base_face


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--rounds', type=int, default=1)
    parser.add_argument(
        '--num-subjects',
        type=int,
        default=SynthAUSpec.num_subjects,
        help='a smaller build than the default, for a quick check',
    )
    return parser.parse_args()


def timed_build(root: str, spec: SynthAUSpec, base: str, workers: int):
    out = osp.join(root, spec.key)
    os.makedirs(out)
    shutil.copy(base, osp.join(out, 'base_face.npz'))
    start = time.perf_counter()
    generate_synthau(root, spec, progress=False, num_workers=workers)
    return time.perf_counter() - start, out


def same_files(a: str, b: str) -> bool:
    cmp = filecmp.dircmp(a, b)
    pending = [cmp]
    while pending:
        c = pending.pop()
        _, mismatch, errors = filecmp.cmpfiles(
            c.left, c.right, c.common_files, shallow=False
        )
        if c.left_only or c.right_only or mismatch or errors:
            return False
        pending += c.subdirs.values()
    return True


def main() -> None:
    args = parse_args()
    spec = SynthAUSpec(num_subjects=args.num_subjects)
    times: dict = {1: [], args.workers: []}
    with tempfile.TemporaryDirectory() as tmp:
        base = osp.join(tmp, 'base_face.npz')
        reconstruct_base_face().save(base)
        for r in range(args.rounds):
            outs = {}
            for workers in (1, args.workers):
                root = osp.join(tmp, f'r{r}_w{workers}')
                seconds, outs[workers] = timed_build(root, spec, base, workers)
                times[workers].append(seconds)
                print(
                    f'round {r}: {workers} worker(s) {seconds:6.1f} s  '
                    f'(load average {os.getloadavg()[0]:.2f})'
                )
            if not same_files(outs[1], outs[args.workers]):
                raise SystemExit('the parallel build differs from the serial')
            for out in outs.values():
                shutil.rmtree(osp.dirname(out))
    serial = statistics.median(times[1])
    parallel = statistics.median(times[args.workers])
    print(
        f'{spec.key}: serial {serial:.1f} s, {args.workers} workers '
        f'{parallel:.1f} s, ratio {parallel / serial:.2f} '
        f'(load average {os.getloadavg()[0]:.2f})'
    )


if __name__ == '__main__':
    main()
