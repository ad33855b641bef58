"""A study's analysis as Markdown tables and a chart of its intervals."""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

from geoconv_mm.utils.atomic_io import atomic_path

from .analysis import TOO_FEW_PAIRS, significant_aus
from .plan import StudyPlan
from .records import describe_machine

#: metric -> (its name in tables, number format, unit after a gain).
METRIC_FORMATS = {'f1': ('F1', '.2f', ' F1'), 'icc': ('ICC(3,1)', '.3f', '')}


def _metric(summary: dict) -> Tuple[str, str, str]:
    return METRIC_FORMATS[summary['rule']['metric']]


def table_marks(study: str) -> Tuple[str, str]:
    """The marks around a study's headline table in a page that shows it.

    Args:
        study (str): The study's name.

    Returns:
        tuple: The begin and end marks.
    """
    return (
        f'<!-- study-table:begin {study} -->',
        f'<!-- study-table:end {study} -->',
    )


def _folds(folds: Sequence[int]) -> str:
    return ', '.join(str(f) for f in folds)


def _interval(iv: Sequence[float], fmt: str = '+.2f') -> str:
    if any(np.isnan(x) for x in iv):
        return '-'
    return f'[{iv[0]:{fmt}}, {iv[1]:{fmt}}]'


def rule_lines(summary: dict, plan: StudyPlan) -> List[str]:
    """The verdict rule and the learnability criterion, in words."""
    rule = summary['rule']
    name, _, unit = _metric(summary)
    level = f'{100 * rule["level"]:g}%'
    ref = plan.labels[plan.reference]
    lines = [
        f'Verdict on each arm against another, from the {level} interval of '
        f'the paired difference of mean {name} (t interval over training '
        'seeds and test subjects, folds as strata): supported when it lies '
        'above 0; otherwise falsified at this scale when it lies below '
        f'+{rule["min_useful_gain"]:g}{unit} (the smallest gain worth '
        f'having); otherwise inconclusive; {TOO_FEW_PAIRS} until every '
        'planned pair has run. Reference arm: ' + ref + '.',
    ]
    if rule['metric'] == 'f1':
        lines += [
            '',
            'AUs learned: AUs on which a run\'s F1 is at least '
            f'{rule["learned_margin_f1"]:g} points above predicting the AU '
            'present on every test frame (from the test labels); learnable '
            f'at this scale means at least {rule["learnable_min_aus"]} AUs.',
        ]
    return lines


def headline_table(summary: dict, plan: StudyPlan) -> List[str]:
    """Per variant and arm: runs, mean +- sd, AUs learned, and each
    comparison of the plan with its interval and verdict, between the
    study's :func:`table_marks`."""
    begin, end = table_marks(plan.study)
    name, fmt, _ = _metric(summary)
    lines = [
        begin,
        '',
        f'| variant | comparison | pairs | folds | mean {name}, A ± sd | '
        f'mean {name}, B ± sd | Δ{name} [95%] | verdict |',
        '|---|---|---|---|---|---|---|---|',
    ]
    for variant, v in summary['variants'].items():
        for name, c in v['comparisons'].items():
            a, b = name.split(' - ')
            sa, sb = v['arms'][a], v['arms'][b]
            folds = sorted({f for _, f in c['pairs']})
            pairs = f'{c["n_pairs"]}'
            if c['n_pairs'] < c['planned_pairs']:
                pairs += f' of {c["planned_pairs"]}'
            if c.get('pairs_from_completion'):
                pairs += (
                    f' ({len(c["pairs_from_completion"])} from the completion)'
                )
            lines.append(
                f'| {variant} | {plan.labels[a]} − {plan.labels[b]} | {pairs} '
                f'| {_folds(folds)} | {sa["mean"]:{fmt}} ± {_sd(sa, fmt)} | '
                f'{sb["mean"]:{fmt}} ± {_sd(sb, fmt)} | {c["diff"]:+{fmt}} '
                f'{_interval(c["interval"], "+" + fmt)} | {c["verdict"]} |'
            )
    lines += ['', end, '']
    return lines + rule_lines(summary, plan) + ['']


def _sd(s: dict, fmt: str = '.2f') -> str:
    return f'{s["sd"]:{fmt}}' if s['sd'] is not None else '-'


def replace_marked(text: str, block: str, study: str, where: str) -> str:
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


def _per_au_cell(c: dict) -> str:
    test = c['per_au_test']
    if not test['holm_can_pass']:
        return (
            f'none can pass: {c["n_pairs"]} pairs give p ≥ '
            f'{test["smallest_p"]:.3g}, Holm over {test["num_aus"]} AUs '
            f'needs ≤ {test["alpha"] / test["num_aus"]:.2g}'
        )
    sig = significant_aus(c)
    return ', '.join(f'{au} ({d:+.1f})' for au, d in sig) or 'none'


