"""Aggregate the three folds of one or more runs into the paper's table layout.

Each fold's result is the ``test_metrics.json`` written by ``tools/test.py``
(give the file or the work dir holding it). Per run and measure: the value per
AU, for each fold and as the mean over folds (the paper's figure), and its
average over AUs. The measures are those the folds' metrics hold:

- F1-frame (``AUF1Metric``): ``table.md`` (mean over folds, one row per run,
  as Tables 1-5), ``folds.csv`` (every fold and the mean) and
  ``f1_per_au.png`` (grouped bars per AU);
- AU intensity (``AUIntensityMetric``): ICC(3,1), Pearson's r and MAE in
  ``intensity_table.md`` (one table each), ``intensity_folds.csv`` and
  ``icc_per_au.png``.

A model with the joint occurrence and intensity head gives both sets::

    python tools/analysis_tools/aggregate_folds.py \\
        --run GeoCNN work_dirs/geocnn_bp4d_fold1 work_dirs/geocnn_bp4d_fold2 \\
                     work_dirs/geocnn_bp4d_fold3 \\
        --run VGG-19 work_dirs/vgg19_bp4d_fold1 work_dirs/vgg19_bp4d_fold2 \\
                     work_dirs/vgg19_bp4d_fold3 \\
        --out-dir results/bp4d_ablation

Averages over AUs skip an AU whose value is undefined (NaN: ICC of a fold
whose labels of that AU are constant, for example); the mean over folds of an
AU skips such folds.
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

#: Measure key (as the metrics write it) -> how it is shown.
MEASURES: Dict[str, dict] = {
    'F1': dict(title='F1-frame (%)', digits=1, ylim=(0, 100)),
    'ICC': dict(title='ICC(3,1)', digits=2, ylim=(-0.2, 1.0)),
    'PCC': dict(title="Pearson's r", digits=2, ylim=(-0.2, 1.0)),
    'MAE': dict(title='MAE (intensity units)', digits=2, ylim=None),
}
INTENSITY = ('ICC', 'PCC', 'MAE')

FoldResult = Dict[str, Tuple[List[str], Dict[str, float]]]


def read_fold(path: str) -> FoldResult:
    """``{measure: (AU names, {AU name: value})}`` of one fold's metrics
    file (or its folder), for every measure of :data:`MEASURES` it holds.
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
    out: FoldResult = {}
    for measure in MEASURES:
        suffix = f'/{measure}'
        prefix = next(
            (k[: -len(suffix)] for k in metrics if k.endswith(suffix)), None
        )
        if prefix is None:
            continue
        head = f'{prefix}/{measure}_'
        names = list(record.get('au_names') or []) or [
            k[len(head) :] for k in metrics if k.startswith(head)
        ]
        missing = [n for n in names if f'{head}{n}' not in metrics]
        if not names or missing:
            raise ValueError(
                f'{path}: per-AU {measure} missing for {missing or "every AU"}'
            )
        out[measure] = (
            names,
            {n: float(metrics[f'{head}{n}']) for n in names},
        )
    if not out:
        raise ValueError(
            f'{path}: no "<prefix>/F1" or "<prefix>/ICC" entry; is it an '
            'AUF1Metric or AUIntensityMetric result?'
        )
    return out


def aggregate(
    runs: Sequence[Tuple[str, Sequence[str]]],
) -> Tuple[Dict[str, List[str]], Dict[str, Dict]]:
    """Every measure that all folds of all runs hold.

    Returns:
        tuple: ``{measure: AU names}`` and ``{measure: {run: {'folds': (F, A)
        array, 'mean': (A,) array, 'paths': [...]}}}``.

    Raises:
        ValueError: folds disagree on their AUs, or a measure is in some
            folds and not in others.
    """
    folds = [
        (run, path, read_fold(path)) for run, paths in runs for path in paths
    ]
    present = [set(f) for _, _, f in folds]
    common = [m for m in MEASURES if all(m in p for p in present)]
    for run, path, result in folds:
        extra = [m for m in result if m not in common]
        if extra:
            lacking = next(p for r, p, f in folds if extra[0] not in f)
            raise ValueError(
                f'{path} has {extra} but {lacking} has not: every fold of '
                'every run needs the same measures'
            )
    names: Dict[str, List[str]] = {}
    tables: Dict[str, Dict] = {m: {} for m in common}
    for measure in common:
        for run, paths in runs:
            rows = []
            for path in paths:
                fold_names, values = read_fold(path)[measure]
                if measure not in names:
                    names[measure] = fold_names
                elif fold_names != names[measure]:
                    raise ValueError(
                        f'{path}: AUs {fold_names} differ from '
                        f'{names[measure]}'
                    )
                rows.append([values[n] for n in names[measure]])
            table = np.asarray(rows, np.float64)
            tables[measure][run] = dict(
                folds=table, mean=_nanmean(table, axis=0), paths=list(paths)
            )
    return names, tables


