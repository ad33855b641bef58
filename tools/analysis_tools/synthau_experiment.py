"""A resumable SynthAU study: arms x variants x seeds x folds, and its
analysis.

Each run trains one arm (a config) on one SynthAU variant (generator options)
with one seed on one fold, in its own ``tools/train.py`` subprocess, and writes
``docs/results/<study>/<arm>__<variant>__seed<s>__fold<f>.json`` atomically
(arm, variant, seed, fold, mean F1, per-AU F1, train time, config, git commit,
load) with the test predictions beside it in ``predictions/<same>.npz``
(scores, labels and subject of every test frame). A run whose record exists is
skipped, so the study can be stopped and resumed at any time; a failed run is
recorded under ``failed/`` and retried by the next invocation. Runs go seed by
seed, so an interrupted study has the same number of seeds in every arm.
Invocations started side by side with the same arguments share the job list:
each run is claimed by one of them (``<run>.claim`` under the work folder).
Every record carries its machine's fingerprint (CPU, instruction set, torch)
and ``OMP_NUM_THREADS``, and a study folder takes the runs of one machine and
thread count only: other runs, even of the same seed, train differently, so
they go to a study of their own (``--study``).

The analysis is fixed before the runs (``geoconv_mm.evaluation.au_study``):

- per variant and arm: runs, mean +- sd of the mean F1 over the 15 AUs, and a
  95% bootstrap interval;
- paired differences GeoCNN - plain (primary), GeoCNN+temperature - plain,
  RGB-D - plain and GeoCNN+temperature - GeoCNN, on the (seed, fold) runs both
  arms have: the difference of mean F1 and its 95% percentile interval from
  10,000 replicates of a bootstrap that resamples seeds and test subjects (the
  same draws for both arms, within each fold);
- per AU: difference, interval, bootstrap p-value, Holm-adjusted over the 15
  AUs (Benjamini-Hochberg beside it);
- the all-present baseline from the test labels, and per run the AUs learned
  (F1 clearly above that baseline); every run, failed ones included;
- per arm, the verdict on "it helps" against plain from the interval of its
  paired difference: the rule and its thresholds are in
  ``geoconv_mm.evaluation.au_study`` (``verdict``), and summary.md states them
  under its headline table.

Examples::

    # the README's study (runs one at a time; resumable)
    OMP_NUM_THREADS=1 python tools/analysis_tools/synthau_experiment.py \\
        --arms plain geo geo_temp rgbd --variants default geometry_only \\
        --seeds 0 1 2 3 4 --folds 1
    # analysis only, from the records (writes summary.md/.json, intervals.png)
    python tools/analysis_tools/synthau_experiment.py --analyse-only
    # ... and the headline table into the README's marked place
    python tools/analysis_tools/synthau_experiment.py --analyse-only \\
        --readme README.md
"""

import argparse
import ast
import contextlib
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time
from typing import Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: name -> (label, config)
ARMS = {
    'plain': ('plain G(00000)', 'configs/geocnn-g00000_synthau_demo.py'),
    'geo': ('GeoCNN G(11111)', 'configs/geocnn_synthau_demo.py'),
    'geo_temp': (
        'GeoCNN + temperature',
        'configs/geocnn-temperature_synthau_demo.py',
    ),
    'rgbd': ('RGB-D G(00000)', 'configs/rgbd-g00000_synthau_demo.py'),
    'geo_far0': (
        'GeoCNN, off-surface weight 0',
        'configs/geocnn-offsurface-zero_synthau_demo.py',
    ),
    'geo_farcap': (
        'GeoCNN, off-surface ratio = cell max',
        'configs/geocnn-offsurface-cap_synthau_demo.py',
    ),
    'geo_neutral': (
        'GeoCNN, neutral-mesh weights',
        'configs/geocnn-neutral_synthau_demo.py',
    ),
}
#: The arm every other arm's verdict is judged against.
REFERENCE = 'plain'
#: The paired comparisons of the analysis, (A, B): A - B.
COMPARISONS = [
    ('geo', 'plain'),
    ('geo_temp', 'plain'),
    ('rgbd', 'plain'),
    ('geo_temp', 'geo'),
    ('geo_far0', 'geo'),
    ('geo_farcap', 'geo'),
    ('geo_neutral', 'geo'),
]