def _same_runs_table(
    same: Sequence[dict], summary: dict, plan: StudyPlan
) -> List[str]:
    """The runs both machines have: what the machine alone changes."""
    name, fmt, _ = _metric(summary)
    lines = [
        '## The same run on two machines',
        '',
        'Same config, seed and fold. A comparison takes the completion\'s '
        'copy only into a pair whose other run the study lacks.',
        '',
        f'| arm | variant | seed | fold | {name}, study\'s machine | '
        f'{name}, completion\'s machine | difference |',
        '|---|---|---|---|---|---|---|',
    ]
    lines += [
        f'| {plan.labels.get(r["arm"], r["arm"])} | {r["variant"]} | '
        f'{r["seed"]} | {r["fold"]} | {r["study"]:{fmt}} | '
        f'{r["completion"]:{fmt}} | {r["completion"] - r["study"]:+{fmt}} |'
        for r in same
    ]
    return lines + ['']


def markdown(
    summary: dict, plan: StudyPlan, failed: Sequence[dict], num_runs: int
) -> str:
    """The study report: the headline table, then per variant the arms,
    the comparisons with each fold alone, and the per-AU table.

    Args:
        summary (dict): From :func:`~.analysis.analyse`.
        plan (StudyPlan): The study's plan.
        failed (Sequence[dict]): Failed run records, listed at the end.
        num_runs (int): Finished runs.

    Returns:
        str: Markdown.
    """
    labels = plan.labels
    kind = (
        'pre-registered'
        if plan.preregistered
        else 'described after the runs, not pre-registered'
    )
    completion = summary.get('completion')
    if completion is None:
        lines = [
            f'# Study `{plan.study}`',
            '',
            f'{num_runs} finished runs, {len(failed)} failed. Plan: '
            f'`{plan.path}` ({kind}; SHA-256 {plan.sha256[:12]}). Machine: '
            f'{describe_machine(summary["machine"])}.',
            '',
        ]
    else:
        done = plan.completes
        lines = [
            f'# Study `{done.study}`, completed by `{plan.study}`',
            '',
            f'{num_runs} finished runs, {len(failed)} failed. Plan: '
            f'`{done.path}` (SHA-256 {done.sha256[:12]}), on '
            f'{describe_machine(summary["machine"])}; completed under '
            f'`{plan.path}` (SHA-256 {plan.sha256[:12]}) with '
            f'{completion["num_runs"]} runs on '
            f'{describe_machine(completion["machine"])}. Each pair is of '
            'one machine: the study\'s when it has both runs, otherwise '
            'the completion\'s.',
            '',
        ]
    lines += headline_table(summary, plan)
    if completion is not None and completion['same_runs']:
        lines += _same_runs_table(completion['same_runs'], summary, plan)
    metric = summary['rule']['metric']
    mname, fmt, _ = _metric(summary)
    # Per-AU cells: F1 in points to one decimal, ICC to two.
    au_fmt = '.1f' if metric == 'f1' else '.2f'
    for variant, v in summary['variants'].items():
        f1 = metric == 'f1'
        lines += [
            f'## Variant `{variant}`',
            '',
            f'| arm | runs | folds | mean {mname} ± sd | 95% interval | '
            f'per-run {mname} '
            + ('| AUs learned per run ' if f1 else '')
            + '| train time / run |',
            '|---|---|---|---|---|---|' + ('---|' if f1 else '') + '---|',
        ]
        for arm, s in v['arms'].items():
            lines.append(
                f'| {labels.get(arm, arm)} | {s["n"]} | {_folds(s["folds"])} '
                f'| {s["mean"]:{fmt}} ± {_sd(s, fmt)} | '
                f'{_interval(s["interval"], fmt)} | '
                f'{", ".join(f"{x:{au_fmt}}" for x in s["scores"])} | '
                + (
                    f'{", ".join(str(n) for n in s["num_learned"])} | '
                    if f1
                    else ''
                )
                + f'{s["train_time_s"] / 60:.1f} min |'
            )
        if f1:
            ap = np.mean(list(v['all_present'].values()))
            lines.append(
                f'| predict all present | - | {_folds(v["folds"])} | '
                f'{ap:.2f} | - | - | - | - |'
            )
        lines.append('')
        if not v['comparisons']:
            continue
        lines += [
            f'| paired difference | pairs | Δ{mname} | 95% interval | p | '
            'verdict | AUs with Holm p ≤ 0.05 (sign-flip test) |',
            '|---|---|---|---|---|---|---|',
        ]
        for name, c in v['comparisons'].items():
            a, b = name.split(' - ')
            shown = f'{labels.get(a, a)} − {labels.get(b, b)}'
            lines.append(
                f'| {shown} | {c["n_pairs"]} | {c["diff"]:+{fmt}} | '
                f'{_interval(c["interval"], "+" + fmt)} | {c["p"]:.3g} | '
                f'{c["verdict"]} | {_per_au_cell(c)} |'
            )
            lines += [
                f'| {shown}, fold {f} alone | {d["n_pairs"]} | '
                f'{d["diff"]:+{fmt}} | {_interval(d["interval"], "+" + fmt)}'
                ' | - | - | - |'
                for f, d in c['by_fold'].items()
            ]
        lines.append('')
        names = v['au_names']
        cmps = list(v['comparisons'])
        lines += [
            '| AU | '
            + ('all present | ' if f1 else '')
            + ' | '.join(f'{labels.get(a, a)} {mname}' for a in v['arms'])
            + ' | '
            + ' | '.join(f'Δ {c} [95%] (Holm p)' for c in cmps)
            + ' |',
            '|---|'
            + ('---|' if f1 else '')
            + '---|' * (len(v['arms']) + len(cmps)),
        ]
        for n in names:
            cells = [
                f'{s["per_au_mean"][n]:{au_fmt}}' for s in v['arms'].values()
            ]
            for c in cmps:
                d = v['comparisons'][c]['per_au'][n]
                cells.append(
                    f'{d["diff"]:+{au_fmt}} '
                    f'{_interval(d["interval"], "+" + au_fmt)} '
                    f'({d["p_holm"]:.2f})'
                )
            base = f'{v["all_present"][n]:.1f} | ' if f1 else ''
            lines.append(f'| {n} | {base}' + ' | '.join(cells) + ' |')
        lines.append('')
    if failed:
        lines += ['## Failed runs', '']
        lines += [
            f'- {f["arm"]} / {f["variant"]} / seed {f["seed"]} / fold '
            f'{f["fold"]}: {f.get("error", "?")}'
            for f in failed
        ]
        lines.append('')
    return '\n'.join(lines)


