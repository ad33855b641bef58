"""Train an AU model from a config (MMPretrain's tools/train.py, plus the
plugin).

Examples::

    python tools/train.py configs/geocnn_bp4d_fold1.py
    # resume from the latest checkpoint: the run ends bit-identical to one
    # never interrupted (docs/en/user_guides/resume.md)
    python tools/train.py configs/geocnn_bp4d_fold1.py --resume
    # any fold
    python tools/train.py configs/ablations/vgg19_bp4d.py --fold 2
    # torchrun on 8 GPUs
    bash tools/dist_train.sh configs/geocnn_bp4d_fold1.py 8
"""

import argparse
from urllib.error import URLError

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import geoconv_mm  # noqa: F401  (registers every module)
from geoconv_mm.engine import CheckpointMismatchError, setup_cpu_distributed
from geoconv_mm.engine.pretrained import offline_checkpoint_message
from geoconv_mm.utils import (
    add_config_args,
    add_launcher_args,
    default_work_dir,
    ensure_geo_specs_hook,
    export_local_rank,
    merge_config_args,
    runner_dataloader,
)
from geoconv_mm.utils.config import LOADERS


def parse_args():
    parser = argparse.ArgumentParser(description='Train an AU model')
    add_config_args(parser)
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or (no value) from the latest '
        'checkpoint in the work directory',
    )
    parser.add_argument(
        '--non-strict',
        action='store_true',
        help='load a load_from or --resume checkpoint that does not fit the '
        'model: the layers it lacks keep their initialisation (by default '
        'such a checkpoint is an error that lists the keys)',
    )
    parser.add_argument(
        '--amp', action='store_true', help='automatic mixed precision training'
    )
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate during training',
    )
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by the actual over the base batch size',
    )
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='disable pin_memory in the dataloaders',
    )
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='disable persistent_workers in the dataloaders',
    )
    add_launcher_args(parser)
    args = parser.parse_args()
    export_local_rank(args)
    return args


def merge_args(cfg, args):
    """Merge command line arguments into the config."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    cfg.launcher = args.launcher
    ensure_geo_specs_hook(cfg)
    merge_config_args(cfg, args)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = default_work_dir(args.config, args.fold)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    hooks = cfg.get('default_hooks', None) or {}
    hooks['checkpoint_match'] = dict(
        type='CheckpointMatchHook', strict=not args.non_strict
    )
    cfg.default_hooks = hooks

    for field in LOADERS:
        if cfg.get(field, None) is not None:
            cfg[field] = runner_dataloader(
                cfg[field],
                pin_memory=False if args.no_pin_memory else None,
                persistent_workers=not args.no_persistent_workers,
            )
    return cfg


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
        runner.train()
    except CheckpointMismatchError as err:
        raise SystemExit(f'tools/train.py: {err}') from None
    except URLError as exc:
        # The ImageNet initialisation is fetched when training starts; offline,
        # say which config key to set instead of a urllib traceback.
        message = offline_checkpoint_message(cfg.model, exc)
        if message is None:
            raise
        raise SystemExit(f'tools/train.py: {message}') from None


if __name__ == '__main__':
    main()