def parse_args():
    from geoconv_mm.datasets.synthau.generator import GENERATOR_VERSION
    from geoconv_mm.datasets.synthau.variants import SYNTHAU_VARIANTS

    parser = argparse.ArgumentParser(description='Resumable SynthAU study')
    parser.add_argument(
        '--study',
        default=f'synthau_v{GENERATOR_VERSION}',
        help='name: records go to docs/results/<study>/ (default: named '
        'after the generator version); one study per machine',
    )
    parser.add_argument(
        '--arms', nargs='+', choices=list(ARMS), default=['plain', 'geo']
    )
    parser.add_argument(
        '--variants',
        nargs='+',
        choices=list(SYNTHAU_VARIANTS),
        default=['default'],
    )
    parser.add_argument(
        '--seeds', type=int, nargs='+', default=[0, 1, 2, 3, 4]
    )
    parser.add_argument('--folds', type=int, nargs='+', default=[1])
    parser.add_argument(
        '--results-dir', default=osp.join(ROOT, 'docs', 'results')
    )
    parser.add_argument(
        '--work-dir', default=osp.join(ROOT, 'work_dirs', 'studies')
    )
    parser.add_argument(
        '--analyse-only',
        action='store_true',
        help='only analyse the records there are',
    )
    parser.add_argument(
        '--keep-checkpoints',
        action='store_true',
        help='keep each run\'s checkpoints (deleted by default)',
    )
    parser.add_argument('--num-boot', type=int, default=None)
    parser.add_argument(
        '--readme',
        default=None,
        help='a file (the README) whose marked study table is replaced '
        'by the headline table of this analysis',
    )
    parser.add_argument(
        '--generator',
        nargs='+',
        default=[],
        metavar='KEY=VALUE',
        help='SynthAU generator overrides for every run (recorded)',
    )
    parser.add_argument(
        '--extra-config',
        default='',
        help='config lines appended to every run config (recorded)',
    )
    return parser.parse_args()