def plot_intervals(summary: dict, plan: StudyPlan, path: str) -> None:
    """Per variant: each arm's mean score with its interval, and every
    comparison's paired difference with its interval (PNG, atomically)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    labels = plan.labels
    mname = _metric(summary)[0]
    variants = list(summary['variants'])
    fig, axes = plt.subplots(
        2,
        len(variants),
        figsize=(max(7.5, 4.8 * len(variants)), 7.0),
        squeeze=False,
    )
    level = f'{100 * summary["rule"]["level"]:g}%'
    for j, variant in enumerate(variants):
        v = summary['variants'][variant]
        ax = axes[0, j]
        arms = list(v['arms'])
        for i, arm in enumerate(arms):
            s = v['arms'][arm]
            lo, hi = s['interval']
            if not np.isnan(lo):
                ax.errorbar(
                    s['mean'],
                    i,
                    xerr=[[s['mean'] - lo], [hi - s['mean']]],
                    fmt='o',
                    capsize=4,
                    color='tab:blue',
                )
            ax.plot(
                s['scores'],
                [i] * len(s['scores']),
                '.',
                color='tab:gray',
                alpha=0.6,
            )
        if summary['rule']['metric'] == 'f1':
            ap = np.mean(list(v['all_present'].values()))
            ax.axvline(ap, color='tab:red', ls='--', lw=1, label='all present')
            ax.legend(fontsize=7, loc='best')
        ax.set_yticks(
            range(len(arms)),
            [f'{labels.get(a, a)} (n={v["arms"][a]["n"]})' for a in arms],
            fontsize=8,
        )
        ax.set_xlabel(f'mean {mname} over AUs')
        ax.set_title(f'{variant}: mean {mname}, {level} interval', fontsize=9)
        # Top to bottom in the tables' order.
        ax.set_ylim(len(arms) - 0.4, -0.6)
        ax = axes[1, j]
        cmps = list(v['comparisons'])
        for i, c in enumerate(cmps):
            d = v['comparisons'][c]
            lo, hi = d['interval']
            if np.isnan(lo):
                continue
            ax.errorbar(
                d['diff'],
                i,
                xerr=[[d['diff'] - lo], [hi - d['diff']]],
                fmt='s',
                capsize=4,
                color='tab:green',
            )
        ax.axvline(0, color='k', lw=1)
        ax.set_ylim(len(cmps) - 0.4, -0.6)
        ax.set_yticks(
            range(len(cmps)),
            [
                f'{labels.get(c.split(" - ")[0])} − '
                f'{labels.get(c.split(" - ")[1])} '
                f'({v["comparisons"][c]["n_pairs"]})'
                for c in cmps
            ],
            fontsize=7,
        )
        ax.set_xlabel(f'paired Δ{mname}')
        ax.set_title(f'{variant}: differences, {level} intervals', fontsize=9)
    fig.tight_layout()
    with atomic_path(path, '.tmp.png') as tmp:
        # 'tight' keeps the long comparison labels inside the picture.
        fig.savefig(tmp, dpi=110, format='png', bbox_inches='tight')
    plt.close(fig)
