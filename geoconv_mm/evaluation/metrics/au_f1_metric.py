"""Frame-level F1 per AU (the paper's F1-frame), over known labels only."""

from __future__ import annotations

import logging
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmpretrain.registry import METRICS

from .au_metric_inputs import au_sample_arrays, metric_au_names


def au_f1_scores(
    pred_scores: np.ndarray,
    gt: np.ndarray,
    mask: Optional[np.ndarray] = None,
    threshold: float = 0.5,
) -> Dict[str, np.ndarray]:
    """Per-AU precision, recall and F1 of thresholded scores.

    An AU counts as predicted present when its score is ``>= threshold``.
    Frames whose label is unknown (``mask`` False) are left out of that AU's
    counts. Where a ratio's denominator is 0 the ratio is 0 (scikit-learn's
    ``zero_division=0``); an AU with no known label at all gets NaN.

    Args:
        pred_scores (np.ndarray): (N, A) probabilities.
        gt (np.ndarray): (N, A) labels in {0, 1}.
        mask (np.ndarray, optional): (N, A) bool validity.
        threshold (float): Decision threshold.

    Returns:
        dict: float64 (A,) arrays ``precision``, ``recall``, ``f1`` (fractions,
        not %) and int64 (A,) ``tp``, ``fp``, ``fn``, ``num_known``.
    """
    pred_scores = np.asarray(pred_scores, np.float64)
    gt = np.asarray(gt)
    if pred_scores.ndim != 2 or gt.shape != pred_scores.shape:
        raise ValueError(
            f'scores {pred_scores.shape} and labels {gt.shape} must both be '
            '(N, A)'
        )
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
        return np.divide(
            num, den, out=np.zeros(num.shape, np.float64), where=den > 0
        )

    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    f1 = ratio(
        2 * tp, 2 * tp + fp + fn
    )  # = 2PR / (P + R) wherever that is defined
    nan = known == 0
    for arr in (precision, recall, f1):
        arr[nan] = np.nan
    return dict(
        precision=precision,
        recall=recall,
        f1=f1,
        tp=tp,
        fp=fp,
        fn=fn,
        num_known=known,
    )


def check_yaw_edges(edges: Sequence[float]) -> List[float]:
    """The edges as floats; raises unless positive and increasing."""
    e = [float(x) for x in edges]
    if not e or any(b <= a for a, b in zip([0.0] + e, e)):
        raise ValueError(
            f'yaw bin edges must be positive and increasing, got {list(edges)}'
        )
    return e


def yaw_bin_labels(edges: Sequence[float]) -> List[str]:
    """Names of the ``|yaw|`` bins cut at ``edges`` (degrees): ``0-10``,
    ``10-25``, ``25+`` for edges (10, 25)."""
    e = [0.0] + check_yaw_edges(edges)
    return [f'{a:g}-{b:g}' for a, b in zip(e[:-1], e[1:])] + [f'{e[-1]:g}+']


def au_f1_by_yaw(
    pred_scores: np.ndarray,
    gt: np.ndarray,
    mask: Optional[np.ndarray],
    yaw_degrees: np.ndarray,
    edges: Sequence[float] = (10.0, 25.0),
    threshold: float = 0.5,
) -> List[Dict[str, object]]:
    """:func:`au_f1_scores` within each bin of absolute head yaw.

    Bin ``k`` holds the frames with ``edges[k-1] <= |yaw| < edges[k]`` (the
    first starts at 0, the last is open); frames whose yaw is NaN are in no
    bin.

    Args:
        pred_scores, gt, mask, threshold: As :func:`au_f1_scores`.
        yaw_degrees (np.ndarray): (N,) head yaw of each frame in degrees
            (the sign is ignored).
        edges (Sequence[float]): Increasing positive bin edges in degrees.

    Returns:
        list[dict]: Per bin: ``label``, ``lo``, ``hi`` (degrees; ``hi`` inf
        for the last), ``num_frames`` and the :func:`au_f1_scores` fields
        of its frames (all NaN for an empty bin).
    """
    edges = check_yaw_edges(edges)
    scores = np.asarray(pred_scores, np.float64)
    gt = np.asarray(gt)
    mask = np.ones(gt.shape, bool) if mask is None else np.asarray(mask, bool)
    yaw = np.abs(np.asarray(yaw_degrees, np.float64).reshape(-1))
    if len(yaw) != len(scores):
        raise ValueError(f'{len(yaw)} yaw values for {len(scores)} frames')
    lows = [0.0] + edges
    highs = edges + [np.inf]
    out = []
    for label, lo, hi in zip(yaw_bin_labels(edges), lows, highs):
        sel = (yaw >= lo) & (yaw < hi)
        # An empty selection still gives (A,) NaN statistics.
        stats = (
            au_f1_scores(scores[sel], gt[sel], mask[sel], threshold)
            if sel.any()
            else au_f1_scores(
                scores[:1], gt[:1], np.zeros_like(mask[:1]), threshold
            )
        )
        out.append(
            dict(label=label, lo=lo, hi=hi, num_frames=int(sel.sum()), **stats)
        )
    return out


