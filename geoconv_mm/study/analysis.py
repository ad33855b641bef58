"""The analysis of a study's records, as its plan fixes it.

A run's score is its mean F1 over AUs, or for intensity studies its mean
ICC(3,1) over AUs (the plan's ``metric``), computed on its test set.

- Per arm and variant: runs, mean +- sd (ddof 1) of the runs' scores, and
  its interval over seeds and test subjects
  (:func:`~.statistics.crossed_interval`), stratified by fold.
- Paired comparisons A - B on the (seed, fold) runs both arms have: the
  difference of the score with its interval and t-test p-value; where the
  pairs span several folds, each fold's difference and interval beside the
  pooled one, as a description (the verdict is the pooled interval's).
- Per AU: the difference and its interval, the exact sign-flip p-value
  (:func:`~.statistics.sign_flip_p_values`) and Holm's adjustment over the
  AUs (Benjamini-Hochberg beside it); when the pairs are too few for Holm's
  correction to pass at any p-value, the comparison says so instead of
  listing AUs.
- For F1: the all-present baseline per AU from the stored test labels (the
  mean of the folds' baselines), and per run the AUs *learned*: F1 at
  least the plan's margin above that baseline.

The verdict on "A helps" (:func:`verdict`), from the interval of A - B:
*supported* when it lies above 0; otherwise *falsified at this scale* when
it lies below the plan's smallest useful gain; otherwise *inconclusive*.
A comparison whose planned pairs are not all there yet gets no verdict.

A completion (:mod:`~.plan`) is analysed as the study it completes, with
each planned pair taken from one machine: from the study's records when they
hold both runs, otherwise from the completion's. An arm's summary takes each
run from the study's records where it is there. Runs that both machines have
are listed side by side, as a description of what the machine alone changes.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .plan import StudyPlan
from .records import all_present_f1, learned_aus, machine_of
from .statistics import (
    Interval,
    benjamini_hochberg,
    correction_can_pass,
    crossed_interval,
    holm,
    icc_run_scores,
    run_scores,
    sign_flip_p_values,
    smallest_p,
)

SUPPORTED = 'supported'
FALSIFIED = 'falsified at this scale'
INCONCLUSIVE = 'inconclusive'
TOO_FEW_PAIRS = 'no verdict yet'

Runs = Dict[Tuple[int, int], dict]


def verdict(
    interval: Sequence[float],
    min_useful_gain: float,
    complete: bool = True,
) -> str:
    """The verdict on "arm A helps" from the interval of A - B.

    Args:
        interval (Sequence[float]): Lower and upper end, in the metric's
            units (F1 points, or ICC).
        min_useful_gain (float): The smallest gain worth having.
        complete (bool): Whether every planned pair is there; if not, the
            verdict is :data:`TOO_FEW_PAIRS`.

    Returns:
        str: :data:`SUPPORTED`, :data:`FALSIFIED`, :data:`INCONCLUSIVE` or
        :data:`TOO_FEW_PAIRS`.
    """
    lo, hi = (float(x) for x in interval)
    if not complete or np.isnan(lo) or np.isnan(hi):
        return TOO_FEW_PAIRS
    if not lo <= hi:
        raise ValueError(f'interval {list(interval)}: lower end above upper')
    if lo > 0:
        return SUPPORTED
    if hi < min_useful_gain:
        return FALSIFIED
    return INCONCLUSIVE


def _by_key(records: Sequence[dict]) -> Dict[Tuple[str, str], Runs]:
    out: Dict[Tuple[str, str], Runs] = defaultdict(dict)
    for r in records:
        out[(r['arm'], r['variant'])][(r['seed'], r['fold'])] = r
    return out


def _first_held(sources: Sequence[Dict], arm: str, variant: str) -> Runs:
    """An arm's runs, each from the first source that has it."""
    out: Runs = {}
    for grouped in sources:
        for k, r in grouped.get((arm, variant), {}).items():
            out.setdefault(k, r)
    return out


