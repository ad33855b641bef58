"""Analysis of a multi-run AU study: one result record per (arm, variant, seed,
fold).

The analysis is fixed before any run (it is what
``tools/analysis_tools/synthau_experiment.py`` reports; the README repeats it):

* per arm and variant: number of runs, mean +- sd (ddof 1) of the mean F1 over
  AUs, and a 95% bootstrap interval of that mean
  (:func:`single_arm_bootstrap`);
* paired comparisons against a reference arm on the runs present in both (same
  variant, seed and fold): the difference of mean F1 with a 95% percentile
  interval of the paired bootstrap over test subjects and seeds (10,000
  replicates, within folds; :func:`paired_bootstrap`), and per AU the
  difference, its interval, the bootstrap p-value and Holm's adjustment over
  the AUs of the comparison (BH is given beside it); where the pairs span
  several folds, each fold's difference and interval beside the pooled one,
  as a description (the verdict is the pooled interval's);
* the all-present baseline per AU, from the stored test labels (the mean of
  the folds' baselines where a variant has several), and per run
  the number of AUs *learned*: F1 at least :data:`LEARNED_MARGIN_F1` points
  above that baseline (:func:`learned_aus`); per arm and variant its mean and
  minimum over runs. A data set is learnable at the demo's scale when a run
  learns at least :data:`LEARNABLE_MIN_AUS` AUs.

The rule for each arm against the reference arm (plain convolutions), applied
to the 95% interval of the paired difference of mean F1 (:func:`verdict`):

* *supported* when the interval lies above 0;
* otherwise *falsified at this scale* when it lies below
  :data:`MIN_USEFUL_GAIN_F1`, the smallest gain in mean F1 worth having;
* otherwise *inconclusive*.

Records are JSON files (see :func:`load_records`) with the test predictions of
the run in a ``.npz`` next to them (:class:`AUPredictionDump`). A study folder
holds the runs of one machine and thread count (:func:`check_one_machine`): a
seed's result depends on the CPU's instruction set, the torch build and the
thread count, so runs pair by seed only when these agree.
"""

from __future__ import annotations

import json
import os
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..utils.host import describe_host
from .metrics.au_prediction_dump import load_predictions
from .statistics import (
    PairedStratum,
    benjamini_hochberg,
    bootstrap_p_value,
    f1_from_counts,
    holm,
    paired_bootstrap,
    percentile_interval,
    single_arm_bootstrap,
    subject_counts,
)

NUM_BOOT = 10000
RUN_FIELDS = ('arm', 'variant', 'seed', 'fold')

#: F1 points above the all-present baseline for an AU to count as learned.
LEARNED_MARGIN_F1 = 10.0
#: Learned AUs a run needs for its data set to count as learnable.
LEARNABLE_MIN_AUS = 10
#: The smallest gain in mean F1 (points) worth having.
MIN_USEFUL_GAIN_F1 = 1.0
#: Paired (seed, fold) runs a comparison needs before it gets a verdict; the
#: study plan's seed count, so an interrupted study states none.
MIN_PAIRS_FOR_VERDICT = 5
SUPPORTED = 'supported'
FALSIFIED = 'falsified at this scale'
INCONCLUSIVE = 'inconclusive'
TOO_FEW_PAIRS = 'no verdict yet'


def verdict(ci95: Sequence[float], n_pairs: Optional[int] = None) -> str:
    """The pre-registered verdict on "arm A helps" from the A - B interval.

    Args:
        ci95 (Sequence[float]): Lower and upper end of the 95% interval of the
            paired difference of mean F1, in F1 points.
        n_pairs (int, optional): Paired runs behind the interval; fewer than
            :data:`MIN_PAIRS_FOR_VERDICT` give :data:`TOO_FEW_PAIRS`.

    Returns:
        str: :data:`SUPPORTED` when the interval lies above 0, else
        :data:`FALSIFIED` when it lies below :data:`MIN_USEFUL_GAIN_F1`, else
        :data:`INCONCLUSIVE`.
    """
    lo, hi = (float(x) for x in ci95)
    if not lo <= hi:
        raise ValueError(f'interval {list(ci95)}: lower end above upper end')
    if n_pairs is not None and n_pairs < MIN_PAIRS_FOR_VERDICT:
        return TOO_FEW_PAIRS
    if lo > 0:
        return SUPPORTED
    if hi < MIN_USEFUL_GAIN_F1:
        return FALSIFIED
    return INCONCLUSIVE


