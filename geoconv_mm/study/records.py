"""Run records of a study folder: one JSON file per (arm, variant, seed,
fold), with the run's test predictions in a ``.npz`` beside it.

A study folder holds the runs of one machine and thread count
(:func:`check_one_machine`): a seed's result depends on the CPU's
instruction set, the torch build and the thread count, so runs pair by seed
only when these agree.
"""

from __future__ import annotations

import json
import os
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from geoconv_mm.evaluation.metrics.au_prediction_dump import load_predictions
from geoconv_mm.utils.host import describe_host

from .statistics import f1_from_counts, subject_counts

#: The fields that name a run.
RUN_FIELDS = ('arm', 'variant', 'seed', 'fold')


def run_name(arm: str, variant: str, seed: int, fold: int) -> str:
    """File stem of one run's record."""
    return f'{arm}__{variant}__seed{seed}__fold{fold}'


def machine_of(record: dict) -> dict:
    """What a run's exact result depends on besides its config and seed: the
    host fingerprint (:func:`geoconv_mm.utils.host.host_fingerprint`; none in
    records that predate it) and ``OMP_NUM_THREADS``.

    Args:
        record (dict): A run record, or a dict with the same two keys.

    Returns:
        dict: ``host`` and ``omp_num_threads``.
    """
    return dict(
        host=record.get('host'), omp_num_threads=record.get('omp_num_threads')
    )


def describe_machine(machine: dict) -> str:
    """A :func:`machine_of` in words."""
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
            f'{describe_machine(json.loads(k))}: {", ".join(v[:2])}'
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
        tuple: finished records (each with ``counts`` (S, A, 4),
        ``subjects``, ``au_names`` and ``test_positive_rate`` from its
        predictions, and for intensity models ``intensity`` (N, A),
        ``intensity_codes`` (N, A) and ``subject_index`` (N,), frames in
        subject order), failed records.
    """
    done, failed = [], []
    for name in sorted(os.listdir(study_dir)) if osp.isdir(study_dir) else []:
        if not name.endswith('.json') or name.startswith('summary'):
            continue
        path = osp.join(study_dir, name)
        with open(path) as fh:
            try:
                rec = json.load(fh)
            except json.JSONDecodeError as exc:
                raise ValueError(f'{path}: not JSON ({exc})') from None
        missing = [
            k for k in RUN_FIELDS + ('f1', 'predictions') if k not in rec
        ]
        if missing:
            raise ValueError(f'{path}: not a run record (no {missing})')
        pred = load_predictions(osp.join(study_dir, rec['predictions']))
        ids, counts = subject_counts(
            pred['scores'], pred['gt'], pred['mask'], pred['subjects']
        )
        rec['subjects'], rec['counts'] = ids, counts
        if 'intensity' in pred:
            # Frames in subject order, so runs of one fold line up.
            index = np.searchsorted(ids, pred['subjects'])
            order = np.argsort(index, kind='stable')
            rec['intensity'] = pred['intensity'][order]
            rec['intensity_codes'] = pred['intensity_codes'][order]
            rec['subject_index'] = index[order]
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


def all_present_f1(positive_rate: Sequence[float]) -> np.ndarray:
    """F1 (%) of predicting every frame positive: precision p, recall 1."""
    p = np.asarray(positive_rate, np.float64)
    return 200 * p / (1 + p)


def per_au_f1_of(record: dict) -> np.ndarray:
    """A record's per-AU F1 recomputed from its predictions."""
    return f1_from_counts(record['counts'].sum(0))


def learned_aus(record: dict, margin: float) -> List[str]:
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