def _pairs(
    sources: Sequence[Dict], a: str, b: str, variant: str
) -> Tuple[Runs, Runs, List[Tuple[int, int]]]:
    """Runs of A and B paired by (seed, fold), each pair from the first
    source that holds both of its runs, and the pairs of the later
    sources."""
    runs_a: Runs = {}
    runs_b: Runs = {}
    later = []
    for i, grouped in enumerate(sources):
        ga = grouped.get((a, variant), {})
        gb = grouped.get((b, variant), {})
        for k in sorted(set(ga) & set(gb) - set(runs_a)):
            runs_a[k], runs_b[k] = ga[k], gb[k]
            if i:
                later.append(k)
    return runs_a, runs_b, sorted(later)


def _same_runs(sources: Sequence[Dict], metric: str) -> List[dict]:
    """The runs the study and its completion both have, side by side: the
    same config and seed, trained on two machines."""
    study, completion = sources
    out = []
    for (arm, variant), runs in study.items():
        for (seed, fold), r in sorted(runs.items()):
            other = completion.get((arm, variant), {}).get((seed, fold))
            if other is not None:
                out.append(
                    dict(
                        arm=arm,
                        variant=variant,
                        seed=seed,
                        fold=fold,
                        study=float(r[metric]),
                        completion=float(other[metric]),
                    )
                )
    return out


def _folds(runs: Sequence[dict]) -> List[List[dict]]:
    """The runs of each fold in seed order, checked to share their test
    subjects."""
    out = []
    for f in sorted({r['fold'] for r in runs}):
        fr = sorted(
            (r for r in runs if r['fold'] == f), key=lambda r: r['seed']
        )
        subjects = fr[0]['subjects']
        for r in fr:
            if r['subjects'] != subjects:
                raise ValueError(
                    f'fold {f}: runs disagree on the test subjects '
                    f'({r["arm"]} seed {r["seed"]})'
                )
        out.append(fr)
    return out


def _scores(
    fold_runs: Sequence[dict], metric: str, per_au: bool = False
) -> Tuple[np.ndarray, np.ndarray]:
    """One fold's runs scored on the full test set and with each subject
    left out (:func:`~.statistics.run_scores` or
    :func:`~.statistics.icc_run_scores`)."""
    if metric == 'f1':
        return run_scores(np.stack([r['counts'] for r in fold_runs]), per_au)
    missing = [r['seed'] for r in fold_runs if 'intensity' not in r]
    if missing:
        raise ValueError(
            f'an ICC study needs intensity predictions; seeds {missing} of '
            f'{fold_runs[0]["arm"]} have none'
        )
    codes = fold_runs[0]['intensity_codes']
    for r in fold_runs:
        if not np.array_equal(r['intensity_codes'], codes):
            raise ValueError(
                f'fold {r["fold"]}: runs disagree on the intensity labels '
                f'({r["arm"]} seed {r["seed"]})'
            )
    return icc_run_scores(
        np.stack([r['intensity'] for r in fold_runs]),
        codes,
        fold_runs[0]['subject_index'],
        per_au,
    )


def _paired(a_folds, b_folds, metric: str, per_au: bool = False) -> list:
    """Per fold, A's scores minus B's, run by run."""
    out = []
    for a, b in zip(a_folds, b_folds):
        fa, la = _scores(a, metric, per_au)
        fb, lb = _scores(b, metric, per_au)
        out.append((fa - fb, la - lb))
    return out


def _ends(iv: Interval) -> List[float]:
    return [float(iv.low), float(iv.high)]


