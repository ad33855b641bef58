"""tools/analysis_tools/aggregate_folds.py: mean over folds in the paper's
table layout.
"""

import csv
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from tests.fixtures.paths import REPO_ROOT as ROOT

TOOL = osp.join(ROOT, 'tools', 'analysis_tools', 'aggregate_folds.py')
NAMES = ['AU1', 'AU2', 'AU4']


def write_fold(folder, f1s):
    metrics = {'au/F1': sum(f1s) / len(f1s)}
    metrics.update({f'au/F1_{n}': v for n, v in zip(NAMES, f1s)})
    metrics.update({f'au/precision_{n}': 0.0 for n in NAMES})
    folder.mkdir(parents=True)
    (folder / 'test_metrics.json').write_text(
        json.dumps(dict(au_names=NAMES, metrics=metrics))
    )
    return str(folder)


def test_table_csv_and_plot(tmp_path):
    a = [
        write_fold(tmp_path / f'a{k}', f)
        for k, f in enumerate([[40, 50, 60], [50, 60, 70], [60, 70, 80]])
    ]
    b = [
        write_fold(tmp_path / f'b{k}', f)
        for k, f in enumerate([[10, 20, 30], [20, 30, 40], [30, 40, 50]])
    ]
    out = tmp_path / 'out'
    res = subprocess.run(
        [
            sys.executable,
            TOOL,
            '--run',
            'GeoCNN',
            *a,
            '--run',
            'VGG-19',
            *b,
            '--out-dir',
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    md = (out / 'table.md').read_text().splitlines()
    assert md[0] == '| Method | AU1 | AU2 | AU4 | Avg |'
    # Means over folds: GeoCNN (50, 60, 70) -> 60; VGG-19 (20, 30, 40) -> 30.
    assert md[2] == '| GeoCNN | 50.0 | 60.0 | 70.0 | 60.0 |'
    assert md[3] == '| VGG-19 | 20.0 | 30.0 | 40.0 | 30.0 |'
    assert md[2] in res.stdout
    rows = list(csv.reader((out / 'folds.csv').open()))
    assert rows[0] == ['method', 'fold', 'AU1', 'AU2', 'AU4', 'Avg']
    assert rows[1][:2] == ['GeoCNN', '1'] and float(rows[1][-1]) == 50.0
    assert rows[4][:2] == ['GeoCNN', 'mean'] and float(rows[4][-1]) == 60.0
    png = (out / 'f1_per_au.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 5000


def test_clear_errors(tmp_path):
    a = [write_fold(tmp_path / f'a{k}', [1, 2, 3]) for k in range(2)]
    res = subprocess.run(
        [
            sys.executable,
            TOOL,
            '--run',
            'X',
            *a,
            '--out-dir',
            str(tmp_path / 'o'),
        ],
        capture_output=True,
        text=True,
    )
    assert (
        res.returncode != 0 and 'has 2 fold results, expected 3' in res.stderr
    )
    res = subprocess.run(
        [
            sys.executable,
            TOOL,
            '--run',
            'X',
            *a,
            str(tmp_path / 'none'),
            '--out-dir',
            str(tmp_path / 'o'),
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode != 0 and 'run tools/test.py' in res.stderr


INT_NAMES = ['AU6', 'AU12']


def write_intensity_fold(folder, icc, pcc, mae, f1=None):
    """A fold of a model with AUIntensityMetric (and, given ``f1``, the
    joint head's AUF1Metric too)."""
    metrics = {}
    for key, values in (('ICC', icc), ('PCC', pcc), ('MAE', mae)):
        metrics[f'au_int/{key}'] = float(np.nanmean(values))
        metrics.update(
            {f'au_int/{key}_{n}': v for n, v in zip(INT_NAMES, values)}
        )
    if f1 is not None:
        metrics['au/F1'] = sum(f1) / len(f1)
        metrics.update({f'au/F1_{n}': v for n, v in zip(INT_NAMES, f1)})
    folder.mkdir(parents=True)
    (folder / 'test_metrics.json').write_text(
        json.dumps(dict(au_names=INT_NAMES, metrics=metrics))
    )
    return str(folder)


def run_tool(*args):
    return subprocess.run(
        [sys.executable, TOOL, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_intensity_folds(tmp_path):
    nan = float('nan')
    folds = [
        write_intensity_fold(
            tmp_path / f'i{k}', icc, pcc, mae, f1=[50 + k, 60 + k]
        )
        for k, (icc, pcc, mae) in enumerate(
            [
                ([0.6, 0.8], [0.7, 0.9], [0.5, 0.2]),
                ([0.3, nan], [0.5, nan], [0.7, 0.2]),
                ([0.9, 0.6], [0.9, 0.7], [0.3, 0.5]),
            ]
        )
    ]
    out = tmp_path / 'out'
    res = run_tool('--run', 'GeoCNN', *folds, '--out-dir', str(out))
    assert res.returncode == 0, res.stderr
    md = (out / 'intensity_table.md').read_text()
    sections = md.split('\n\n')
    assert sections[0] == 'ICC(3,1), mean over folds'
    # ICC per AU over folds: AU6 (0.6 + 0.3 + 0.9) / 3 = 0.6; AU12 skips
    # fold 2's undefined value, (0.8 + 0.6) / 2 = 0.7; Avg 0.65
    assert '| GeoCNN | 0.60 | 0.70 | 0.65 |' in sections[1]
    assert "Pearson's r, mean over folds" in md
    # r: AU6 (0.7 + 0.5 + 0.9) / 3 = 0.7, AU12 0.8; MAE: 0.5, 0.3
    assert '| GeoCNN | 0.70 | 0.80 | 0.75 |' in md
    assert '| GeoCNN | 0.50 | 0.30 | 0.40 |' in md
    rows = list(csv.reader((out / 'intensity_folds.csv').open()))
    assert rows[0] == ['method', 'measure', 'fold', 'AU6', 'AU12', 'Avg']
    icc = [r for r in rows[1:] if r[1] == 'ICC']
    assert [r[2] for r in icc] == ['1', '2', '3', 'mean']
    assert icc[1][4] == 'nan' and float(icc[1][5]) == 0.3
    assert float(icc[3][3]) == pytest.approx(0.6)
    assert (out / 'icc_per_au.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    # the joint head's F1 comes out as ever
    table = (out / 'table.md').read_text().splitlines()
    assert table[2] == '| GeoCNN | 51.0 | 61.0 | 56.0 |'
    assert 'intensity_table.md' in res.stdout and 'table.md' in res.stdout


def test_intensity_only_runs_and_mixed_measures(tmp_path):
    only = [
        write_intensity_fold(
            tmp_path / f'o{k}', [0.5, 0.5], [0.5, 0.5], [1, 1]
        )
        for k in range(3)
    ]
    out = tmp_path / 'out'
    res = run_tool('--run', 'Int', *only, '--out-dir', str(out))
    assert res.returncode == 0, res.stderr
    assert not (out / 'table.md').exists()
    assert (out / 'intensity_table.md').exists()
    f1 = [write_fold(tmp_path / f'f{k}', [1, 2, 3]) for k in range(3)]
    res = run_tool(
        '--run', 'Int', *only, '--run', 'F1', *f1, '--out-dir', str(out)
    )
    assert res.returncode != 0
    assert 'every fold of every run needs the same measures' in res.stderr
    empty = tmp_path / 'e'
    empty.mkdir()
    (empty / 'test_metrics.json').write_text(json.dumps(dict(metrics={})))
    res = run_tool(
        '--run', 'X', str(empty), str(empty), str(empty), '--out-dir', str(out)
    )
    assert res.returncode != 0
    assert 'AUF1Metric or AUIntensityMetric result' in res.stderr
