"""A study's plan, read from its pre-registration.

The pre-registration is a Markdown page (``docs/en/study/*.md``) that states
the hypotheses, the design and the analysis in words, and holds the design
once, machine-readable, in a fenced block whose info string is
``json study-plan``. The runner trains exactly the runs that block lists and
the analysis applies exactly the comparisons and thresholds it fixes, so the
words and the numbers cannot drift apart.

A plan with ``"preregistered": true`` can be run, and only when its page is
committed and unchanged since the study's first record
(:func:`check_can_run`): every record carries the page's SHA-256. A plan
with ``"preregistered": false`` describes, after the fact, a study that was
run without one; it can be analysed, never extended.

A study folder holds the runs of one machine
(:func:`~geoconv_mm.study.records.check_one_machine`). When that machine is
gone before a study is complete, a *completion* finishes it on another: its
plan block names the page it completes (``"completes"``) and lists, per arm,
the seeds and folds it runs (``"runs"``); the arms' configs, the comparisons
and the analysis are the completed plan's. The analysis takes each of the
completed plan's pairs from one machine
(:func:`geoconv_mm.study.analysis.analyse`).
"""

from __future__ import annotations

import hashlib
import json
import os.path as osp
import re
import subprocess
from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Sequence, Tuple

#: The info string of the fenced block that holds a plan.
PLAN_FENCE = 'json study-plan'
_BLOCK = re.compile(
    r'^```' + re.escape(PLAN_FENCE) + r'[ \t]*\n(.*?)^```[ \t]*$',
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True)
class ArmPlan:
    """One arm: a config trained with each seed on each fold of each
    variant.

    Args:
        name (str): Short name (record files, comparisons).
        label (str): Name shown in tables.
        config (str): Config path, relative to the repository root.
        seeds (tuple[int]): Training seeds.
        folds (dict): Variant -> folds (1-based) the arm runs on; a variant
            missing here is not run.
    """

    name: str
    label: str
    config: str
    seeds: Tuple[int, ...]
    folds: Dict[str, Tuple[int, ...]]

    def runs(self, variant: str) -> List[Tuple[int, int]]:
        """(seed, fold) runs of this arm on ``variant``."""
        folds = self.folds.get(variant, ())
        return [(s, f) for s in self.seeds for f in folds]


@dataclass(frozen=True)
class StudyPlan:
    """The design and the analysis of a study, as its pre-registration
    fixes them.

    Args:
        path (str): The page the plan was read from.
        sha256 (str): SHA-256 of that page's bytes.
        study (str): The study's name: its records go to
            ``docs/results/<study>/``.
        preregistered (bool): Whether the page was written before the runs.
        variants (tuple[str]): SynthAU variants every arm runs on.
        arms (dict): name -> :class:`ArmPlan`, in the page's order.
        reference (str): The arm of plain convolutions.
        primary (tuple): (A, B) of the primary comparison, A - B.
        secondary (tuple): Further (A, B) comparisons.
        level (float): Coverage of every interval.
        min_useful_gain_f1 (float): The smallest gain in mean F1 worth having
            (the verdict's falsification threshold).
        per_au_alpha (float): Family-wise error rate of the per-AU tests.
        learned_margin_f1 (float): F1 points above the all-present baseline
            for an AU to count as learned.
        learnable_min_aus (int): Learned AUs that make a run's data set
            learnable at this scale.
        completes (StudyPlan, optional): For a completion, the plan it
            completes; its comparisons and analysis are that plan's.
    """

    path: str
    sha256: str
    study: str
    preregistered: bool
    variants: Tuple[str, ...]
    arms: Dict[str, ArmPlan]
    reference: str
    primary: Tuple[str, str]
    secondary: Tuple[Tuple[str, str], ...] = ()
    level: float = 0.95
    min_useful_gain_f1: float = 1.0
    per_au_alpha: float = 0.05
    learned_margin_f1: float = 10.0
    learnable_min_aus: int = 10
    completes: Optional['StudyPlan'] = None

    @property
    def labels(self) -> Dict[str, str]:
        """Arm name -> the label tables show."""
        return {n: a.label for n, a in self.arms.items()}

    @property
    def comparisons(self) -> List[Tuple[str, str]]:
        """The primary comparison, then the secondary ones."""
        return [self.primary, *self.secondary]

    def planned_pairs(
        self, a: str, b: str, variant: str
    ) -> List[Tuple[int, int]]:
        """(seed, fold) runs both arms are planned to have on ``variant``."""
        both = set(self.arms[a].runs(variant)) & set(
            self.arms[b].runs(variant)
        )
        return sorted(both)

    def jobs(self) -> List[Tuple[str, str, int, int]]:
        """Every planned run as (arm, variant, seed, fold): first the runs of
        the primary comparison, then the others, each part seed by seed, so
        that the primary question is answered first and a study stopped at
        any point has about as many seeds in every arm."""
        runs = [
            (arm.name, variant, seed, fold)
            for arm in self.arms.values()
            for variant in self.variants
            for seed, fold in arm.runs(variant)
        ]
        return sorted(
            runs,
            key=lambda r: (
                r[0] not in self.primary,
                r[2],
                r[3],
                self.variants.index(r[1]),
                list(self.arms).index(r[0]),
            ),
        )