def _nanmean(values: np.ndarray, axis=None):
    values = np.asarray(values, np.float64)
    count = np.sum(~np.isnan(values), axis=axis)
    total = np.nansum(values, axis=axis)
    return np.divide(
        total,
        count,
        out=np.full(np.shape(total), np.nan),
        where=count > 0,
    )


def _avg(values: np.ndarray) -> float:
    return float(_nanmean(values))


def to_markdown(names: List[str], table: Dict, digits: int = 1) -> str:
    lines = [
        '| Method | ' + ' | '.join(names) + ' | Avg |',
        '|---' * (len(names) + 2) + '|',
    ]
    for run, res in table.items():
        cells = [f'{v:.{digits}f}' for v in res['mean']] + [
            f'{_avg(res["mean"]):.{digits}f}'
        ]
        lines.append(f'| {run} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def to_csv(
    names: List[str], tables: Dict[str, Dict], with_measure: bool = False
) -> str:
    """Every fold and the mean; with ``with_measure`` one block per measure,
    named in a ``measure`` column."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    lead = (
        ['method', 'measure', 'fold'] if with_measure else ['method', 'fold']
    )
    writer.writerow(lead + names + ['Avg'])
    for measure, table in tables.items():
        tag = [measure] if with_measure else []
        for run, res in table.items():
            rows = [(k, row) for k, row in enumerate(res['folds'], 1)]
            for k, row in rows + [('mean', res['mean'])]:
                writer.writerow(
                    [run, *tag, k]
                    + [f'{v:.4f}' for v in row]
                    + [f'{_avg(row):.4f}']
                )
    return buf.getvalue()


def plot(
    names: List[str], table: Dict, path: str, measure: str = 'F1'
) -> None:
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
    ax.set_ylabel(f'{MEASURES[measure]["title"]}, mean over folds')
    if MEASURES[measure]['ylim'] is not None:
        ax.set_ylim(*MEASURES[measure]['ylim'])
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
    names, tables = aggregate([(r[0], r[1:]) for r in args.run])
    written = []
    if 'F1' in tables:
        md = to_markdown(names['F1'], tables['F1'])
        _write_text(osp.join(args.out_dir, 'table.md'), md)
        _write_text(
            osp.join(args.out_dir, 'folds.csv'),
            to_csv(names['F1'], dict(F1=tables['F1'])),
        )
        plot(
            names['F1'], tables['F1'], osp.join(args.out_dir, 'f1_per_au.png')
        )
        print(md, end='')
        written += ['table.md', 'folds.csv', 'f1_per_au.png']
    intensity = {m: tables[m] for m in INTENSITY if m in tables}
    if intensity:
        au = names[next(iter(intensity))]
        md = '\n'.join(
            f'{MEASURES[m]["title"]}, mean over folds\n\n'
            + to_markdown(au, t, MEASURES[m]['digits'])
            for m, t in intensity.items()
        )
        _write_text(osp.join(args.out_dir, 'intensity_table.md'), md)
        _write_text(
            osp.join(args.out_dir, 'intensity_folds.csv'),
            to_csv(au, intensity, with_measure=True),
        )
        written += ['intensity_table.md', 'intensity_folds.csv']
        if 'ICC' in intensity:
            plot(
                au,
                tables['ICC'],
                osp.join(args.out_dir, 'icc_per_au.png'),
                'ICC',
            )
            written.append('icc_per_au.png')
        print(md, end='')
    print(f'wrote {", ".join(written)} to {args.out_dir}')


if __name__ == '__main__':
    main()