def yaw_of_sample(
    sample: dict, key: str, index: Optional[int], unit: str
) -> Optional[float]:
    """Head yaw in degrees from a data sample's ``key`` (element ``index``
    of a sequence), or None when the sample has no such field."""
    if key not in sample:
        return None
    value = sample[key]
    if index is not None:
        value = value[index]
    value = float(torch.as_tensor(value).detach().cpu().reshape(()))
    return float(np.degrees(value)) if unit == 'rad' else value


@METRICS.register_module()
class AUF1Metric(BaseMetric):
    """Per-AU F1, precision and recall at a threshold, and their averages over
    AUs.

    Reads ``pred_score``, ``gt_au`` and ``au_mask`` from each data sample.
    Results are in percent, as the paper reports them: ``<prefix>/F1`` (the
    average F1-frame), ``<prefix>/precision``, ``<prefix>/recall``, and
    ``<prefix>/F1_AU1``, ``<prefix>/precision_AU1``... per AU. Averages skip
    AUs without any known test label (with a warning). A table with AU names is
    logged.

    Args:
        threshold (float): Probability at which an AU counts as present.
        au_names (Sequence[str], optional): Names for the table and keys;
            defaults to the dataset's ``classes`` (``AU1``, ...), else
            ``AU<index>``.
        collect_device (str): Where results are gathered in distributed runs.
        prefix (str, optional): Key prefix; defaults to ``'au'``.
        yaw_bins (Sequence[float], optional): ``|yaw|`` bin edges in degrees;
            ``None`` turns the per-pose report off.
        yaw_key (str): Data sample field holding the yaw: OpenFace's
            ``pose_Ry`` (see :mod:`geoconv_mm.face.head_pose`) by default;
            ``'pose'`` with ``yaw_index=0``, ``yaw_unit='deg'`` reads
            SynthAU's ``pose`` (yaw, pitch, roll in degrees) when
            ``PackAUInputs`` keeps it as a meta key.
        yaw_index (int, optional): Element of a sequence-valued field.
        yaw_unit (str): ``'rad'`` or ``'deg'``.
    """

    default_prefix = 'au'

    def __init__(
        self,
        threshold: float = 0.5,
        au_names: Optional[Sequence[str]] = None,
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
        yaw_bins: Optional[Sequence[float]] = (10.0, 25.0),
        yaw_key: str = 'pose_Ry',
        yaw_index: Optional[int] = None,
        yaw_unit: str = 'rad',
    ):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.threshold = threshold
        self.au_names = list(au_names) if au_names is not None else None
        if yaw_unit not in ('rad', 'deg'):
            raise ValueError(
                f"yaw_unit must be 'rad' or 'deg', got {yaw_unit!r}"
            )
        self.yaw_bins: Optional[Tuple[float, ...]] = (
            None if yaw_bins is None else tuple(float(b) for b in yaw_bins)
        )
        if self.yaw_bins is not None:
            check_yaw_edges(self.yaw_bins)
        self.yaw_key = yaw_key
        self.yaw_index = yaw_index
        self.yaw_unit = yaw_unit

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for i, sample in enumerate(data_samples):
            score, gt, mask = au_sample_arrays(sample, i, 'AUF1Metric')
            yaw = (
                None
                if self.yaw_bins is None
                else yaw_of_sample(
                    sample, self.yaw_key, self.yaw_index, self.yaw_unit
                )
            )
            self.results.append(dict(score=score, gt=gt, mask=mask, yaw=yaw))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            raise ValueError('AUF1Metric got no samples')
        scores = np.stack([r['score'] for r in results])
        stats = au_f1_scores(
            scores,
            np.stack([r['gt'] for r in results]),
            np.stack([r['mask'] for r in results]),
            self.threshold,
        )
        names = metric_au_names(
            self.au_names, self.dataset_meta, scores.shape[1], 'AUF1Metric'
        )
        unknown = [n for n, k in zip(names, stats['num_known']) if k == 0]
        if unknown:
            print_log(
                f'AUF1Metric: no known test label for {unknown}; left out of '
                'the averages',
                logger='current',
                level=logging.WARNING,
            )
        metrics: Dict[str, float] = {}
        for field, key in (
            ('f1', 'F1'),
            ('precision', 'precision'),
            ('recall', 'recall'),
        ):
            values = stats[field] * 100
            metrics[key] = (
                float(np.nanmean(values))
                if not np.isnan(values).all()
                else float('nan')
            )
            for name, value in zip(names, values):
                metrics[f'{key}_{name}'] = float(value)
        self._log_table(names, stats, metrics)
        yaws = [r.get('yaw') for r in results]
        if self.yaw_bins is not None and any(y is not None for y in yaws):
            metrics.update(self._by_yaw(results, names, yaws))
        return metrics

    def _by_yaw(
        self,
        results: List[dict],
        names: List[str],
        yaws: List[Optional[float]],
    ) -> Dict[str, float]:
        missing = sum(y is None for y in yaws)
        if missing:
            print_log(
                f'AUF1Metric: {missing} of {len(yaws)} samples have no '
                f'"{self.yaw_key}"; left out of the F1-by-yaw bins',
                logger='current',
                level=logging.WARNING,
            )
        yaw = np.array([np.nan if y is None else y for y in yaws])
        bins = au_f1_by_yaw(
            np.stack([r['score'] for r in results]),
            np.stack([r['gt'] for r in results]),
            np.stack([r['mask'] for r in results]),
            yaw,
            self.yaw_bins,
            self.threshold,
        )
        metrics: Dict[str, float] = {}
        for b in bins:
            f1 = b['f1'] * 100
            metrics[f'F1yaw_{b["label"]}'] = (
                float(np.nanmean(f1))
                if not np.isnan(f1).all()
                else float('nan')
            )
            metrics[f'num_yaw_{b["label"]}'] = b['num_frames']
        MMLogger.get_current_instance().info(
            'AU F1-frame by |yaw| (degrees):\n' + format_yaw_table(names, bins)
        )
        return metrics

    @staticmethod
    def _log_table(
        names: List[str],
        stats: Dict[str, np.ndarray],
        metrics: Dict[str, float],
    ) -> None:
        header = (
            f'{"AU":<8}{"F1":>8}{"prec.":>8}{"recall":>8}'
            f'{"known":>9}{"pos.":>9}'
        )
        lines = [header, '-' * len(header)]
        for i, name in enumerate(names):
            lines.append(
                f'{name:<8}{stats["f1"][i] * 100:>8.2f}'
                f'{stats["precision"][i] * 100:>8.2f}'
                f'{stats["recall"][i] * 100:>8.2f}{stats["num_known"][i]:>9d}'
                f'{stats["tp"][i] + stats["fn"][i]:>9d}'
            )
        lines.append('-' * len(header))
        lines.append(
            f'{"mean":<8}{metrics["F1"]:>8.2f}{metrics["precision"]:>8.2f}'
            f'{metrics["recall"]:>8.2f}'
        )
        MMLogger.get_current_instance().info(
            'AU F1-frame:\n' + '\n'.join(lines)
        )


def format_yaw_table(
    names: Sequence[str], bins: List[Dict[str, object]]
) -> str:
    """Text table: one row per AU, one column per ``|yaw|`` bin (F1 in %), a
    mean row and the bins' frame counts."""
    width = max(9, *(len(b['label']) + 2 for b in bins))
    header = f'{"AU":<8}' + ''.join(f'{b["label"]:>{width}}' for b in bins)
    lines = [header, '-' * len(header)]
    for i, name in enumerate(names):
        lines.append(
            f'{name:<8}'
            + ''.join(f'{b["f1"][i] * 100:>{width}.2f}' for b in bins)
        )
    lines.append('-' * len(header))

    def mean(b):
        f1 = b['f1'] * 100
        return float(np.nanmean(f1)) if not np.isnan(f1).all() else np.nan

    lines.append(
        f'{"mean":<8}' + ''.join(f'{mean(b):>{width}.2f}' for b in bins)
    )
    lines.append(
        f'{"frames":<8}'
        + ''.join(f'{b["num_frames"]:>{width}d}' for b in bins)
    )
    return '\n'.join(lines)