def rule_lines(reference: str) -> List[str]:
    """The verdict rule and the learnability criterion, in words."""
    return [
        f'Verdict on each arm against `{reference}`, from the 95% interval of '
        f'the paired difference of mean F1: {SUPPORTED} when it lies above 0; '
        f'otherwise {FALSIFIED} when it lies below '
        f'+{MIN_USEFUL_GAIN_F1:g} F1 (the smallest gain worth having); '
        f'otherwise {INCONCLUSIVE}; {TOO_FEW_PAIRS} with fewer than '
        f'{MIN_PAIRS_FOR_VERDICT} paired runs.',
        '',
        f'AUs learned: AUs on which a run\'s F1 is at least '
        f'{LEARNED_MARGIN_F1:g} points above predicting the AU present on '
        f'every test frame (from the test labels); learnable at this scale '
        f'means at least {LEARNABLE_MIN_AUS} AUs.',
    ]


def all_present_f1(positive_rate: Sequence[float]) -> np.ndarray:
    """F1 (%) of predicting every frame positive: precision p, recall 1."""
    p = np.asarray(positive_rate, np.float64)
    return 200 * p / (1 + p)


def learned_aus(record: dict, margin: float = LEARNED_MARGIN_F1) -> List[str]:
    """AUs a run beats the all-present baseline on by at least ``margin``.

    Both F1 values come from the run's stored test predictions; an AU without
    any known test label is never learned.

    Args:
        record (dict): From :func:`load_records`.
        margin (float): F1 points.

    Returns:
        list: AU names, in the record's order.
    """
    f1 = per_au_f1_of(record)
    base = all_present_f1(record['test_positive_rate'])
    with np.errstate(invalid='ignore'):
        hit = f1 - base >= margin
    return [n for n, h in zip(record['au_names'], hit) if h]


def run_name(arm: str, variant: str, seed: int, fold: int) -> str:
    """File stem of one run's record."""
    return f'{arm}__{variant}__seed{seed}__fold{fold}'


def machine_of(record: dict) -> dict:
    """What a run's exact result depends on besides its config and seed: the
    host fingerprint (:func:`geoconv_mm.utils.host.host_fingerprint`; none
    in records that predate it) and ``OMP_NUM_THREADS`` (another thread count
    sums in another order).

    Args:
        record (dict): A run record, or a dict with the same two keys.

    Returns:
        dict: ``host`` and ``omp_num_threads``.
    """
    return dict(
        host=record.get('host'), omp_num_threads=record.get('omp_num_threads')
    )


def _describe_machine(machine: dict) -> str:
    return (
        f'{describe_host(machine["host"])}, OMP_NUM_THREADS='
        f'{machine["omp_num_threads"] or "unset"}'
    )


