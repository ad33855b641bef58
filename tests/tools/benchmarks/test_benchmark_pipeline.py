"""A tiny run of the pipeline benchmark and the structure of its report."""

import json
import os.path as osp

import pytest
from mmengine.config import Config

from tests.fixtures.paths import REPO_ROOT as ROOT
from tests.fixtures.tools import load_tool

TOOL = osp.join(ROOT, 'tools', 'benchmarks', 'benchmark_pipeline.py')
CONFIG = osp.join(ROOT, 'configs', 'geocnn_bp4d_fold1.py')


@pytest.fixture(scope='module')
def tool():
    return load_tool(TOOL)


def pipeline_names(split: str) -> list:
    cfg = Config.fromfile(CONFIG)
    loader = cfg.train_dataloader if split == 'train' else cfg.test_dataloader
    return [t['type'].split('.')[-1] for t in loader.dataset.pipeline]


def test_tiny_run_reports_every_split_and_stage(tool, tmp_path, capsys):
    out = tmp_path / 'figures.json'
    argv = ['--frames', '2', '--rounds', '1', '--images-per-s', '1000']
    argv += ['--work-dir', str(tmp_path / 'tree'), '--out', str(out)]
    assert tool.main(argv) == 0
    with open(out) as f:
        result = json.load(f)
    assert result['rounds'] == 1 and len(result['load_average']) == 1
    rates = {'train': 1000.0, 'test': 3000.0}
    printed = capsys.readouterr().out
    for split, rate in rates.items():
        fig = result[split]
        assert fig['samples'] >= 1
        ms = fig['ms_per_sample']
        assert ms > 0
        assert fig['samples_per_s_per_core'] == pytest.approx(1000 / ms)
        assert fig['images_per_s'] == rate
        assert fig['loader_cores'] == pytest.approx(rate * ms / 1000)
        assert list(fig['stages_ms']) == pipeline_names(split)
        assert all(v >= 0 for v in fig['stages_ms'].values())
        assert f'{split}: {fig["samples"]} samples' in printed
