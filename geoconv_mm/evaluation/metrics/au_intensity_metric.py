"""AU intensity agreement: ICC(3,1), Pearson's r and mean absolute error per
AU, over coded labels only (the measures of FERA 2015 and the intensity
literature)."""

from __future__ import annotations

import logging
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmpretrain.registry import METRICS

from geoconv_mm.datasets.au_info import split_intensities

from .au_metric_inputs import metric_au_names


def icc_3_1(ratings: np.ndarray) -> float:
    """ICC(3,1) of Shrout and Fleiss (1979): two-way mixed model,
    consistency, single rater.

    ``(BMS - EMS) / (BMS + (k - 1) EMS)`` with BMS the between-targets mean
    square and EMS the residual mean square of the two-way ANOVA of the
    (n targets x k raters) table. With two raters (the estimates and the
    labels) it equals ``2 cov(x, y) / (var x + var y)``.

    Args:
        ratings (np.ndarray): (n, k) ratings, one row per target (frame).

    Returns:
        float: The ICC; NaN with fewer than 2 targets or raters, or when
        every rating is the same (0 / 0).
    """
    x = np.asarray(ratings, np.float64)
    if x.ndim != 2:
        raise ValueError(f'ratings must be (n, k), got shape {x.shape}')
    n, k = x.shape
    if n < 2 or k < 2:
        return float('nan')
    grand = x.mean()
    rows = x.mean(1, keepdims=True)
    cols = x.mean(0, keepdims=True)
    bms = k * ((rows - grand) ** 2).sum() / (n - 1)
    ems = ((x - rows - cols + grand) ** 2).sum() / ((n - 1) * (k - 1))
    den = bms + (k - 1) * ems
    return float((bms - ems) / den) if den > 0 else float('nan')


