"""Hands the training split's AU statistics (Eq. 6) to the model's losses."""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np
from mmengine.dataset import ConcatDataset
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


def find_au_statistics(dataset) -> Optional[Dict[str, np.ndarray]]:
    """``get_au_statistics()`` of ``dataset``, looking through dataset
    wrappers.

    A :class:`mmengine.dataset.ConcatDataset` sums its parts' counts; other
    wrappers (``RepeatDataset``, ``ClassBalancedDataset``...) are unwrapped
    through ``.dataset``. Returns None when no dataset provides statistics.
    """
    if hasattr(dataset, 'get_au_statistics'):
        stats = dataset.get_au_statistics()
        return {
            k: np.asarray(stats[k], np.int64)
            for k in ('num_known', 'num_positive')
        }
    if isinstance(dataset, ConcatDataset):
        parts = [find_au_statistics(d) for d in dataset.datasets]
        if any(p is None for p in parts):
            return None
        return {k: np.sum([p[k] for p in parts], axis=0) for k in parts[0]}
    inner = getattr(dataset, 'dataset', None)
    return find_au_statistics(inner) if inner is not None else None


@HOOKS.register_module()
class AUStatisticsHook(Hook):
    """Before training, count known/positive labels per AU on the training
    split and call ``set_statistics`` on every loss of the model that has it
    (:class:`AUBalancedBCELoss`).

    Statistics are recomputed at every start, resumes included, from the split
    the run actually trains on, so they cannot drift from the data. Training
    stops with an error when a loss needs statistics and the training dataset
    cannot give them.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        model = (
            runner.model.module
            if is_model_wrapper(runner.model)
            else runner.model
        )
        losses = [m for m in model.modules() if hasattr(m, 'set_statistics')]
        if not losses:
            runner.logger.warning(
                'AUStatisticsHook: the model has no loss that takes AU '
                'statistics; nothing to do'
            )
            return
        dataset = runner.train_dataloader.dataset
        stats = find_au_statistics(dataset)
        if stats is None:
            if any(getattr(m, 'requires_statistics', True) for m in losses):
                raise RuntimeError(
                    'AUStatisticsHook: the training dataset '
                    f'({type(dataset).__name__}) has no get_au_statistics(), '
                    'but the balanced loss (Eq. 5-6) needs per-AU counts of '
                    'the training split; use an AUDataset or set '
                    'use_balanced_weights=False'
                )
            return
        for loss in losses:
            loss.set_statistics(stats['num_known'], stats['num_positive'])
        names = (getattr(dataset, 'metainfo', None) or {}).get('classes') or [
            str(i) for i in range(len(stats['num_known']))
        ]
        rows = ', '.join(
            f'{n}: {p}/{k}'
            for n, p, k in zip(
                names, stats['num_positive'], stats['num_known']
            )
        )
        runner.logger.info(
            f'AU statistics of the training split (positive/known): {rows}'
        )