def check_one_machine(
    records: Sequence[dict], where: str, current: Optional[dict] = None
) -> None:
    """Raise unless every record, and ``current`` if given, has one
    :func:`machine_of`.

    Args:
        records (Sequence[dict]): Run records.
        where (str): The study folder, for the error.
        current (dict, optional): :func:`machine_of` the process about to
            add runs.
    """
    runs: Dict[str, List[str]] = defaultdict(list)
    for r in records:
        key = json.dumps(machine_of(r), sort_keys=True)
        runs[key].append(run_name(*(r[k] for k in RUN_FIELDS)))
    if current is not None:
        runs[json.dumps(current, sort_keys=True)].append('this process')
    if len(runs) > 1:
        found = '; '.join(
            f'{_describe_machine(json.loads(k))}: {", ".join(v[:2])}'
            + (f' and {len(v) - 2} more' if len(v) > 2 else '')
            for k, v in runs.items()
        )
        raise ValueError(
            f'{where}: runs of different machines or thread counts '
            f'({found}). A seed\'s result depends on the CPU\'s instruction '
            'set, the torch build and the thread count, so runs pair by '
            'seed only when these agree: give each its own study folder'
        )


def load_records(study_dir: str) -> Tuple[List[dict], List[dict]]:
    """Finished and failed run records of a study folder, all of one machine
    (:func:`check_one_machine`).

    Returns:
        tuple: finished records (each with ``counts`` (S, A, 4), ``subjects``
        and ``au_names`` from its predictions), failed records.
    """
    done, failed = [], []
    for name in sorted(os.listdir(study_dir)) if osp.isdir(study_dir) else []:
        if not name.endswith('.json') or name.startswith('summary'):
            continue
        with open(osp.join(study_dir, name)) as fh:
            rec = json.load(fh)
        missing = [
            k for k in RUN_FIELDS + ('f1', 'predictions') if k not in rec
        ]
        if missing:
            raise ValueError(
                f'{study_dir}/{name}: not a run record (no {missing})'
            )
        pred = load_predictions(osp.join(study_dir, rec['predictions']))
        ids, counts = subject_counts(
            pred['scores'], pred['gt'], pred['mask'], pred['subjects']
        )
        rec['subjects'], rec['counts'] = ids, counts
        rec['au_names'] = [str(n) for n in pred['au_names']]
        rec['test_positive_rate'] = (pred['gt'] * pred['mask']).sum(
            0
        ) / np.maximum(pred['mask'].sum(0), 1)
        done.append(rec)
    check_one_machine(done, study_dir)
    fail_dir = osp.join(study_dir, 'failed')
    if osp.isdir(fail_dir):
        for name in sorted(os.listdir(fail_dir)):
            if name.endswith('.json'):
                with open(osp.join(fail_dir, name)) as fh:
                    failed.append(json.load(fh))
    return done, failed


def _by_key(
    records: Sequence[dict],
) -> Dict[Tuple[str, str], Dict[Tuple[int, int], dict]]:
    out: Dict[Tuple[str, str], Dict[Tuple[int, int], dict]] = defaultdict(dict)
    for r in records:
        out[(r['arm'], r['variant'])][(r['seed'], r['fold'])] = r
    return out


def _strata(runs: Sequence[dict]) -> List[np.ndarray]:
    folds = sorted({r['fold'] for r in runs})
    out = []
    for f in folds:
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
        out.append(np.stack([r['counts'] for r in fr]))
    return out


def arm_summary(runs: Sequence[dict], num_boot: int = NUM_BOOT) -> dict:
    """Mean +- sd and 95% interval of one arm's mean F1 on one variant."""
    f1 = np.array([r['f1'] for r in runs], np.float64)
    names = runs[0]['au_names']
    per_au = np.array([[r['f1_per_au'][n] for n in names] for r in runs])
    boot = single_arm_bootstrap(_strata(runs), num_boot)
    lo, hi = percentile_interval(boot['boot_mean'])
    learned = [learned_aus(r) for r in runs]
    counts = [len(x) for x in learned]
    return dict(
        n=len(runs),
        runs=[[r['seed'], r['fold']] for r in runs],
        seeds=sorted({r['seed'] for r in runs}),
        folds=sorted({r['fold'] for r in runs}),
        f1=f1.tolist(),
        mean=float(f1.mean()),
        sd=float(f1.std(ddof=1)) if len(f1) > 1 else None,
        ci95=[float(lo), float(hi)],
        per_au_mean=dict(zip(names, per_au.mean(0).tolist())),
        train_time_s=float(np.mean([r['train_time_s'] for r in runs])),
        learned_aus=learned,
        num_learned=counts,
        num_learned_mean=float(np.mean(counts)),
        num_learned_min=int(min(counts)),
        learnable_runs=int(sum(c >= LEARNABLE_MIN_AUS for c in counts)),
    )


