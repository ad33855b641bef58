"""Where the fast backend's time goes: the C++ kernel's own phase timer over
the sample faces of :mod:`geoconv_mm.face.samples`, one core.

The kernel times its phases (triangle topology, rasterisation, the graph
around holes, lifted-segment distances, around-hole paths, Eq. 4) when
``GEOCONV_GEODESIC_PROFILE`` is set, and writes them to stderr; this script
sets it, captures them, and prints the mean of each phase per frame::

    python tools/benchmarks/benchmark_geodesic_phases.py [--calls 60]
"""

import argparse
import collections
import os
import sys
import tempfile

os.environ.setdefault('OMP_NUM_THREADS', '1')

import cv2


def capture_stderr(fn) -> str:
    """What ``fn`` writes to file descriptor 2 (C++ included)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile('w+') as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            fn()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        return tmp.read()


def phase_means(text: str, frames: int) -> dict:
    """Mean ms per frame of each ``<phase> <ms> ms`` line."""
    total = collections.defaultdict(float)
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == 'ms':
            total[parts[0]] += float(parts[1])
    return {k: v / frames for k, v in total.items()}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--calls', type=int, default=60, help='per face')
    args = parser.parse_args(argv)
    import torch

    from geoconv_mm.face.samples import sample_surfaces
    from geoconv_mm.geodesic import compute_geodesic_weights
    from geoconv_mm.ops.geo_spec import GeoSpec

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    specs = [GeoSpec(s) for s in (1, 2, 4, 8, 16)]
    surfaces = sample_surfaces()
    for s in surfaces:  # warm-up: caches and first-call allocations
        compute_geodesic_weights(s, specs)

    def run():
        for s in surfaces:
            for _ in range(args.calls):
                compute_geodesic_weights(s, specs)

    os.environ['GEOCONV_GEODESIC_PROFILE'] = '1'
    try:
        text = capture_stderr(run)
    finally:
        del os.environ['GEOCONV_GEODESIC_PROFILE']
    means = phase_means(text, len(surfaces) * args.calls)
    load = os.getloadavg()
    print(
        f'one core, {len(surfaces)} faces x {args.calls} calls, mean ms '
        f'per frame (load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})'
    )
    for name, ms in means.items():
        print(f'  {name:<10} {ms:7.3f}')
    print(f'  {"total":<10} {sum(means.values()):7.3f}')
    return means


if __name__ == '__main__':
    main()