def arm_summary(runs: Sequence[dict], plan: StudyPlan) -> dict:
    """Mean +- sd and interval of one arm's score on one variant."""
    metric = plan.metric
    values = np.array([r[metric] for r in runs], np.float64)
    names = runs[0]['au_names']
    per_au = np.array(
        [[r[f'{metric}_per_au'][n] for n in names] for r in runs]
    )
    iv = crossed_interval(
        [_scores(fold, metric) for fold in _folds(runs)], plan.level
    )
    out = dict(
        n=len(runs),
        runs=[[r['seed'], r['fold']] for r in runs],
        seeds=sorted({r['seed'] for r in runs}),
        folds=sorted({r['fold'] for r in runs}),
        scores=values.tolist(),
        mean=float(values.mean()),
        sd=float(values.std(ddof=1)) if len(values) > 1 else None,
        interval=_ends(iv),
        per_au_mean=dict(zip(names, np.nanmean(per_au, 0).tolist())),
        train_time_s=float(np.mean([r['train_time_s'] for r in runs])),
    )
    if metric == 'f1':
        learned = [learned_aus(r, plan.learned_margin_f1) for r in runs]
        counts = [len(x) for x in learned]
        out.update(
            learned_aus=learned,
            num_learned=counts,
            num_learned_mean=float(np.mean(counts)),
            num_learned_min=int(min(counts)),
            learnable_runs=int(
                sum(c >= plan.learnable_min_aus for c in counts)
            ),
        )
    return out


def compare(
    runs_a: Runs, runs_b: Runs, plan: StudyPlan, planned: int
) -> Optional[dict]:
    """Paired comparison A - B over the (seed, fold) runs both arms have.

    Args:
        runs_a (dict): (seed, fold) -> record of arm A.
        runs_b (dict): The same for arm B.
        plan (StudyPlan): Level, thresholds.
        planned (int): Pairs the plan lists for this comparison (the verdict
            waits for all of them).

    Returns:
        dict: or None without a common run.
    """
    keys = sorted(set(runs_a) & set(runs_b))
    if not keys:
        return None
    a = _folds([runs_a[k] for k in keys])
    b = _folds([runs_b[k] for k in keys])
    names = runs_a[keys[0]]['au_names']
    strata = _paired(a, b, plan.metric)
    iv = crossed_interval(strata, plan.level)
    per_au_strata = _paired(a, b, plan.metric, per_au=True)
    au_iv = crossed_interval(per_au_strata, plan.level)
    p = sign_flip_p_values([full for full, _ in per_au_strata])
    known = ~np.isnan(p)
    p_holm = np.full(len(p), np.nan)
    p_bh = np.full(len(p), np.nan)
    p_holm[known] = holm(p[known])
    p_bh[known] = benjamini_hochberg(p[known])
    folds = sorted({f for _, f in keys})
    by_fold = {}
    if len(folds) > 1:  # descriptive: the verdict is the pooled interval's
        for f, fold_strata in zip(folds, strata):
            fiv = crossed_interval([fold_strata], plan.level)
            by_fold[str(f)] = dict(
                n_pairs=int(len(fold_strata[0])),
                diff=float(fiv.estimate),
                interval=_ends(fiv),
            )
    return dict(
        n_pairs=len(keys),
        planned_pairs=planned,
        by_fold=by_fold,
        pairs=[list(k) for k in keys],
        diff=float(iv.estimate),
        interval=_ends(iv),
        se=float(iv.se),
        df=float(iv.df),
        p=float(iv.p),
        verdict=verdict(_ends(iv), plan.min_useful_gain, len(keys) >= planned),
        per_au_test=dict(
            test='exact sign-flip within folds, Holm over AUs',
            alpha=plan.per_au_alpha,
            num_aus=int(known.sum()),
            smallest_p=smallest_p(len(keys)),
            holm_can_pass=correction_can_pass(
                len(keys), int(known.sum()), plan.per_au_alpha
            ),
        ),
        per_au={
            n: dict(
                diff=float(d),
                interval=[float(lo), float(hi)],
                p=float(pp),
                p_holm=float(ph),
                p_bh=float(pb),
            )
            for n, d, lo, hi, pp, ph, pb in zip(
                names,
                au_iv.estimate,
                au_iv.low,
                au_iv.high,
                p,
                p_holm,
                p_bh,
            )
        },
    )