def compare(
    runs_a: Dict[Tuple[int, int], dict],
    runs_b: Dict[Tuple[int, int], dict],
    num_boot: int = NUM_BOOT,
) -> Optional[dict]:
    """Paired comparison A - B over the (seed, fold) runs both arms have."""
    keys = sorted(set(runs_a) & set(runs_b))
    if not keys:
        return None
    a = [runs_a[k] for k in keys]
    b = [runs_b[k] for k in keys]
    strata = [PairedStratum(ca, cb) for ca, cb in zip(_strata(a), _strata(b))]
    res = paired_bootstrap(strata, num_boot)
    names = a[0]['au_names']
    lo, hi = percentile_interval(res['boot_mean'])
    au_lo, au_hi = percentile_interval(res['boot_au'])
    p = bootstrap_p_value(res['boot_au'])
    folds = sorted({f for _, f in keys})
    by_fold = {}
    if len(folds) > 1:  # descriptive: the verdict is the pooled interval's
        for f in folds:
            c = compare(
                {k: v for k, v in runs_a.items() if k[1] == f},
                {k: v for k, v in runs_b.items() if k[1] == f},
                num_boot,
            )
            by_fold[str(f)] = dict(
                n_pairs=c['n_pairs'], diff=c['diff'], ci95=c['ci95']
            )
    return dict(
        n_pairs=len(keys),
        by_fold=by_fold,
        pairs=[list(k) for k in keys],
        diff=float(res['diff_mean']),
        ci95=[float(lo), float(hi)],
        p=float(bootstrap_p_value(res['boot_mean'])),
        verdict=verdict((lo, hi), len(keys)),
        per_au={
            n: dict(
                diff=float(d),
                ci95=[float(lo), float(h)],
                p=float(pp),
                p_holm=float(ph),
                p_bh=float(pb),
            )
            for n, d, lo, h, pp, ph, pb in zip(
                names,
                res['diff_au'],
                au_lo,
                au_hi,
                p,
                holm(p),
                benjamini_hochberg(p),
            )
        },
    )


def analyse(
    records: Sequence[dict],
    comparisons: Sequence[Tuple[str, str]],
    num_boot: int = NUM_BOOT,
) -> dict:
    """Every arm summary and every listed paired comparison, per variant.

    Args:
        records (Sequence[dict]): From :func:`load_records`.
        comparisons (Sequence[tuple]): (arm A, arm B) pairs; A - B is reported.

    Returns:
        dict: ``variants`` -> {``folds``, ``arms``: {arm: summary},
        ``comparisons``: {"A - B": comparison, with ``by_fold``},
        ``all_present``: {AU: F1, the mean over folds}, ``au_names``}.
    """
    grouped = _by_key(records)
    out: Dict[str, dict] = {}
    for variant in sorted({r['variant'] for r in records}):
        arms = {
            arm: arm_summary(list(runs.values()), num_boot)
            for (arm, v), runs in sorted(grouped.items())
            if v == variant
        }
        runs = [r for r in records if r['variant'] == variant]
        names = runs[0]['au_names']
        # Each fold has its own test subjects, so its own baseline.
        one_per_fold = {r['fold']: r for r in runs}.values()
        all_present = np.mean(
            [all_present_f1(r['test_positive_rate']) for r in one_per_fold],
            axis=0,
        )
        cmp = {}
        for a, b in comparisons:
            if (a, variant) in grouped and (b, variant) in grouped:
                c = compare(
                    grouped[(a, variant)], grouped[(b, variant)], num_boot
                )
                if c is not None:
                    cmp[f'{a} - {b}'] = c
        out[variant] = dict(
            folds=sorted({r['fold'] for r in runs}),
            arms=arms,
            comparisons=cmp,
            au_names=names,
            all_present=dict(zip(names, all_present.tolist())),
        )
    return dict(
        variants=out,
        machine=machine_of(records[0]) if records else None,
        num_boot=num_boot,
        rule=dict(
            min_useful_gain_f1=MIN_USEFUL_GAIN_F1,
            learned_margin_f1=LEARNED_MARGIN_F1,
            learnable_min_aus=LEARNABLE_MIN_AUS,
        ),
    )