def git_commit() -> str:
    """HEAD, with '+dirty' when tracked files differ from it."""

    def git(*a):
        return subprocess.run(
            ['git', *a], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()

    head = git('rev-parse', 'HEAD') or 'unknown'
    return head + (
        '+dirty'
        if git('status', '--porcelain', '--untracked-files=no')
        else ''
    )


def run_config_text(
    arm: str,
    variant: str,
    seed: int,
    fold: int,
    dump: str,
    generator_overrides: Optional[dict] = None,
    extra: str = '',
) -> str:
    """The config of one run: the arm's, with the variant, seed, fold and
    dump.
    """
    from mmengine.config import Config

    from geoconv_mm.datasets.synthau.variants import variant_generator

    base = osp.join(ROOT, ARMS[arm][1])
    cfg = Config.fromfile(base)
    generator = variant_generator(
        {
            **cfg.train_dataloader.dataset.generator,
            **(generator_overrides or {}),
        },
        variant,
    )
    data = dict(generator=generator, fold=fold)
    return '\n'.join(
        [
            f'# {arm} / {variant} / seed {seed} / fold {fold} '
            '(tools/analysis_tools/synthau_experiment.py)',
            f'_base_ = {base!r}',
            f'randomness = dict(seed={seed})',
            f'train_dataloader = dict(dataset={data!r})',
            f'val_dataloader = dict(dataset={data!r})',
            'test_dataloader = val_dataloader',
            "val_evaluator = [dict(type='AUF1Metric', threshold=0.5),",
            "                 dict(type='AUPredictionDump', "
            f"out_file={dump!r})]",
            'test_evaluator = val_evaluator',
            extra,
            '',
        ]
    )


def last_val_metrics(work_dir: str) -> dict:
    """The last validation record of a run (MMEngine's
    vis_data/scalars.json).
    """
    runs = sorted(
        d
        for d in os.listdir(work_dir)
        if osp.isfile(osp.join(work_dir, d, 'vis_data', 'scalars.json'))
    )
    if not runs:
        raise RuntimeError(
            f'{work_dir}: no vis_data/scalars.json (did the run finish?)'
        )
    record = None
    with open(osp.join(work_dir, runs[-1], 'vis_data', 'scalars.json')) as fh:
        for line in fh:
            entry = json.loads(line)
            if 'au/F1' in entry:
                record = entry
    if record is None:
        raise RuntimeError(
            f'{work_dir}/{runs[-1]}: no validation metrics logged'
        )
    return record


def run_one(
    arm: str,
    variant: str,
    seed: int,
    fold: int,
    study_dir: str,
    work_root: str,
    keep_checkpoints: bool = False,
    generator_overrides: Optional[dict] = None,
    extra: str = '',
) -> str:
    """Train one run unless its record exists or another invocation is on
    it; returns 'done', 'skipped', 'claimed' or 'failed'.
    """
    from geoconv_mm.evaluation.au_study import run_name
    from geoconv_mm.utils.atomic_io import atomic_write_json

    name = run_name(arm, variant, seed, fold)
    record_path = osp.join(study_dir, name + '.json')
    if osp.isfile(record_path):
        return 'skipped'
    os.makedirs(work_root, exist_ok=True)
    claim = osp.join(work_root, name + '.claim')
    if not take_claim(claim):
        return 'claimed'
    try:
        work_dir = osp.join(work_root, name)
        if osp.isdir(
            work_dir
        ):  # a run interrupted before its record: start it afresh
            shutil.rmtree(work_dir)
        os.makedirs(work_dir)
        dump = osp.join(work_dir, 'predictions.npz')
        text = run_config_text(
            arm, variant, seed, fold, dump, generator_overrides, extra
        )
        config = osp.join(work_dir, 'run_config.py')
        with open(config, 'w') as fh:
            fh.write(text)
        cmd = [
            sys.executable,
            osp.join(ROOT, 'tools', 'train.py'),
            config,
            '--work-dir',
            work_dir,
        ]
        load_start = os.getloadavg()
        start = time.time()
        with open(osp.join(work_dir, 'train_stdout.log'), 'w') as log:
            proc = subprocess.run(
                cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        wall = time.time() - start
        fail_path = osp.join(study_dir, 'failed', name + '.json')
        base = dict(
            arm=arm,
            arm_label=ARMS[arm][0],
            variant=variant,
            seed=seed,
            fold=fold,
            **this_machine(),
        )
        if proc.returncode != 0 or not osp.isfile(dump):
            with open(osp.join(work_dir, 'train_stdout.log')) as fh:
                tail = fh.read()[-2000:]
            atomic_write_json(
                fail_path,
                dict(
                    base,
                    error=f'exit code {proc.returncode}',
                    log_tail=tail,
                    git_commit=git_commit(),
                    finished=time.strftime('%Y-%m-%dT%H:%M:%S'),
                ),
                indent=1,
            )
            return 'failed'
        metrics = last_val_metrics(work_dir)
        pred_rel = osp.join('predictions', name + '.npz')
        os.makedirs(osp.join(study_dir, 'predictions'), exist_ok=True)
        shutil.copyfile(dump, osp.join(study_dir, pred_rel + '.tmp'))
        os.replace(
            osp.join(study_dir, pred_rel + '.tmp'),
            osp.join(study_dir, pred_rel),
        )
        import torch
        from mmengine.config import Config

        cfg = Config.fromfile(config)
        record = dict(
            base,
            f1=metrics['au/F1'],
            f1_per_au={
                k.split('_', 1)[1]: v
                for k, v in metrics.items()
                if k.startswith('au/F1_')
            },
            train_time_s=round(wall, 1),
            config=dict(
                arm_config=ARMS[arm][1],
                run_config=text,
                generator=dict(cfg.train_dataloader.dataset.generator),
            ),
            git_commit=git_commit(),
            predictions=pred_rel,
            torch=torch.__version__,
            loadavg_start=[round(x, 2) for x in load_start],
            loadavg_end=[round(x, 2) for x in os.getloadavg()],
            finished=time.strftime('%Y-%m-%dT%H:%M:%S'),
        )
        atomic_write_json(record_path, record, indent=1)
        if osp.isfile(fail_path):
            os.remove(fail_path)
        if not keep_checkpoints:
            for f in os.listdir(work_dir):
                if f.endswith('.pth') or f == 'last_checkpoint':
                    os.remove(osp.join(work_dir, f))
        return 'done'
    finally:
        os.remove(claim)


def this_machine() -> dict:
    """The record fields that say which machine and thread count a run of
    this process has (``au_study.machine_of`` reads them back)."""
    from geoconv_mm.utils.host import host_fingerprint

    return dict(
        host=host_fingerprint(),
        omp_num_threads=os.environ.get('OMP_NUM_THREADS'),
    )


def check_machine(study_dir: str) -> None:
    """Exit with the reason if the study's runs are of another machine or
    thread count."""
    from geoconv_mm.evaluation.au_study import check_one_machine, load_records

    try:
        records, _ = load_records(study_dir)
        check_one_machine(records, study_dir, this_machine())
    except ValueError as err:
        raise SystemExit(f'error: {err}') from None


def take_claim(path: str) -> bool:
    """Claim a run for this process, so that invocations started side by
    side (one per core) share the job list instead of training a run twice.
    A claim whose process has gone is stale and taken over.

    Args:
        path (str): The run's claim file.

    Returns:
        bool: Whether this process now holds the claim.
    """
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                with open(path) as fh:
                    holder = int(fh.read())
                if holder <= 0:
                    raise ValueError(holder)
                os.kill(holder, 0)
                return False
            except PermissionError:  # alive, another user's
                return False
            except (OSError, ValueError):  # gone, or never written
                # Another invocation may have cleared it first.
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
                continue
        with os.fdopen(fd, 'w') as fh:
            fh.write(str(os.getpid()))
        return True
    return False


def report(study_dir: str, num_boot=None, readme=None) -> None:
    """Analyse the study's records: summary.md, summary.json, intervals.png,
    and the headline table into ``readme``'s marked place if given."""
    from geoconv_mm.evaluation.au_study import (
        NUM_BOOT,
        analyse,
        headline_table,
        load_records,
        markdown,
        plot_intervals,
        replace_marked,
    )
    from geoconv_mm.utils.atomic_io import atomic_path, atomic_write_json

    study = osp.basename(study_dir)
    records, failed = load_records(study_dir)
    if not records:
        print(f'{study_dir}: no finished runs yet ({len(failed)} failed)')
        return
    summary = analyse(records, COMPARISONS, num_boot or NUM_BOOT)
    summary['failed'] = [
        {k: f[k] for k in ('arm', 'variant', 'seed', 'fold', 'error')}
        for f in failed
    ]
    summary['num_runs'] = len(records)
    labels = {k: v[0] for k, v in ARMS.items()}
    text = (
        f'# SynthAU study `{study}`\n\n{len(records)} '
        f'finished runs, {len(failed)} failed; analysis: '
        'tools/analysis_tools/synthau_experiment.py\n\n'
        + markdown(summary, labels, failed, study, REFERENCE)
    )
    atomic_write_json(osp.join(study_dir, 'summary.json'), summary, indent=1)
    with atomic_path(osp.join(study_dir, 'summary.md'), '.tmp.md') as tmp:
        with open(tmp, 'w') as fh:
            fh.write(text)
    plot_intervals(
        summary, labels, osp.join(study_dir, 'intervals.png'), REFERENCE
    )
    print(text)
    print(f'written: {study_dir}/summary.md, summary.json, intervals.png')
    if readme:
        with open(readme) as fh:
            doc = fh.read()
        block = '\n'.join(headline_table(summary, labels, study, REFERENCE))
        doc = replace_marked(doc, block, study, readme)
        with atomic_path(readme, '.tmp.md') as tmp:
            with open(tmp, 'w') as fh:
                fh.write(doc)
        print(f'written: the study table of {readme}')


def main():
    args = parse_args()
    study_dir = osp.join(osp.abspath(args.results_dir), args.study)
    os.makedirs(study_dir, exist_ok=True)
    if not args.analyse_only:
        check_machine(study_dir)
        jobs = [
            (a, v, s, f)
            for s in args.seeds
            for f in args.folds
            for v in args.variants
            for a in args.arms
        ]
        work_root = osp.join(osp.abspath(args.work_dir), args.study)
        overrides = {}
        for item in args.generator:
            key, _, value = item.partition('=')
            try:
                overrides[key] = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                overrides[key] = value  # a plain string (lighting=ambient)
        for i, (arm, variant, seed, fold) in enumerate(jobs):
            t = time.time()
            status = run_one(
                arm,
                variant,
                seed,
                fold,
                study_dir,
                work_root,
                args.keep_checkpoints,
                overrides,
                args.extra_config,
            )
            print(
                f'[{i + 1}/{len(jobs)}] {arm} / {variant} / seed {seed} / '
                f'fold {fold}: {status} ({(time.time() - t) / 60:.1f} min, '
                f'load {os.getloadavg()[0]:.2f})',
                flush=True,
            )
    report(study_dir, args.num_boot, args.readme)


if __name__ == '__main__':
    main()
