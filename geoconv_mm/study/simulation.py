"""Synthetic studies with a known truth, to check interval coverage.

A two-arm study is drawn from a model of what moves a run's AU F1: the
arm, the training seed, the test subject and their interplay, with the
confusion counts of every (run, subject, AU) drawn frame by frame. The
true difference of the arms' mean F1 is the expectation of one run's
difference on a random test set of the study's size, estimated by
:meth:`StudyModel.true_difference` from many independent runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Tuple

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class StudyModel:
    """How the counts of a synthetic two-arm study are drawn.

    Every (arm, seed, subject, AU) has a detection quality on the logit
    scale: ``quality + effect [arm A] + seed + subject + subject x arm +
    noise``. A test frame of a positive label is detected with probability
    ``sigmoid(quality)``; a negative one is a false positive with
    probability ``sigmoid(-quality - fp_offset)``.

    Args:
        num_aus (int): AUs.
        num_subjects (int): Test subjects per fold.
        frames_per_subject (int): Test frames per subject.
        rate_range (tuple): Range of the AUs' positive rates.
        rate_sd (float): Subject-to-subject sd of the positive rate (logit).
        quality (float): Arm B's mean quality (logit).
        effect (float): Arm A's quality minus arm B's (logit).
        seed_sd (float): Sd of a training run's quality shift, per arm.
        subject_sd (float): Sd of a subject's difficulty per AU, shared by
            the arms.
        subject_arm_sd (float): Sd of a subject's difficulty for one arm:
            the subject part of the arms' difference.
        noise_sd (float): Sd of the run x subject x AU remainder.
        fp_offset (float): Shifts the false-positive rate down.
    """

    num_aus: int = 15
    num_subjects: int = 12
    frames_per_subject: int = 40
    rate_range: Tuple[float, float] = (0.1, 0.45)
    rate_sd: float = 0.6
    quality: float = 0.8
    effect: float = 0.25
    seed_sd: float = 0.15
    subject_sd: float = 0.5
    subject_arm_sd: float = 0.2
    noise_sd: float = 0.15
    fp_offset: float = 1.0

    def _subjects(self, rng: np.random.Generator, n: int) -> dict:
        """Labels and difficulties of ``n`` independent test sets."""
        s, a, m = self.num_subjects, self.num_aus, self.frames_per_subject
        rate = rng.uniform(*self.rate_range, (n, 1, a))
        logit = np.log(rate / (1 - rate)) + rng.normal(
            0, self.rate_sd, (n, s, a)
        )
        pos = rng.binomial(m, _sigmoid(logit))
        return dict(
            pos=pos,
            neg=m - pos,
            shared=rng.normal(0, self.subject_sd, (n, s, a)),
            per_arm=rng.normal(0, self.subject_arm_sd, (2, n, s, 1)),
        )

    def _counts(
        self,
        rng: np.random.Generator,
        subjects: dict,
        arm: int,
        seeds: int,
    ) -> np.ndarray:
        """(n, R, S, A, 4) counts of one arm's R runs on each test set."""
        pos = subjects['pos'][:, None]
        neg = subjects['neg'][:, None]
        n, s, a = subjects['shared'].shape
        q = (
            self.quality
            + (self.effect if arm == 0 else 0.0)
            + rng.normal(0, self.seed_sd, (n, seeds, 1, 1))
            + subjects['shared'][:, None]
            + subjects['per_arm'][arm][:, None]
            + rng.normal(0, self.noise_sd, (n, seeds, s, a))
        )
        tp = rng.binomial(pos, _sigmoid(q))
        fp = rng.binomial(neg, _sigmoid(-q - self.fp_offset))
        return np.stack([tp, fp, pos - tp, neg - fp], -1)

    def draw(
        self, rng: np.random.Generator, seeds: int, folds: int
    ) -> List[Tuple[np.ndarray, np.ndarray]]:
        """One study: per fold, (R, S, A, 4) counts of arm A and arm B."""
        subjects = self._subjects(rng, folds)
        a = self._counts(rng, subjects, 0, seeds)
        b = self._counts(rng, subjects, 1, seeds)
        return [(a[f], b[f]) for f in range(folds)]

    def true_difference(
        self, rng: np.random.Generator, runs: int = 20000
    ) -> float:
        """Expected difference of one run's mean F1 (A - B), in F1 points,
        on a random test set; Monte Carlo over ``runs`` independent runs."""
        from .statistics import f1_from_counts

        total = 0.0
        for chunk in np.array_split(np.arange(runs), max(1, runs // 2000)):
            subjects = self._subjects(rng, len(chunk))
            a = self._counts(rng, subjects, 0, 1)[:, 0].sum(1)
            b = self._counts(rng, subjects, 1, 1)[:, 0].sum(1)
            d = np.nanmean(f1_from_counts(a), -1) - np.nanmean(
                f1_from_counts(b), -1
            )
            total += d.sum()
        return total / runs