def table_marks(study: str) -> Tuple[str, str]:
    """The marks around a study's headline table in its summary.md and in the
    README, which can hold the tables of several studies.

    Args:
        study (str): The study's name (its folder's).

    Returns:
        tuple: The begin and end marks.
    """
    return (
        f'<!-- synthau-study-table:begin {study} -->',
        f'<!-- synthau-study-table:end {study} -->',
    )


def _folds(folds: Sequence[int]) -> str:
    return ', '.join(str(f) for f in folds)


def headline_table(
    summary: dict,
    labels: Dict[str, str],
    study: str,
    reference: str = 'plain',
) -> List[str]:
    """Per variant and arm: runs, mean +- sd, AUs learned, the paired
    difference against ``reference`` with its 95% interval, and the verdict,
    between the study's :func:`table_marks`."""
    begin, end = table_marks(study)
    lines = [
        begin,
        '',
        f'| variant | arm | runs | folds | mean F1 ± sd | AUs learned, mean '
        f'(min) | Δ vs {labels.get(reference, reference)} [95%] | pairs '
        '| verdict |',
        '|---|---|---|---|---|---|---|---|---|',
    ]
    for variant, v in summary['variants'].items():
        # The reference arm first, the others in the summary's order.
        order = sorted(v['arms'], key=lambda a: a != reference)
        for arm in order:
            s = v['arms'][arm]
            sd = f'{s["sd"]:.2f}' if s['sd'] is not None else '-'
            c = v['comparisons'].get(f'{arm} - {reference}')
            if c is None:
                diff, pairs, verdict_ = '-', '-', '-'
            else:
                diff = (
                    f'{c["diff"]:+.2f} [{c["ci95"][0]:+.2f}, '
                    f'{c["ci95"][1]:+.2f}]'
                )
                pairs, verdict_ = str(c['n_pairs']), c['verdict']
            lines.append(
                f'| {variant} | {labels.get(arm, arm)} | {s["n"]} | '
                f'{_folds(s["folds"])} | '
                f'{s["mean"]:.2f} ± {sd} | {s["num_learned_mean"]:.1f} '
                f'({s["num_learned_min"]}) of {len(v["au_names"])} | {diff} '
                f'| {pairs} | {verdict_} |'
            )
    # The rule stays outside the marks: the README states it once itself.
    lines += ['', end, '']
    lines += rule_lines(labels.get(reference, reference)) + ['']
    return lines


def replace_marked(
    text: str, block: str, study: str, where: str = 'text'
) -> str:
    """``text`` with the part between the study's :func:`table_marks` (marks
    included) replaced by ``block``, which must carry the marks too.

    Args:
        text (str): A document with exactly one pair of the study's marks.
        block (str): The new marked part (from :func:`headline_table`).
        study (str): The study's name.
        where (str): Name of the document, for errors.

    Returns:
        str: The document with the block in place.
    """
    begin, end_mark = table_marks(study)
    for name, t in ((where, text), ('the table', block)):
        if t.count(begin) != 1 or t.count(end_mark) != 1:
            raise ValueError(
                f'{name}: needs exactly one {begin} and one {end_mark}'
            )
    start = text.index(begin)
    end = text.index(end_mark) + len(end_mark)
    if end < start:
        raise ValueError(f'{where}: {end_mark} comes before {begin}')
    b0 = block.index(begin)
    b1 = block.index(end_mark) + len(end_mark)
    return text[:start] + block[b0:b1] + text[end:]