def pearson_r(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's correlation; NaN when either side is constant or has fewer
    than 2 values."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    if x.size < 2:
        return float('nan')
    dx, dy = x - x.mean(), y - y.mean()
    den = np.sqrt((dx * dx).sum() * (dy * dy).sum())
    return float((dx * dy).sum() / den) if den > 0 else float('nan')


def au_intensity_scores(
    pred: np.ndarray, codes: np.ndarray
) -> Dict[str, np.ndarray]:
    """Per-AU ICC(3,1), Pearson's r and MAE of intensity estimates against
    intensity codes, over the frames where the AU is coded.

    Args:
        pred (np.ndarray): (N, A) estimates on the 0-5 scale.
        codes (np.ndarray): (N, A) codes 0-5, 9 where not coded (see
            :func:`~geoconv_mm.datasets.au_info.split_intensities`).

    Returns:
        dict: float64 (A,) ``icc``, ``pcc``, ``mae`` (NaN for an AU without
        a coded frame, ICC and r also where undefined, e.g. constant labels)
        and int64 (A,) ``num_known``.
    """
    pred = np.asarray(pred, np.float64)
    codes = np.asarray(codes)
    if pred.ndim != 2 or codes.shape != pred.shape:
        raise ValueError(
            f'estimates {pred.shape} and codes {codes.shape} must both be '
            '(N, A)'
        )
    target, known = split_intensities(codes)
    num_aus = pred.shape[1]
    out = {k: np.full(num_aus, np.nan) for k in ('icc', 'pcc', 'mae')}
    for a in range(num_aus):
        x, y = pred[known[:, a], a], target[known[:, a], a].astype(np.float64)
        if x.size:
            out['icc'][a] = icc_3_1(np.stack([x, y], 1))
            out['pcc'][a] = pearson_r(x, y)
            out['mae'][a] = np.abs(x - y).mean()
    out['num_known'] = known.sum(0).astype(np.int64)
    return out


@METRICS.register_module()
class AUIntensityMetric(BaseMetric):
    """ICC(3,1), Pearson's r and MAE of AU intensity per AU, and their means
    over AUs.

    Reads ``pred_intensity`` (set by the intensity heads) and
    ``au_intensities`` (codes 0-5, 9 = not coded) from each data sample;
    frames whose code of an AU is 9 are left out of that AU's measures. Keys:
    ``<prefix>/ICC``, ``<prefix>/PCC``, ``<prefix>/MAE`` (means over AUs)
    and ``<prefix>/ICC_AU6``, ``<prefix>/PCC_AU6``, ``<prefix>/MAE_AU6``...
    per AU. ICC and r are fractions (as intensity papers print them), MAE is
    in intensity units. Means skip AUs where a measure is undefined (no
    coded frame; ICC and r also for constant labels and estimates), with a
    warning. A table is logged.

    Args:
        au_names (Sequence[str], optional): Names for the table and keys;
            defaults to the dataset's ``classes`` (``AU6``, ...), else
            ``AU<index>``.
        collect_device (str): Where results are gathered in distributed runs.
        prefix (str, optional): Key prefix; defaults to ``'au_int'``.
    """

    default_prefix = 'au_int'
    #: Output measures: result field -> key.
    MEASURES = (('icc', 'ICC'), ('pcc', 'PCC'), ('mae', 'MAE'))

    def __init__(
        self,
        au_names: Optional[Sequence[str]] = None,
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
    ):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.au_names = list(au_names) if au_names is not None else None

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for i, sample in enumerate(data_samples):
            missing = [
                k
                for k in ('pred_intensity', 'au_intensities')
                if k not in sample
            ]
            if missing:
                raise KeyError(
                    f'AUIntensityMetric: data sample {i} has no {missing} '
                    '(an intensity head and a dataset with '
                    'with_intensity=True give them)'
                )
            pred = torch.as_tensor(sample['pred_intensity'])
            codes = torch.as_tensor(sample['au_intensities'])
            self.results.append(
                dict(
                    pred=pred.detach().cpu().flatten().double().numpy(),
                    codes=codes.detach().cpu().flatten().numpy(),
                )
            )

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            raise ValueError(
                'AUIntensityMetric got no samples (is the test split empty?)'
            )
        pred = np.stack([r['pred'] for r in results])
        stats = au_intensity_scores(
            pred, np.stack([r['codes'] for r in results])
        )
        names = metric_au_names(
            self.au_names,
            self.dataset_meta,
            pred.shape[1],
            'AUIntensityMetric',
        )
        metrics: Dict[str, float] = {}
        for field, key in self.MEASURES:
            values = stats[field]
            undefined = [n for n, v in zip(names, values) if np.isnan(v)]
            if undefined:
                print_log(
                    f'AUIntensityMetric: {key} is undefined for {undefined} '
                    '(no coded frame, or constant labels or estimates); '
                    'left out of its mean',
                    logger='current',
                    level=logging.WARNING,
                )
            metrics[key] = (
                float(np.nanmean(values))
                if not np.isnan(values).all()
                else float('nan')
            )
            for name, value in zip(names, values):
                metrics[f'{key}_{name}'] = float(value)
        MMLogger.get_current_instance().info(
            'AU intensity:\n' + format_intensity_table(names, stats, metrics)
        )
        return metrics


def format_intensity_table(
    names: Sequence[str],
    stats: Dict[str, np.ndarray],
    metrics: Dict[str, float],
) -> str:
    """Text table: one row per AU (ICC, r, MAE, coded frames) and the means."""
    header = f'{"AU":<8}{"ICC":>8}{"r":>8}{"MAE":>8}{"coded":>9}'
    lines = [header, '-' * len(header)]
    for i, name in enumerate(names):
        lines.append(
            f'{name:<8}{stats["icc"][i]:>8.3f}{stats["pcc"][i]:>8.3f}'
            f'{stats["mae"][i]:>8.3f}{stats["num_known"][i]:>9d}'
        )
    lines.append('-' * len(header))
    lines.append(
        f'{"mean":<8}{metrics["ICC"]:>8.3f}{metrics["PCC"]:>8.3f}'
        f'{metrics["MAE"]:>8.3f}'
    )
    return '\n'.join(lines)
