"""AU F1 per bin of head yaw for a test run's predictions: a table and a PNG.

The input is the pickle that ``tools/test.py --out`` dumps (one dict per test
frame with ``pred_score``, ``gt_au``, ``au_mask`` and the meta keys that
``PackAUInputs`` kept). The yaw comes from OpenFace's ``pose_Ry`` (radians)
by default; SynthAU's annotations carry ``pose`` (yaw, pitch, roll in
degrees): ``tools/test.py --meta-keys pose`` keeps it in the dump, and the
yaw is its first element::

    python tools/test.py CONFIG CKPT --meta-keys pose \\
        --out work_dirs/run/preds.pkl
    python tools/analysis_tools/au_f1_by_pose.py work_dirs/run/preds.pkl \\
        --yaw-key pose --yaw-index 0 --yaw-unit deg --config CONFIG

SynthAU's default heads turn at most 20 degrees, so the last default bin is
empty there; ``--bins 5 10 15`` splits its range finer.

The bins are those of :func:`geoconv_mm.evaluation.au_f1_by_yaw`
(default |yaw| < 10, 10-25, >= 25 degrees).
"""

import argparse
import os.path as osp
import pickle
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np

from geoconv_mm.evaluation.metrics.au_f1_metric import (
    au_f1_by_yaw,
    format_yaw_table,
    yaw_of_sample,
)


def load_results(path: str) -> List[dict]:
    """The list of per-frame dicts of a ``tools/test.py --out`` pickle."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'results file not found: {path}')
    try:
        with open(path, 'rb') as fh:
            results = pickle.load(fh)
    except (pickle.UnpicklingError, EOFError, AttributeError) as exc:
        raise ValueError(f'{path}: not a results pickle ({exc})') from exc
    if (
        not isinstance(results, list)
        or not results
        or not all(isinstance(r, dict) for r in results)
    ):
        raise ValueError(
            f'{path}: expected a non-empty list of per-frame '
            'dicts (tools/test.py --out)'
        )
    return results


def _array(value) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value).reshape(-1)


def f1_by_pose(
    results: Sequence[dict],
    edges: Sequence[float] = (10, 25),
    yaw_key: str = 'pose_Ry',
    yaw_index: Optional[int] = None,
    yaw_unit: str = 'rad',
    threshold: float = 0.5,
    name: str = 'results',
) -> List[Dict[str, object]]:
    """:func:`au_f1_by_yaw` of per-frame result dicts.

    Raises:
        ValueError: If no frame carries the yaw, or a frame lacks a score or
            a label (naming the frame).
    """
    scores, gts, masks, yaws = [], [], [], []
    for i, r in enumerate(results):
        missing = [k for k in ('pred_score', 'gt_au') if k not in r]
        if missing:
            raise ValueError(
                f'{name}: frame {i} ({r.get("img_path", "?")}) '
                f'has no {missing}'
            )
        scores.append(_array(r['pred_score']).astype(np.float64))
        gts.append(_array(r['gt_au']))
        masks.append(
            _array(r['au_mask']).astype(bool)
            if 'au_mask' in r
            else np.ones(len(gts[-1]), bool)
        )
        yaw = yaw_of_sample(r, yaw_key, yaw_index, yaw_unit)
        yaws.append(np.nan if yaw is None else yaw)
    if np.isnan(yaws).all():
        keys = sorted(results[0])
        raise ValueError(
            f'{name}: no frame has "{yaw_key}" (keys: {keys}); '
            'keep the pose as a meta key of PackAUInputs or '
            'pass --yaw-key'
        )
    return au_f1_by_yaw(
        np.stack(scores),
        np.stack(gts),
        np.stack(masks),
        np.array(yaws),
        edges,
        threshold,
    )


def plot(
    names: Sequence[str], bins: List[Dict[str, object]], path: str
) -> None:
    """Grouped bars: F1 per AU (and the mean) for each |yaw| bin."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from geoconv_mm.utils.atomic_io import atomic_path

    labels = list(names) + ['Avg']
    x = np.arange(len(labels))
    width = 0.8 / len(bins)
    fig, ax = plt.subplots(
        figsize=(max(6, 0.6 * len(labels) * len(bins) / 2), 4)
    )
    for k, b in enumerate(bins):
        f1 = b['f1'] * 100
        mean = np.nanmean(f1) if not np.isnan(f1).all() else np.nan
        ax.bar(
            x - 0.4 + width * (k + 0.5),
            list(f1) + [mean],
            width,
            label=f'|yaw| {b["label"]} deg ({b["num_frames"]} frames)',
        )
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=45 if len(labels) > 10 else 0)
    ax.set_ylabel('F1-frame (%)')
    ax.set_ylim(0, 100)
    ax.grid(axis='y', alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title('AU F1 by head yaw')
    fig.tight_layout()
    with atomic_path(path, '.tmp.png') as tmp:
        fig.savefig(tmp, dpi=120, format='png')
    plt.close(fig)


def au_names_of(config: str) -> List[str]:
    """``AU<k>`` for each of ``au_ids`` of a config's test dataset."""
    from mmengine.config import Config

    dataset = Config.fromfile(config).test_dataloader.dataset
    if 'au_ids' not in dataset:
        raise SystemExit(f'error: {config}: the test dataset names no au_ids')
    return [f'AU{a}' for a in dataset.au_ids]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('results', help='pickle from tools/test.py --out')
    parser.add_argument(
        '--bins',
        type=float,
        nargs='+',
        default=[10, 25],
        help='|yaw| bin edges in degrees',
    )
    parser.add_argument('--yaw-key', default='pose_Ry')
    parser.add_argument(
        '--yaw-index',
        type=int,
        default=None,
        help='element of a sequence-valued yaw field',
    )
    parser.add_argument('--yaw-unit', choices=['rad', 'deg'], default='rad')
    parser.add_argument('--threshold', type=float, default=0.5)
    parser.add_argument('--au-names', nargs='+', help='AU names in order')
    parser.add_argument(
        '--config',
        help='the run\'s config: AU names from its test dataset\'s au_ids '
        '(instead of --au-names)',
    )
    parser.add_argument(
        '--out',
        help='PNG to write (default: beside the '
        'results, <stem>_f1_by_yaw.png)',
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        results = load_results(args.results)
        bins = f1_by_pose(
            results,
            args.bins,
            args.yaw_key,
            args.yaw_index,
            args.yaw_unit,
            args.threshold,
            args.results,
        )
    except (OSError, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    num_aus = len(bins[0]['f1'])
    names = args.au_names
    if names is None and args.config:
        names = au_names_of(args.config)
    names = names or [f'AU{i}' for i in range(num_aus)]
    if len(names) != num_aus:
        print(
            f'error: {len(names)} --au-names for {num_aus} AUs',
            file=sys.stderr,
        )
        return 1
    print('AU F1-frame (%) by |yaw| (degrees):')
    print(format_yaw_table(names, bins))
    out = args.out or osp.splitext(args.results)[0] + '_f1_by_yaw.png'
    plot(names, bins, out)
    print(f'plot written to {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