def significant_aus(comparison: dict) -> List[Tuple[str, float]]:
    """(AU, difference) of the AUs whose Holm-adjusted p-value passes."""
    alpha = comparison['per_au_test']['alpha']
    return [
        (au, d['diff'])
        for au, d in comparison['per_au'].items()
        if d['p_holm'] <= alpha
    ]


def analyse(
    records: Sequence[dict],
    plan: StudyPlan,
    completed: Optional[Sequence[dict]] = None,
) -> dict:
    """Every arm summary and every comparison of the plan, per variant.

    Args:
        records (Sequence[dict]): From :func:`~.records.load_records`.
        plan (StudyPlan): The study's plan.
        completed (Sequence[dict], optional): For a completion's plan, the
            records of the study it completes; the comparisons are that
            study's, each pair from one machine.

    Returns:
        dict: ``variants`` -> {``folds``, ``arms``: {arm: summary},
        ``comparisons``: {"A - B": comparison}, ``all_present``: {AU: F1},
        ``au_names``}, with the machine, the plan's page and hash and the
        rule. A completion's adds ``completion`` (its page, hash, machine
        and runs, and ``same_runs``: the runs both machines have) and, per
        comparison, ``pairs_from_completion``.
    """
    if (completed is None) != (plan.completes is None):
        raise ValueError(
            f'{plan.path}: a completion is analysed with the records of the '
            'study it completes, and only a completion is'
        )
    sources = [_by_key(records)]
    full = plan
    if plan.completes is not None:
        full = plan.completes
        sources.insert(0, _by_key(completed))
    everything = [*(completed or ()), *records]
    out: Dict[str, dict] = {}
    for variant in sorted({r['variant'] for r in everything}):
        held = {a for g in sources for a, v in g if v == variant}
        arms = {
            arm: arm_summary(
                list(_first_held(sources, arm, variant).values()), full
            )
            for arm in dict.fromkeys([*full.arms, *sorted(held)])
            if arm in held
        }
        runs = [r for r in everything if r['variant'] == variant]
        names = runs[0]['au_names']
        # Each fold has its own test subjects, so its own baseline.
        one_per_fold = {r['fold']: r for r in runs}.values()
        all_present = np.mean(
            [all_present_f1(r['test_positive_rate']) for r in one_per_fold],
            axis=0,
        )
        cmp = {}
        for a, b in full.comparisons:
            runs_a, runs_b, later = _pairs(sources, a, b, variant)
            c = compare(
                runs_a, runs_b, full, len(full.planned_pairs(a, b, variant))
            )
            if c is not None:
                if plan.completes is not None:
                    c['pairs_from_completion'] = [list(k) for k in later]
                cmp[f'{a} - {b}'] = c
        out[variant] = dict(
            folds=sorted({r['fold'] for r in runs}),
            arms=arms,
            comparisons=cmp,
            au_names=names,
            all_present=dict(zip(names, all_present.tolist())),
        )
    first = completed if plan.completes is not None else records
    summary = dict(
        variants=out,
        machine=machine_of(first[0]) if first else None,
        plan=dict(
            path=full.path,
            sha256=full.sha256,
            preregistered=full.preregistered,
            primary=list(full.primary),
        ),
        rule=dict(
            metric=full.metric,
            level=full.level,
            min_useful_gain=full.min_useful_gain,
            per_au_alpha=full.per_au_alpha,
            learned_margin_f1=full.learned_margin_f1,
            learnable_min_aus=full.learnable_min_aus,
        ),
    )
    if plan.completes is not None:
        summary['completion'] = dict(
            study=plan.study,
            path=plan.path,
            sha256=plan.sha256,
            machine=machine_of(records[0]) if records else None,
            num_runs=len(records),
            same_runs=_same_runs(sources, full.metric),
        )
    return summary