def read_plan(path: str) -> StudyPlan:
    """Read the plan of a pre-registration page.

    Raises:
        FileNotFoundError: The page does not exist.
        ValueError: No plan block, several, or a plan that does not hold
            together (names the page and the field).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'pre-registration not found: {path}')
    with open(path, 'rb') as fh:
        raw = fh.read()
    blocks = _BLOCK.findall(raw.decode('utf-8'))
    if len(blocks) != 1:
        raise ValueError(
            f'{path}: needs exactly one ```{PLAN_FENCE} block, found '
            f'{len(blocks)}'
        )
    try:
        spec = json.loads(blocks[0])
    except json.JSONDecodeError as exc:
        raise ValueError(
            f'{path}: the plan block is not JSON: {exc}'
        ) from None
    try:
        return _plan(spec, path, hashlib.sha256(raw).hexdigest())
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f'{path}: plan: {exc}') from None


def _pair(value: Sequence[str], arms: Dict[str, ArmPlan]) -> Tuple[str, str]:
    a, b = value
    for name in (a, b):
        if name not in arms:
            raise ValueError(f'comparison {a} - {b}: no arm {name!r}')
    return a, b


def _completion(spec: dict, path: str, sha256: str) -> StudyPlan:
    """The plan of a completion: the completed plan's, with the study name,
    the page and the runs of the completion."""
    unknown = set(spec) - {'study', 'preregistered', 'completes', 'runs'}
    if unknown:
        raise ValueError(f'unknown fields {sorted(unknown)} in a completion')
    base = read_plan(osp.join(osp.dirname(path), spec['completes']))
    if base.completes is not None:
        raise ValueError(f'{base.path} is itself a completion')
    if not base.preregistered:
        raise ValueError(
            f'{base.path} was not pre-registered: only a pre-registered '
            'study can be completed'
        )
    study = str(spec['study'])
    if study == base.study:
        raise ValueError(
            f'a completion needs a study name of its own, not {study!r}'
        )
    arms = {}
    for name, r in spec['runs'].items():
        if name not in base.arms:
            raise ValueError(f'{base.path} has no arm {name!r}')
        planned = base.arms[name]
        seeds = tuple(int(s) for s in r['seeds'])
        folds = {
            v: tuple(int(f) for f in r['folds'])
            for v in base.variants
            if planned.folds.get(v)
        }
        extra = sorted(
            (s, f)
            for v, fs in folds.items()
            for s in seeds
            for f in fs
            if (s, f) not in planned.runs(v)
        )
        if extra or not seeds or not any(folds.values()):
            raise ValueError(
                f'arm {name!r}: runs (seed, fold) {extra or "none"} that '
                f'{base.path} does not plan'
            )
        arms[name] = replace(planned, seeds=seeds, folds=folds)
    return replace(
        base,
        path=path,
        sha256=sha256,
        study=study,
        preregistered=bool(spec['preregistered']),
        arms=arms,
        completes=base,
    )


def _plan(spec: dict, path: str, sha256: str) -> StudyPlan:
    if 'completes' in spec:
        return _completion(spec, path, sha256)
    unknown = set(spec) - {
        'study',
        'preregistered',
        'variants',
        'arms',
        'reference',
        'primary',
        'secondary',
        'level',
        'min_useful_gain_f1',
        'per_au_alpha',
        'learned_margin_f1',
        'learnable_min_aus',
    }
    if unknown:
        raise ValueError(f'unknown fields {sorted(unknown)}')
    variants = tuple(spec.get('variants', ['default']))
    arms = {}
    for name, a in spec['arms'].items():
        folds = a['folds']
        if not isinstance(folds, dict):
            folds = {v: folds for v in variants}
        unknown_variants = set(folds) - set(variants)
        if unknown_variants:
            raise ValueError(
                f'arm {name!r}: folds for variants {sorted(unknown_variants)}'
                f' that the plan does not list ({list(variants)})'
            )
        arms[name] = ArmPlan(
            name,
            a['label'],
            a['config'],
            tuple(int(s) for s in a['seeds']),
            {v: tuple(int(f) for f in fs) for v, fs in folds.items()},
        )
        if not arms[name].seeds or not any(arms[name].folds.values()):
            raise ValueError(f'arm {name!r} has no seeds or no folds')
    reference = spec['reference']
    if reference not in arms:
        raise ValueError(f'reference {reference!r} is not an arm')
    level = float(spec.get('level', 0.95))
    if not 0 < level < 1:
        raise ValueError(f'level must lie in (0, 1), got {level}')
    return StudyPlan(
        path=path,
        sha256=sha256,
        study=str(spec['study']),
        preregistered=bool(spec['preregistered']),
        variants=variants,
        arms=arms,
        reference=reference,
        primary=_pair(spec['primary'], arms),
        secondary=tuple(_pair(c, arms) for c in spec.get('secondary', [])),
        level=level,
        min_useful_gain_f1=float(spec.get('min_useful_gain_f1', 1.0)),
        per_au_alpha=float(spec.get('per_au_alpha', 0.05)),
        learned_margin_f1=float(spec.get('learned_margin_f1', 10.0)),
        learnable_min_aus=int(spec.get('learnable_min_aus', 10)),
    )


def _git(root: str, *args: str) -> Optional[subprocess.CompletedProcess]:
    try:
        return subprocess.run(
            ['git', *args], cwd=root, capture_output=True, text=True
        )
    except FileNotFoundError:  # no git on this machine
        return None


def check_can_run(plan: StudyPlan, records: Sequence[dict]) -> None:
    """Raise unless runs may be added to the study under this plan.

    A study may run only under a pre-registration that is committed, as it
    stands, in the repository's history (when the tree is a git checkout),
    and that has not changed since the study's first record.

    Args:
        plan (StudyPlan): From :func:`read_plan`.
        records (Sequence[dict]): The study's finished and failed records.

    Raises:
        ValueError: With the reason and what to do.
    """
    if not plan.preregistered:
        raise ValueError(
            f'{plan.path} describes a study after the fact '
            '("preregistered": false): it can be analysed, not run'
        )
    if plan.completes is not None:  # its page must stand as committed too
        check_can_run(plan.completes, ())
    root = osp.dirname(osp.abspath(plan.path))
    inside = _git(root, 'rev-parse', '--is-inside-work-tree')
    if inside is not None and inside.returncode == 0:
        name = osp.basename(plan.path)
        tracked = _git(root, 'ls-files', '--error-unmatch', '--', name)
        if tracked.returncode != 0:
            raise ValueError(
                f'{plan.path} is not committed: commit the pre-registration '
                'before the first run'
            )
        if _git(root, 'diff', '--quiet', 'HEAD', '--', name).returncode:
            raise ValueError(
                f'{plan.path} differs from its committed version: a study '
                'runs under its committed pre-registration only'
            )
    for r in records:
        sha = r.get('preregistration_sha256')
        if sha != plan.sha256:
            raise ValueError(
                f'the study {plan.study!r} has a record '
                f'({r.get("arm")} seed {r.get("seed")} fold {r.get("fold")}) '
                f'made under pre-registration {sha}, but {plan.path} is now '
                f'{plan.sha256}: a pre-registration cannot change after the '
                'first run. Start a new study (a new "study" name) instead'
            )
