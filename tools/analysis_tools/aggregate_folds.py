"""Aggregate the three folds of one or more runs into the paper's table layout.

Each fold's result is the ``test_metrics.json`` written by ``tools/test.py``
(give the file or the work dir holding it). Per run: F1-frame per AU and its
average over AUs, for each fold and as the mean over folds (the paper's
figure). Writes ``table.md`` (mean over folds, one row per run, as Tables 1-5),
``folds.csv`` (every fold and the mean) and ``f1_per_au.png`` (grouped bars per
AU)::

    python tools/analysis_tools/aggregate_folds.py \\
        --run GeoCNN work_dirs/geocnn_bp4d_fold1 work_dirs/geocnn_bp4d_fold2 \\
                     work_dirs/geocnn_bp4d_fold3 \\
        --run VGG-19 work_dirs/vgg19_bp4d_fold1 work_dirs/vgg19_bp4d_fold2 \\
                     work_dirs/vgg19_bp4d_fold3 \\
        --out-dir results/bp4d_ablation
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import numpy as np

METRICS_FILE = 'test_metrics.json'


def read_fold(path: str) -> Tuple[List[str], Dict[str, float]]:
    """(AU names, {AU name: F1 %}) of one fold's metrics file
    (or its folder).
    """
    if osp.isdir(path):
        path = osp.join(path, METRICS_FILE)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'no fold result at {path}: run tools/test.py on the '
            'fold first (it writes <work_dir>/test_metrics.json)'
        )
    with open(path) as f:
        record = json.load(f)
    metrics = record.get('metrics', record)
    prefix = next(
        (k[: -len('/F1')] for k in metrics if k.endswith('/F1')), None
    )
    if prefix is None:
        raise ValueError(
            f'{path}: no "<prefix>/F1" entry; is it an AUF1Metric result?'
        )
    names = list(record.get('au_names') or [])
    if not names:
        names = [
            k[len(prefix) + 4 :]
            for k in metrics
            if k.startswith(f'{prefix}/F1_')
        ]
    missing = [n for n in names if f'{prefix}/F1_{n}' not in metrics]
    if not names or missing:
        raise ValueError(
            f'{path}: per-AU F1 missing for {missing or "every AU"}'
        )
    return names, {n: float(metrics[f'{prefix}/F1_{n}']) for n in names}


def aggregate(
    runs: Sequence[Tuple[str, Sequence[str]]],
) -> Tuple[List[str], Dict]:
    """Returns (AU names, {run: {'folds': (F, A) array, 'mean': (A,)
    array}}).
    """
    names, table = None, {}
    for run, paths in runs:
        rows = []
        for path in paths:
            fold_names, f1 = read_fold(path)
            if names is None:
                names = fold_names
            elif fold_names != names:
                raise ValueError(
                    f'{path}: AUs {fold_names} differ from {names}'
                )
            rows.append([f1[n] for n in names])
        folds = np.asarray(rows, np.float64)
        table[run] = dict(
            folds=folds, mean=np.nanmean(folds, axis=0), paths=list(paths)
        )
    return names, table


def _avg(values: np.ndarray) -> float:
    return float(np.nanmean(values))


def to_markdown(names: List[str], table: Dict) -> str:
    lines = [
        '| Method | ' + ' | '.join(names) + ' | Avg |',
        '|---' * (len(names) + 2) + '|',
    ]
    for run, res in table.items():
        cells = [f'{v:.1f}' for v in res['mean']] + [
            f'{_avg(res["mean"]):.1f}'
        ]
        lines.append(f'| {run} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def to_csv(names: List[str], table: Dict) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(['method', 'fold'] + names + ['Avg'])
    for run, res in table.items():
        for k, row in enumerate(res['folds'], 1):
            writer.writerow(
                [run, k] + [f'{v:.4f}' for v in row] + [f'{_avg(row):.4f}']
            )
        writer.writerow(
            [run, 'mean']
            + [f'{v:.4f}' for v in res['mean']]
            + [f'{_avg(res["mean"]):.4f}']
        )
    return buf.getvalue()


def plot(names: List[str], table: Dict, path: str) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    labels = names + ['Avg']
    x = np.arange(len(labels))
    width = 0.8 / max(len(table), 1)
    fig, ax = plt.subplots(
        figsize=(max(6, 0.7 * len(labels) * max(1, len(table) / 2)), 4)
    )
    for i, (run, res) in enumerate(table.items()):
        values = list(res['mean']) + [_avg(res['mean'])]
        ax.bar(x - 0.4 + width * (i + 0.5), values, width, label=run)
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=45 if len(labels) > 10 else 0)
    ax.set_ylabel('F1-frame (%), mean over folds')
    ax.set_ylim(0, 100)
    ax.grid(axis='y', alpha=0.3)
    ax.legend()
    fig.tight_layout()
    _atomic(path, lambda tmp: fig.savefig(tmp, dpi=120, format='png'))
    plt.close(fig)


def _atomic(path: str, write) -> None:
    from geoconv_mm.utils.atomic_io import atomic_path

    with atomic_path(path, '.tmp' + osp.splitext(path)[1]) as tmp:
        write(tmp)


def _write_text(path: str, text: str) -> None:
    def write(tmp):
        with open(tmp, 'w', newline='') as f:
            f.write(text)

    _atomic(path, write)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--run',
        nargs='+',
        action='append',
        required=True,
        metavar=('NAME', 'FOLD'),
        help='a method name then its fold results (test_metrics.json '
        'files or work dirs); repeat for more methods',
    )
    parser.add_argument(
        '--out-dir', required=True, help='folder for the outputs'
    )
    parser.add_argument(
        '--folds',
        type=int,
        default=3,
        help='number of folds each run must have (default 3)',
    )
    args = parser.parse_args(argv)
    for run in args.run:
        if len(run) != args.folds + 1:
            parser.error(
                f'--run {run[0]} has {len(run) - 1} fold results, expected '
                f'{args.folds}'
            )
    return args


def main(argv=None):
    args = parse_args(argv)
    names, table = aggregate([(r[0], r[1:]) for r in args.run])
    md = to_markdown(names, table)
    _write_text(osp.join(args.out_dir, 'table.md'), md)
    _write_text(osp.join(args.out_dir, 'folds.csv'), to_csv(names, table))
    plot(names, table, osp.join(args.out_dir, 'f1_per_au.png'))
    print(md, end='')
    print(f'wrote table.md, folds.csv and f1_per_au.png to {args.out_dir}')


if __name__ == '__main__':
    main()
