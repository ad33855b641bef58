"""Whether two builds of the geodesic kernel give the same bits.

Each source tree computes, in a child process with that tree on its
``PYTHONPATH`` (its Python code and its compiled kernels), the ``fast``
backend's weights and distances of several layer shapes, holes open and
closed, on the same inputs: ``FaceSurface`` records, or the sample faces of
:mod:`geoconv_mm.face.samples` (found by this tree and handed to both as
records); the script then compares the two sets array by array::

    git worktree add /tmp/before HEAD~1   # then build its ops there
    python tools/analysis_tools/compare_geodesic_builds.py \\
        --a /tmp/before --b .
    python tools/analysis_tools/compare_geodesic_builds.py \\
        --a . --b . --env-b GEOCONV_NO_AVX2=1   # vector vs baseline loops

Prints how many arrays differ and the largest difference of each that does;
exits 1 if any differs.
"""

from __future__ import annotations

import argparse
import glob
import os
import os.path as osp
import subprocess
import sys
import tempfile

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: (in_stride, kwargs): the five GeoCNN scales and shapes that exercise the
#: kernel's other paths (two-row mirrors, dilated taps, strided cells).
LAYERS = [(s, {}) for s in (1, 2, 4, 8, 16)] + [
    (1, dict(kernel_size=5)),
    (1, dict(dilation=2)),
    (2, dict(stride=2)),
]


def write_sample_records(folder: str) -> str:
    """This tree's sample faces as ``FaceSurface`` records in ``folder``;
    returns their glob."""
    from geoconv_mm.face.samples import sample_surfaces

    os.makedirs(folder, exist_ok=True)
    for i, surface in enumerate(sample_surfaces()):
        surface.save(osp.join(folder, f'face{i}.npz'))
    return osp.join(folder, 'face*.npz')


def dump(out: str, records: str) -> None:
    """Child: this tree's weights and distances of every record, layer and
    hole setting, to ``out`` (npz)."""
    from geoconv_mm.geodesic import (
        FaceSurface,
        compute_geodesic_distances,
        compute_geodesic_weights,
    )
    from geoconv_mm.ops.geo_spec import GeoSpec

    specs = [GeoSpec(s, **kw) for s, kw in LAYERS]
    arrays = {}
    surfaces = [FaceSurface.load(p) for p in sorted(glob.glob(records))]
    for i, surface in enumerate(surfaces):
        for closed in (False, True):
            kw = dict(backend='fast', close_holes=closed)
            w = compute_geodesic_weights(surface, specs, **kw)
            d = compute_geodesic_distances(surface, specs, **kw)
            for s in specs:
                tag = f'face{i}/closed={closed}/{s.key}'
                arrays[f'{tag}/weights'] = w[s.key]
                arrays[f'{tag}/distances'] = d[s.key]
    np.savez(out, **arrays)


def differences(a: dict, b: dict) -> dict:
    """Name -> largest absolute difference of the arrays that are not the
    same bits (NaN where NaN is equal; inf for a missing array, another shape
    or NaN in one only)."""
    out = {}
    for name in sorted(set(a) | set(b)):
        x, y = a.get(name), b.get(name)
        if x is None or y is None or x.shape != y.shape:
            out[name] = float('inf')
        elif not np.array_equal(x, y, equal_nan=True):
            if not np.array_equal(np.isnan(x), np.isnan(y)):
                out[name] = float('inf')
            else:
                both = ~np.isnan(x)
                out[name] = float(np.max(np.abs(x[both] - y[both])))
    return out


def run_tree(tree: str, out: str, records: str, env: dict) -> dict:
    """The arrays of ``tree`` on ``records``, computed in a child process."""
    cmd = [sys.executable, __file__, '--dump', out, '--records', records]
    child_env = dict(os.environ, PYTHONPATH=osp.abspath(tree), **env)
    subprocess.run(cmd, env=child_env, check=True)
    with np.load(out) as f:
        return {k: f[k] for k in f.files}


def parse_env(items: list) -> dict:
    """``KEY=VALUE`` strings as a dict; ValueError names a malformed one."""
    env = {}
    for item in items:
        key, sep, value = item.partition('=')
        if not sep or not key:
            raise ValueError(f'--env-a/--env-b takes KEY=VALUE, got {item!r}')
        env[key] = value
    return env


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--a', help='baseline source tree')
    parser.add_argument('--b', help='source tree compared')
    parser.add_argument(
        '--records', help='glob of FaceSurface .npz records (default: faces)'
    )
    parser.add_argument('--env-a', action='append', default=[])
    parser.add_argument('--env-b', action='append', default=[])
    parser.add_argument('--dump', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.dump:
        dump(args.dump, args.records)
        return 0
    if not (args.a and args.b):
        parser.error('--a and --b are required')
    for tree in (args.a, args.b):
        if not osp.isdir(osp.join(tree, 'geoconv_mm')):
            parser.error(f'{tree}: not a source tree (no geoconv_mm/ in it)')
    if args.records and not glob.glob(args.records):
        parser.error(f'--records {args.records!r}: no file matches')
    try:
        env_a, env_b = parse_env(args.env_a), parse_env(args.env_b)
    except ValueError as e:
        parser.error(str(e))
    with tempfile.TemporaryDirectory() as tmp:
        records = args.records or write_sample_records(osp.join(tmp, 'faces'))
        a = run_tree(args.a, osp.join(tmp, 'a.npz'), records, env_a)
        b = run_tree(args.b, osp.join(tmp, 'b.npz'), records, env_b)
    diff = differences(a, b)
    print(f'{len(set(a) | set(b))} arrays, {len(diff)} differ')
    for name, d in diff.items():
        print(f'  {name}: max |a - b| {d:.3g}')
    return 1 if diff else 0


if __name__ == '__main__':
    sys.exit(main())