def markdown(
    summary: dict,
    labels: Dict[str, str],
    failed: Sequence[dict],
    study: str,
    reference: str = 'plain',
) -> str:
    """The study report as Markdown tables, the headline table first.

    Args:
        summary (dict): From :func:`analyse`.
        labels (dict): Arm name -> label shown.
        failed (Sequence[dict]): Failed run records, listed at the end.
        study (str): The study's name, for the table's marks.
        reference (str): Arm the headline table compares against.

    Returns:
        str: Markdown.
    """
    lines = [f'Machine: {_describe_machine(summary["machine"])}.', '']
    lines += headline_table(summary, labels, study, reference)
    for variant, v in summary['variants'].items():
        ap = np.mean(list(v['all_present'].values()))
        lines += [
            f'### Variant `{variant}`',
            '',
            '| arm | runs | folds | mean F1 ± sd | 95% interval | per-run F1 '
            '| AUs learned per run | train time / run |',
            '|---|---|---|---|---|---|---|---|',
        ]
        for arm, s in v['arms'].items():
            sd = f'{s["sd"]:.2f}' if s['sd'] is not None else '-'
            lines.append(
                f'| {labels.get(arm, arm)} | {s["n"]} | {_folds(s["folds"])} '
                f'| {s["mean"]:.2f} ± '
                f'{sd} | [{s["ci95"][0]:.2f}, {s["ci95"][1]:.2f}] | '
                f'{", ".join(f"{x:.1f}" for x in s["f1"])} | '
                f'{", ".join(str(n) for n in s["num_learned"])} | '
                f'{s["train_time_s"] / 60:.1f} min |'
            )
        lines += [
            f'| predict all present | - | {_folds(v["folds"])} | {ap:.2f} '
            '| - | - | - | - |',
            '',
        ]
        if v['comparisons']:
            lines += [
                '| paired difference | pairs | ΔF1 | 95% interval | p '
                '| verdict | AUs with Holm p < 0.05 |',
                '|---|---|---|---|---|---|---|',
            ]
            for name, c in v['comparisons'].items():
                sig = [
                    f'{au} ({d["diff"]:+.1f})'
                    for au, d in c['per_au'].items()
                    if d['p_holm'] < 0.05
                ]
                lines.append(
                    f'| {name} | {c["n_pairs"]} | {c["diff"]:+.2f} | '
                    f'[{c["ci95"][0]:+.2f}, {c["ci95"][1]:+.2f}] | '
                    f'{c["p"]:.3f} | {c["verdict"]} | '
                    f'{", ".join(sig) or "none"} |'
                )
                lines += [
                    f'| {name}, fold {f} alone | {d["n_pairs"]} | '
                    f'{d["diff"]:+.2f} | [{d["ci95"][0]:+.2f}, '
                    f'{d["ci95"][1]:+.2f}] | - | - | - |'
                    for f, d in c['by_fold'].items()
                ]
            lines.append('')
            names = v['au_names']
            cmps = list(v['comparisons'])
            lines += [
                '| AU | all present | '
                + ' | '.join(f'{labels.get(a, a)} F1' for a in v['arms'])
                + ' | '
                + ' | '.join(f'Δ {c} [95%] (Holm p)' for c in cmps)
                + ' |',
                '|---|---|' + '---|' * (len(v['arms']) + len(cmps)),
            ]
            for n in names:
                cells = [
                    f'{s["per_au_mean"][n]:.1f}' for s in v['arms'].values()
                ]
                cells += [
                    f'{v["comparisons"][c]["per_au"][n]["diff"]:+.1f} '
                    f'[{v["comparisons"][c]["per_au"][n]["ci95"][0]:+.1f}, '
                    f'{v["comparisons"][c]["per_au"][n]["ci95"][1]:+.1f}] '
                    f'({v["comparisons"][c]["per_au"][n]["p_holm"]:.2f})'
                    for c in cmps
                ]
                lines.append(
                    f'| {n} | {v["all_present"][n]:.1f} | '
                    + ' | '.join(cells)
                    + ' |'
                )
            lines.append('')
    if failed:
        lines += ['### Failed runs', '']
        lines += [
            f'- {f["arm"]} / {f["variant"]} / seed {f["seed"]} / fold '
            f'{f["fold"]}: {f.get("error", "?")}'
            for f in failed
        ]
        lines.append('')
    return '\n'.join(lines)


