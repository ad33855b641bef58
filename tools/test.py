"""Evaluate a checkpoint on a config's test split (MMPretrain's tools/test.py,
plus the plugin), and write the metrics as JSON for
tools/analysis_tools/aggregate_folds.py.

Example::

    python tools/test.py configs/geocnn_bp4d_fold1.py \\
        work_dirs/geocnn_bp4d_fold1/epoch_14.pth
    # -> work_dirs/geocnn_bp4d_fold1/test_metrics.json

A checkpoint whose weights do not fit the config's model (missing,
unexpected or reshaped keys) is an error that lists them; ``--non-strict``
loads the part that fits.

F1 per head yaw on SynthAU (its annotations carry ``pose``: yaw, pitch, roll in
degrees)::

    python tools/test.py configs/geocnn_synthau_demo.py CKPT \\
        --meta-keys pose --out work_dirs/geocnn_synthau_demo/preds.pkl
    python tools/analysis_tools/au_f1_by_pose.py \\
        work_dirs/geocnn_synthau_demo/preds.pkl --yaw-key pose --yaw-index 0 \\
        --yaw-unit deg
"""

import argparse
import os.path as osp

from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import geoconv_mm  # noqa: F401  (registers every module)
from geoconv_mm.datasets.transforms import add_meta_keys
from geoconv_mm.engine import CheckpointMismatchError, setup_cpu_distributed
from geoconv_mm.utils import (
    add_config_args,
    add_launcher_args,
    default_work_dir,
    ensure_geo_specs_hook,
    export_local_rank,
    merge_config_args,
    runner_dataloader,
)


def parse_args():
    parser = argparse.ArgumentParser(description='Evaluate an AU model')
    add_config_args(parser)
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the dir for logs and the metrics file'
    )
    parser.add_argument(
        '--metrics-out',
        help='JSON file for the metrics (default: '
        '<work_dir>/test_metrics.json)',
    )
    parser.add_argument(
        '--out', help='dump every prediction to this pickle file'
    )
    parser.add_argument(
        '--non-strict',
        action='store_true',
        help='load a checkpoint that does not fit the model: the layers it '
        'lacks keep their initialisation (by default such a checkpoint is '
        'an error that lists the keys)',
    )
    parser.add_argument(
        '--meta-keys',
        nargs='+',
        default=None,
        help='annotation fields to keep in the test data samples, so that '
        'the --out dump carries them (e.g. pose)',
    )
    add_launcher_args(parser)
    args = parser.parse_args()
    export_local_rank(args)
    return args


def merge_args(cfg, args):
    cfg.launcher = args.launcher
    ensure_geo_specs_hook(cfg)
    merge_config_args(cfg, args)
    if args.meta_keys:
        add_meta_keys(cfg, args.meta_keys)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = default_work_dir(args.config, args.fold)
    cfg.load_from = args.checkpoint
    hooks = cfg.get('default_hooks', None) or {}
    hooks['checkpoint_match'] = dict(
        type='CheckpointMatchHook', strict=not args.non_strict
    )
    cfg.default_hooks = hooks
    cfg.test_dataloader = runner_dataloader(cfg.test_dataloader)
    if args.out:
        cfg.test_evaluator = (
            list(cfg.test_evaluator)
            if isinstance(cfg.test_evaluator, (list, tuple))
            else [cfg.test_evaluator]
        )
        cfg.test_evaluator.append(
            dict(type='DumpResults', out_file_path=args.out)
        )
    return cfg


def write_json(path: str, obj: dict) -> None:
    """Write atomically: a temp file in the same folder, then os.replace."""
    from geoconv_mm.utils.atomic_io import atomic_write_json

    atomic_write_json(path, obj, indent=2)


def main():
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    setup_cpu_distributed(cfg, args.launcher)
    runner = (
        Runner.from_cfg(cfg)
        if 'runner_type' not in cfg
        else RUNNERS.build(cfg)
    )
    try:
        metrics = runner.test()
    except CheckpointMismatchError as err:
        raise SystemExit(f'tools/test.py: {err}') from None
    if is_main_process():
        path = args.metrics_out or osp.join(cfg.work_dir, 'test_metrics.json')
        write_json(
            path,
            dict(
                config=osp.abspath(args.config),
                checkpoint=osp.abspath(args.checkpoint),
                au_names=list(
                    runner.test_dataloader.dataset.metainfo.get('classes', ())
                ),
                metrics={k: float(v) for k, v in metrics.items()},
            ),
        )
        runner.logger.info(f'metrics written to {path}')


if __name__ == '__main__':
    main()
