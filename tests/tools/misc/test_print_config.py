"""tools/misc/print_config.py prints the merged config, with --fold and
--cfg-options applied."""

import os.path as osp
import subprocess
import sys

from mmengine.config import Config

from tests.fixtures.paths import REPO_ROOT as ROOT

TOOL = osp.join(ROOT, 'tools', 'misc', 'print_config.py')
CONFIG = osp.join(ROOT, 'configs', 'geocnn_bp4d_fold1.py')


def run_tool(tmp_path, *args):
    result = subprocess.run(
        [sys.executable, TOOL, CONFIG, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={'PYTHONPATH': ROOT, 'PATH': '/usr/bin:/bin'},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = tmp_path / 'printed.py'
    out.write_text(result.stdout)
    return Config.fromfile(str(out))


def test_printed_config_is_the_merged_config(tmp_path):
    printed = run_tool(tmp_path)
    merged = Config.fromfile(CONFIG)
    assert printed.model.to_dict() == merged.model.to_dict()
    assert (
        printed.train_dataloader.dataset.fold
        == merged.train_dataloader.dataset.fold
    )


def test_fold_and_cfg_options_are_applied(tmp_path):
    printed = run_tool(
        tmp_path,
        '--fold',
        '3',
        '--cfg-options',
        'train_dataloader.batch_size=5',
    )
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if printed.get(name) is not None:
            assert printed[name].dataset.fold == 3
    assert printed.train_dataloader.batch_size == 5