def plot_intervals(
    summary: dict, labels: Dict[str, str], path: str, reference: str = 'plain'
) -> None:
    """Per variant: each arm's mean F1 with its 95% interval, and the paired
    differences against ``reference`` with theirs (PNG, atomically)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from geoconv_mm.utils.atomic_io import atomic_path

    variants = list(summary['variants'])
    fig, axes = plt.subplots(
        2,
        len(variants),
        # Wide enough for the longest labels and titles with one variant.
        figsize=(max(7.0, 4.6 * len(variants)), 6.4),
        squeeze=False,
    )
    for j, variant in enumerate(variants):
        v = summary['variants'][variant]
        ax = axes[0, j]
        arms = list(v['arms'])
        for i, arm in enumerate(arms):
            s = v['arms'][arm]
            ax.errorbar(
                s['mean'],
                i,
                xerr=[[s['mean'] - s['ci95'][0]], [s['ci95'][1] - s['mean']]],
                fmt='o',
                capsize=4,
                color='tab:blue',
            )
            ax.plot(
                s['f1'], [i] * len(s['f1']), '.', color='tab:gray', alpha=0.6
            )
        ap = np.mean(list(v['all_present'].values()))
        ax.axvline(ap, color='tab:red', ls='--', lw=1, label='all present')
        ax.set_yticks(
            range(len(arms)),
            [f'{labels.get(a, a)} (n={v["arms"][a]["n"]})' for a in arms],
            fontsize=8,
        )
        ax.set_xlabel('mean F1 over AUs (%)')
        ax.set_title(f'{variant}: mean F1, 95% interval', fontsize=9)
        ax.set_ylim(-0.6, len(arms) - 0.4)
        ax.legend(fontsize=7, loc='best')
        ax = axes[1, j]
        cmps = [c for c in v['comparisons'] if c.endswith(f' - {reference}')]
        for i, c in enumerate(cmps):
            d = v['comparisons'][c]
            ax.errorbar(
                d['diff'],
                i,
                xerr=[[d['diff'] - d['ci95'][0]], [d['ci95'][1] - d['diff']]],
                fmt='s',
                capsize=4,
                color='tab:green',
            )
        ax.axvline(0, color='k', lw=1)
        ax.set_ylim(-0.6, len(cmps) - 0.4)
        ax.set_yticks(
            range(len(cmps)),
            [
                f'{labels.get(c.split(" - ")[0], c)} '
                f'(pairs={v["comparisons"][c]["n_pairs"]})'
                for c in cmps
            ],
            fontsize=8,
        )
        ax.set_xlabel(
            f'paired ΔF1 vs {labels.get(reference, reference)} (points)'
        )
        ax.set_title(
            f'{variant}: difference, 95% bootstrap interval', fontsize=9
        )
    fig.tight_layout()
    with atomic_path(path, '.tmp.png') as tmp:
        fig.savefig(tmp, dpi=110, format='png')
    plt.close(fig)


def per_au_f1_of(record: dict) -> np.ndarray:
    """A record's per-AU F1 recomputed from its predictions (a consistency
    check).
    """
    return f1_from_counts(record['counts'].sum(0))
