"""Coverage of the study's intervals, by simulation with a known truth.

Draws many synthetic two-arm studies (:class:`geoconv_mm.study.simulation.
StudyModel`: arm, training seed, test subject and their interplay, counts
drawn frame by frame) and reports how often the 95% interval of the paired
difference of mean F1 (:func:`geoconv_mm.study.statistics.crossed_interval`)
covers the true difference, for several seed and subject variances, seed
counts and folds. Writes ``coverage.json`` and ``coverage.md`` under
``--out`` (atomically)::

    python tools/analysis_tools/study_coverage.py --studies 2000 \\
        --out docs/results/study_coverage
"""

import argparse
import os
import os.path as osp
import time

import numpy as np
from tqdm import tqdm

from geoconv_mm.study.simulation import StudyModel
from geoconv_mm.study.statistics import crossed_interval, paired_strata
from geoconv_mm.utils.atomic_io import atomic_write_bytes, atomic_write_json

#: name -> (model, what it stresses)
REGIMES = {
    'both': (StudyModel(), 'seed and subject variance as on SynthAU'),
    'seeds': (
        StudyModel(seed_sd=0.4, subject_arm_sd=0.05),
        'mostly seed variance',
    ),
    'subjects': (
        StudyModel(seed_sd=0.05, subject_arm_sd=0.4),
        'mostly subject variance',
    ),
    'null': (StudyModel(effect=0.0), 'no difference between the arms'),
}


def coverage(
    model: StudyModel,
    seeds: int,
    folds: int,
    studies: int,
    rng: np.random.Generator,
    truth: float,
) -> dict:
    """Share of studies whose interval covers ``truth``, with its binomial
    standard error, and the intervals' mean width."""
    covered, widths = 0, []
    for _ in range(studies):
        iv = crossed_interval(paired_strata(model.draw(rng, seeds, folds)))
        covered += bool(iv.low <= truth <= iv.high)
        widths.append(float(iv.high - iv.low))
    share = covered / studies
    return dict(
        coverage=share,
        coverage_se=float(np.sqrt(share * (1 - share) / studies)),
        mean_width=float(np.mean(widths)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--studies', type=int, default=2000)
    parser.add_argument('--truth-runs', type=int, default=100000)
    parser.add_argument(
        '--designs',
        nargs='+',
        default=['5x1', '5x3', '10x3'],
        help='seeds x folds of the simulated studies',
    )
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default='work_dirs/study_coverage')
    args = parser.parse_args()
    designs = [tuple(int(x) for x in d.split('x')) for d in args.designs]
    rng = np.random.default_rng(args.seed)
    rows = []
    start = time.time()
    bar = tqdm(total=len(REGIMES) * len(designs), desc='coverage')
    for name, (model, what) in REGIMES.items():
        truth = model.true_difference(rng, args.truth_runs)
        for seeds, folds in designs:
            c = coverage(model, seeds, folds, args.studies, rng, truth)
            rows.append(
                dict(
                    regime=name,
                    what=what,
                    seeds=seeds,
                    folds=folds,
                    truth=truth,
                    **c,
                )
            )
            bar.update()
    bar.close()
    lines = [
        '| regime | seeds x folds | true ΔF1 | coverage of the 95% interval '
        '| mean width |',
        '|---|---|---|---|---|',
    ]
    lines += [
        f'| {r["regime"]}: {r["what"]} | {r["seeds"]} x {r["folds"]} | '
        f'{r["truth"]:+.2f} | {100 * r["coverage"]:.1f}% '
        f'(± {100 * r["coverage_se"]:.1f}) | {r["mean_width"]:.2f} |'
        for r in rows
    ]
    os.makedirs(args.out, exist_ok=True)
    atomic_write_json(
        osp.join(args.out, 'coverage.json'),
        dict(
            studies=args.studies,
            truth_runs=args.truth_runs,
            seed=args.seed,
            seconds=round(time.time() - start, 1),
            rows=rows,
        ),
        indent=1,
    )
    atomic_write_bytes(
        osp.join(args.out, 'coverage.md'), ('\n'.join(lines) + '\n').encode()
    )
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
