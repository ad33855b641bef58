"""tools/analysis_tools/aggregate_folds.py: mean over folds in the paper's
table layout.
"""

import csv
import json
import os.path as osp
import subprocess
import sys

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
