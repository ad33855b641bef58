"""Config functions shared by the train, test and print_config tools."""

from __future__ import annotations

import argparse
import os
import os.path as osp
import re
from typing import Optional

from mmengine.config import Config, ConfigDict, DictAction

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def set_fold(cfg: Config, fold: int) -> Config:
    """Points every dataloader of ``cfg`` at protocol fold ``fold``.

    One config file per model then serves all folds of the 3-fold protocol
    (``tools/train.py CONFIG --fold 2``).

    Args:
        cfg (Config): A config whose dataloaders' datasets take ``fold``.
        fold (int): 1, 2 or 3.

    Returns:
        Config: ``cfg``, changed in place.
    """
    if fold not in (1, 2, 3):
        raise ValueError(f'fold must be 1, 2 or 3, got {fold!r}')
    for name in LOADERS:
        loader = cfg.get(name, None)
        if loader is None:
            continue
        if 'fold' not in loader.dataset:
            raise KeyError(
                f'{name}.dataset ({loader.dataset.get("type")}) has '
                'no fold to set'
            )
        loader.dataset.fold = fold
    return cfg


def add_config_args(parser: argparse.ArgumentParser) -> None:
    """Adds the config file, ``--fold`` and ``--cfg-options`` arguments that
    the tools reading one config share.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
    """
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--fold',
        type=int,
        choices=(1, 2, 3),
        help="protocol fold of every dataloader (default: the config's); "
        'a default work dir then ends in _fold<k>',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value (e.g. '
        'train_dataloader.batch_size=16)',
    )


def load_config(args: argparse.Namespace) -> Config:
    """The config of :func:`add_config_args`' arguments: the file, then
    :func:`merge_config_args`.

    Args:
        args (argparse.Namespace): Parsed ``config``, ``fold`` and
            ``cfg_options``.

    Returns:
        Config: The merged config.
    """
    cfg = Config.fromfile(args.config)
    return merge_config_args(cfg, args)


def merge_config_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Sets ``--fold``, then merges ``--cfg-options``, so an explicit option
    wins over the fold's settings.

    Args:
        cfg (Config): The config read from ``args.config``.
        args (argparse.Namespace): Parsed ``fold`` and ``cfg_options``.

    Returns:
        Config: ``cfg``, changed in place.
    """
    if args.fold is not None:
        set_fold(cfg, args.fold)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def add_launcher_args(parser: argparse.ArgumentParser) -> None:
    """Adds ``--launcher`` and the ``--local-rank`` that
    ``torch.distributed.launch`` passes (torchrun sets ``LOCAL_RANK``).

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
    """
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher',
    )
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def export_local_rank(args: argparse.Namespace) -> None:
    """Exports ``--local-rank`` as ``LOCAL_RANK`` unless the launcher did.

    Args:
        args (argparse.Namespace): Parsed ``local_rank``.
    """
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))


def runner_dataloader(
    loader: dict,
    pin_memory: Optional[bool] = None,
    persistent_workers: bool = True,
) -> ConfigDict:
    """A dataloader config with the Runner defaults the tools share: pinned
    memory on CUDA machines, persistent workers when there are workers, and
    torch's default collate. The config's own settings win.

    Args:
        loader (dict): The config's dataloader.
        pin_memory (bool, optional): Forces pinned memory on or off; None
            means on when CUDA is available.
        persistent_workers (bool): False forces persistent workers off.

    Returns:
        ConfigDict: The completed dataloader config.
    """
    import torch

    merged = ConfigDict(
        pin_memory=torch.cuda.is_available(),
        persistent_workers=True,
        collate_fn=dict(type='default_collate'),
    )
    merged.update(loader)
    if pin_memory is not None:
        merged['pin_memory'] = pin_memory
    # torch refuses persistent workers without workers.
    if not persistent_workers or merged.get('num_workers', 0) == 0:
        merged['persistent_workers'] = False
    return merged


def default_work_dir(config_path: str, fold: Optional[int] = None) -> str:
    """``work_dirs/<config name>``; with ``fold``, the name ends in
    ``_fold<k>`` (replacing a ``_fold<k>`` the name already has)."""
    name = osp.splitext(osp.basename(config_path))[0]
    if fold is not None:
        name = re.sub(r'_fold\d+$', '', name) + f'_fold{fold}'
    return osp.join('./work_dirs', name)


def ensure_geo_specs_hook(cfg: Config) -> Config:
    """Adds ``GeoSpecsHook`` to ``cfg.custom_hooks`` unless it is there.

    A config that replaces ``custom_hooks`` would otherwise leave
    ``GenerateGeodesicWeights(specs='auto')`` without specs.

    Args:
        cfg (Config): A runner config.

    Returns:
        Config: ``cfg``, changed in place.
    """
    hooks = list(cfg.get('custom_hooks', None) or [])
    if not any(h.get('type') == 'GeoSpecsHook' for h in hooks):
        hooks.insert(0, dict(type='GeoSpecsHook'))
    cfg.custom_hooks = hooks
    return cfg
