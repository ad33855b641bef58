"""The per-AU F1 chart saved after every validation."""

from __future__ import annotations

import os.path as osp
import re
from typing import Dict, Optional

import numpy as np
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


def plot_au_f1(
    f1: Dict[str, float],
    path: str,
    title: str,
    baseline: Optional[Dict[str, float]] = None,
) -> None:
    """Bar chart of per-AU F1 (percent), optionally beside a baseline, to
    ``path``.

    Args:
        f1 (dict): AU name -> F1 in percent.
        path (str): PNG to write (atomically).
        title (str): Figure title.
        baseline (dict, optional): AU name -> F1 of a reference (e.g. the
            all-positive predictor), drawn as a second bar.
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from geoconv_mm.utils.atomic_io import atomic_path

    names = list(f1)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * len(names) + 2), 3.6))
    width = 0.4 if baseline else 0.7
    ax.bar(
        x - (width / 2 if baseline else 0),
        [f1[n] for n in names],
        width,
        label='model',
        color='tab:blue',
    )
    if baseline:
        ax.bar(
            x + width / 2,
            [baseline.get(n, 0.0) for n in names],
            width,
            label='predict all present',
            color='tab:gray',
        )
        ax.legend(loc='upper left', bbox_to_anchor=(1.0, 1.0), fontsize=8)
    ax.set_xticks(x, names, rotation=45, fontsize=8)
    ax.set_ylabel('F1 (%)')
    ax.set_ylim(0, 100)
    ax.set_title(title, fontsize=10)
    ax.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    with atomic_path(path, '.tmp.png') as tmp:
        fig.savefig(tmp, dpi=110, format='png')
    plt.close(fig)


@HOOKS.register_module()
class AUF1ChartHook(Hook):
    """After each validation, save ``au_f1.png`` (per-AU F1 bars, the mean in
    the title, and beside them the F1 of predicting every AU present, when the
    validation dataset gives AU statistics) in the run's log folder and log
    where it went.

    Reads the ``<prefix>/F1_<AU>`` keys written by :class:`AUF1Metric`.

    Args:
        prefix (str): The metric's prefix.
        filename (str): Name of the PNG in ``runner.log_dir``.
    """

    priority = 'LOW'

    def __init__(self, prefix: str = 'au', filename: str = 'au_f1.png'):
        self.prefix = prefix
        self.filename = filename

    def after_val_epoch(
        self, runner, metrics: Optional[Dict[str, float]] = None
    ) -> None:
        if not metrics:
            return
        pattern = re.compile(rf'^{re.escape(self.prefix)}/F1_(.+)$')
        f1 = {
            m.group(1): float(v)
            for k, v in metrics.items()
            if (m := pattern.match(k))
        }
        if not f1:
            runner.logger.warning(
                f'AUF1ChartHook: no {self.prefix}/F1_* metrics'
            )
            return
        mean = metrics.get(f'{self.prefix}/F1', float('nan'))
        path = osp.join(runner.log_dir, self.filename)
        plot_au_f1(
            f1,
            path,
            f'{runner.experiment_name}: epoch {runner.epoch}, '
            f'mean F1 {mean:.1f}%',
            baseline=self._all_present(runner, list(f1)),
        )
        runner.logger.info(f'per-AU F1 chart saved to {path}')

    @staticmethod
    def _all_present(runner, names) -> Optional[Dict[str, float]]:
        """F1 of predicting every AU present, 2p / (1 + p), on the validation
        split.
        """
        dataset = getattr(runner.val_dataloader, 'dataset', None)
        if not hasattr(dataset, 'get_au_statistics'):
            return None
        stats = dataset.get_au_statistics()
        classes = list(dataset.metainfo.get('classes', ()))
        if classes != names:
            return None
        known = np.maximum(stats['num_known'], 1)
        p = stats['num_positive'] / known
        return dict(zip(names, (200 * p / (1 + p)).tolist()))
