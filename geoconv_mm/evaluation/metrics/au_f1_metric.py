"""Frame-level F1 per AU (the paper's F1-frame), over known labels only."""
from __future__ import annotations

import logging
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmpretrain.registry import METRICS


def au_f1_scores(pred_scores: np.ndarray, gt: np.ndarray, mask: Optional[np.ndarray] = None,
                 threshold: float = 0.5) -> Dict[str, np.ndarray]:
    """Per-AU precision, recall and F1 of thresholded scores.

    An AU counts as predicted present when its score is ``>= threshold``. Frames whose
    label is unknown (``mask`` False) are left out of that AU's counts. Where a ratio's
    denominator is 0 the ratio is 0 (scikit-learn's ``zero_division=0``); an AU with no
    known label at all gets NaN.

    Args:
        pred_scores (np.ndarray): (N, A) probabilities.
        gt (np.ndarray): (N, A) labels in {0, 1}.
        mask (np.ndarray, optional): (N, A) bool validity.
        threshold (float): Decision threshold.

    Returns:
        dict: float64 (A,) arrays ``precision``, ``recall``, ``f1`` (fractions, not %)
        and int64 (A,) ``tp``, ``fp``, ``fn``, ``num_known``.
    """
    pred_scores = np.asarray(pred_scores, np.float64)
    gt = np.asarray(gt)
    if pred_scores.ndim != 2 or gt.shape != pred_scores.shape:
        raise ValueError(f'scores {pred_scores.shape} and labels {gt.shape} must both be '
                         '(N, A)')
    mask = np.ones(gt.shape, bool) if mask is None else np.asarray(mask, bool)
    if mask.shape != gt.shape:
        raise ValueError(f'mask {mask.shape} must match labels {gt.shape}')
    pred = pred_scores >= threshold
    pos = gt > 0.5
    tp = (pred & pos & mask).sum(0)
    fp = (pred & ~pos & mask).sum(0)
    fn = (~pred & pos & mask).sum(0)
    known = mask.sum(0)

    def ratio(num, den):
        return np.divide(num, den, out=np.zeros(num.shape, np.float64), where=den > 0)

    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    f1 = ratio(2 * tp, 2 * tp + fp + fn)  # = 2PR / (P + R) wherever that is defined
    nan = known == 0
    for arr in (precision, recall, f1):
        arr[nan] = np.nan
    return dict(precision=precision, recall=recall, f1=f1, tp=tp, fp=fp, fn=fn,
                num_known=known)


@METRICS.register_module()
class AUF1Metric(BaseMetric):
    """Per-AU F1, precision and recall at a threshold, and their averages over AUs.

    Reads ``pred_score``, ``gt_au`` and ``au_mask`` from each data sample. Results are
    in percent, as the paper reports them: ``<prefix>/F1`` (the average F1-frame),
    ``<prefix>/precision``, ``<prefix>/recall``, and ``<prefix>/F1_AU1``,
    ``<prefix>/precision_AU1``... per AU. Averages skip AUs without any known test
    label (with a warning). A table with AU names is logged.

    Args:
        threshold (float): Probability at which an AU counts as present.
        au_names (Sequence[str], optional): Names for the table and keys; defaults to
            the dataset's ``classes`` (``AU1``, ...), else ``AU<index>``.
        collect_device (str): Where results are gathered in distributed runs.
        prefix (str, optional): Key prefix; defaults to ``'au'``.
    """

    default_prefix = 'au'

    def __init__(self,
                 threshold: float = 0.5,
                 au_names: Optional[Sequence[str]] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.threshold = threshold
        self.au_names = list(au_names) if au_names is not None else None

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for i, sample in enumerate(data_samples):
            missing = [k for k in ('pred_score', 'gt_au') if k not in sample]
            if missing:
                raise KeyError(f'AUF1Metric: data sample {i} has no {missing}')
            score = torch.as_tensor(sample['pred_score']).detach().cpu().flatten()
            gt = torch.as_tensor(sample['gt_au']).detach().cpu().flatten()
            mask = sample.get('au_mask')
            mask = (torch.ones_like(gt, dtype=torch.bool) if mask is None else
                    torch.as_tensor(mask).detach().cpu().flatten().bool())
            self.results.append(dict(score=score.numpy(), gt=gt.numpy(), mask=mask.numpy()))

    def _names(self, num_aus: int) -> List[str]:
        names = self.au_names
        if names is None and self.dataset_meta:
            names = self.dataset_meta.get('classes')
        names = list(names) if names is not None else [f'AU{i}' for i in range(num_aus)]
        if len(names) != num_aus:
            raise ValueError(f'{len(names)} AU names {names} for {num_aus} predicted AUs')
        return names

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            raise ValueError('AUF1Metric got no samples')
        scores = np.stack([r['score'] for r in results])
        stats = au_f1_scores(scores, np.stack([r['gt'] for r in results]),
                             np.stack([r['mask'] for r in results]), self.threshold)
        names = self._names(scores.shape[1])
        unknown = [n for n, k in zip(names, stats['num_known']) if k == 0]
        if unknown:
            print_log(f'AUF1Metric: no known test label for {unknown}; left out of the '
                      'averages', logger='current', level=logging.WARNING)
        metrics: Dict[str, float] = {}
        for field, key in (('f1', 'F1'), ('precision', 'precision'), ('recall', 'recall')):
            values = stats[field] * 100
            metrics[key] = float(np.nanmean(values)) if not np.isnan(values).all() \
                else float('nan')
            for name, value in zip(names, values):
                metrics[f'{key}_{name}'] = float(value)
        self._log_table(names, stats, metrics)
        return metrics

    @staticmethod
    def _log_table(names: List[str], stats: Dict[str, np.ndarray],
                   metrics: Dict[str, float]) -> None:
        header = f'{"AU":<8}{"F1":>8}{"prec.":>8}{"recall":>8}{"known":>9}{"pos.":>9}'
        lines = [header, '-' * len(header)]
        for i, name in enumerate(names):
            lines.append(f'{name:<8}{stats["f1"][i] * 100:>8.2f}'
                         f'{stats["precision"][i] * 100:>8.2f}'
                         f'{stats["recall"][i] * 100:>8.2f}{stats["num_known"][i]:>9d}'
                         f'{stats["tp"][i] + stats["fn"][i]:>9d}')
        lines.append('-' * len(header))
        lines.append(f'{"mean":<8}{metrics["F1"]:>8.2f}{metrics["precision"]:>8.2f}'
                     f'{metrics["recall"]:>8.2f}')
        MMLogger.get_current_instance().info('AU F1-frame:\n' + '\n'.join(lines))
