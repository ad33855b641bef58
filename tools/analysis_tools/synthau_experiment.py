"""A resumable SynthAU study under a pre-registration, and its analysis.

The study's design and analysis are fixed by its pre-registration, a page
under ``docs/en/study/`` whose ``json study-plan`` block lists the arms
(configs), seeds, folds and SynthAU variants, the comparisons and the
verdict's thresholds (:mod:`geoconv_mm.study.plan`). The runner trains
exactly those runs, and refuses to start unless the page is committed and
unchanged since the study's first record.

Each run trains one arm on one variant with one seed on one fold, in its own
``tools/train.py`` subprocess, and writes
``docs/results/<study>/<arm>__<variant>__seed<s>__fold<f>.json`` atomically
(mean F1, per-AU F1, train time, config, git commit, the pre-registration's
SHA-256, the machine, load) with the test predictions beside it in
``predictions/<same>.npz`` (scores, labels and subject of every test
frame). A run whose record exists is skipped, so the study can be stopped
and resumed at any time; a failed run is recorded under ``failed/`` and
retried by the next invocation. Runs go seed by seed, so an interrupted
study has about as many seeds in every arm. Invocations started side by side
share the job list: each run is claimed by one of them (``<run>.claim``
under the work folder). A study folder takes the runs of one machine and
thread count only (:func:`geoconv_mm.study.records.check_one_machine`).
A study whose machine is gone before its last run is finished on another by
a completion, a page of its own that names the page it completes and lists
the runs it adds: its runs go to its own folder, and its analysis is the
completed study's, each pair from one machine (:mod:`geoconv_mm.study.plan`).

The analysis (:mod:`geoconv_mm.study.analysis`) writes ``summary.md``,
``summary.json`` and ``intervals.png`` into the study's folder, and with
``--page`` the headline table into a page's marked place.

Examples::

    # run the study (resumable; start it twice to use two cores)
    OMP_NUM_THREADS=1 python tools/analysis_tools/synthau_experiment.py \\
        --plan docs/en/study/preregistration.md
    # how far it is, without its results
    python tools/analysis_tools/synthau_experiment.py --status \\
        --plan docs/en/study/preregistration.md
    # analysis only, from the records (a completion's page analyses the
    # study it completes with the runs it adds)
    python tools/analysis_tools/synthau_experiment.py --analyse-only \\
        --plan docs/en/study/completion.md \\
        --page docs/en/study/does_geoconv_help.md
"""

import argparse
import contextlib
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time
from typing import Optional

from geoconv_mm.study.plan import StudyPlan, check_can_run, read_plan

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: Runs whose wall time --status projects forward.
RECENT_RUNS = 10


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--plan',
        required=True,
        help='the study\'s pre-registration (a page with a json '
        'study-plan block)',
    )
    parser.add_argument(
        '--results-dir', default=osp.join(ROOT, 'docs', 'results')
    )
    parser.add_argument(
        '--work-dir', default=osp.join(ROOT, 'work_dirs', 'studies')
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        '--analyse-only',
        action='store_true',
        help='only analyse the records there are',
    )
    what.add_argument(
        '--status',
        action='store_true',
        help='say how far the study is (runs recorded, training, failed, '
        'left, the time left, and whether this machine may add runs), '
        'without its results',
    )
    parser.add_argument(
        '--keep-checkpoints',
        action='store_true',
        help='keep each run\'s checkpoints (deleted by default)',
    )
    parser.add_argument(
        '--page',
        default=None,
        help='a page whose marked study table is replaced by the headline '
        'table of this analysis',
    )
    return parser.parse_args(argv)


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
    plan: StudyPlan, arm: str, variant: str, seed: int, fold: int, dump: str
) -> str:
    """The config of one run: the arm's, with the variant, seed, fold and
    the dump of its test predictions."""
    from mmengine.config import Config

    from geoconv_mm.datasets.synthau.variants import variant_generator

    base = osp.join(ROOT, plan.arms[arm].config)
    cfg = Config.fromfile(base)
    generator = variant_generator(
        dict(cfg.train_dataloader.dataset.generator), variant
    )
    data = dict(generator=generator, fold=fold)
    # An intensity study also scores the intensity head.
    intensity = (
        "                 dict(type='AUIntensityMetric'),"
        if plan.metric == 'icc'
        else None
    )
    return '\n'.join(
        [
            f'# {plan.study}: {arm} / {variant} / seed {seed} / fold {fold} '
            '(tools/analysis_tools/synthau_experiment.py)',
            f'_base_ = {base!r}',
            f'randomness = dict(seed={seed})',
            f'train_dataloader = dict(dataset={data!r})',
            f'val_dataloader = dict(dataset={data!r})',
            'test_dataloader = val_dataloader',
            "val_evaluator = [dict(type='AUF1Metric', threshold=0.5),",
            *([intensity] if intensity else []),
            "                 dict(type='AUPredictionDump', "
            f"out_file={dump!r})]",
            'test_evaluator = val_evaluator',
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
    plan: StudyPlan,
    arm: str,
    variant: str,
    seed: int,
    fold: int,
    study_dir: str,
    work_root: str,
    keep_checkpoints: bool = False,
) -> str:
    """Train one run unless its record exists or another invocation is on
    it; returns 'done', 'skipped', 'claimed' or 'failed'.
    """
    from geoconv_mm.study.records import run_name
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
        if osp.isdir(work_dir):  # interrupted before its record: afresh
            shutil.rmtree(work_dir)
        os.makedirs(work_dir)
        dump = osp.join(work_dir, 'predictions.npz')
        text = run_config_text(plan, arm, variant, seed, fold, dump)
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
            arm_label=plan.arms[arm].label,
            variant=variant,
            seed=seed,
            fold=fold,
            preregistration=osp.relpath(plan.path, ROOT),
            preregistration_sha256=plan.sha256,
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
        scores = dict(
            f1=metrics['au/F1'],
            f1_per_au={
                k.split('_', 1)[1]: v
                for k, v in metrics.items()
                if k.startswith('au/F1_')
            },
        )
        if 'au_int/ICC' in metrics:
            scores.update(
                icc=metrics['au_int/ICC'],
                icc_per_au={
                    k[len('au_int/ICC_') :]: v
                    for k, v in metrics.items()
                    if k.startswith('au_int/ICC_')
                },
            )
        record = dict(
            base,
            **scores,
            train_time_s=round(wall, 1),
            config=dict(
                arm_config=plan.arms[arm].config,
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
    this process has (``records.machine_of`` reads them back)."""
    from geoconv_mm.utils.host import host_fingerprint

    return dict(
        host=host_fingerprint(),
        omp_num_threads=os.environ.get('OMP_NUM_THREADS'),
    )


def check_study(plan: StudyPlan, study_dir: str) -> None:
    """Exit with the reason unless runs may be added to the study: its
    pre-registration is committed and unchanged since its first record, and
    its runs are of this machine and thread count."""
    from geoconv_mm.study.records import check_one_machine, load_records

    try:
        records, failed = load_records(study_dir)
        check_can_run(plan, records + failed)
        check_one_machine(records, study_dir, this_machine())
    except ValueError as err:
        raise SystemExit(f'error: {err}') from None


def claim_holder(path: str) -> Optional[int]:
    """The live process that holds a run's claim: its pid, or None when
    there is no claim or its process has gone."""
    try:
        with open(path) as fh:
            holder = int(fh.read())
    except (OSError, ValueError):  # none, or not written yet
        return None
    if holder <= 0:
        return None
    try:
        os.kill(holder, 0)
    except PermissionError:  # alive, another user's
        return holder
    except OSError:
        return None
    return holder


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
            if claim_holder(path) is not None:
                return False
            # Gone, or never written; another invocation may have cleared it
            # first.
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
            continue
        with os.fdopen(fd, 'w') as fh:
            fh.write(str(os.getpid()))
        return True
    return False


def print_status(plan: StudyPlan, study_dir: str, work_root: str) -> dict:
    """Print and return how far the study is, from its record and claim
    files only (no result is read): per arm the runs recorded of those
    planned; the runs training now (a live claim), failed (to be retried)
    and left; and the hours left at the mean wall time of the last
    :data:`RECENT_RUNS` runs recorded (the machine's present conditions),
    as many at a time as are training now (one if none is); and whether
    this machine may add the runs left (those recorded are all of one
    machine, :func:`geoconv_mm.study.records.check_one_machine`)."""
    from geoconv_mm.study.records import (
        describe_machine,
        machine_of,
        run_name,
    )

    jobs = plan.jobs()
    recorded, training, failed, times = set(), set(), set(), []
    machines = set()
    for job in jobs:
        name = run_name(*job)
        path = osp.join(study_dir, name + '.json')
        if osp.isfile(path):
            recorded.add(job)
            with open(path) as fh:
                rec = json.load(fh)
            times.append((rec.get('finished', ''), rec['train_time_s']))
            machines.add(json.dumps(machine_of(rec), sort_keys=True))
        elif claim_holder(osp.join(work_root, name + '.claim')) is not None:
            training.add(job)
        elif osp.isfile(osp.join(study_dir, 'failed', name + '.json')):
            failed.add(job)
    left = len(jobs) - len(recorded)
    print(
        f'{plan.study}: {len(recorded)} of {len(jobs)} runs recorded, '
        f'{len(training)} training, {len(failed)} failed (retried by the '
        f'next run of the study), {left} left'
    )
    for arm in plan.arms:
        mine = [j for j in jobs if j[0] == arm]
        done = sum(j in recorded for j in mine)
        print(f'  {arm:<24} {done:>4} / {len(mine)}')
    out = dict(
        planned=len(jobs),
        recorded=len(recorded),
        training=len(training),
        failed=len(failed),
        left=left,
    )
    if times and left:
        recent = [t for _, t in sorted(times)[-RECENT_RUNS:]]
        minutes = sum(recent) / len(recent) / 60
        at_once = max(1, len(training))
        out['hours_left'] = hours = left * minutes / at_once / 60
        when = f'{hours:.1f} h' if hours >= 1 else f'{60 * hours:.0f} min'
        print(
            f'about {when} left at {minutes:.1f} min per run, {at_once} at '
            'a time'
        )
    if len(machines) == 1 and left:
        study_machine = json.loads(machines.pop())
        here = this_machine()
        out['this_machine_may_add'] = study_machine == here
        if out['this_machine_may_add']:
            print(f'this machine may add them ({describe_machine(here)})')
        else:
            print(
                'only the study\'s machine may add them: '
                f'{describe_machine(study_machine)}; this one is '
                f'{describe_machine(here)}'
            )
    return out


def report(plan: StudyPlan, study_dir: str, page=None) -> None:
    """Analyse the study's records: summary.md, summary.json, intervals.png,
    and the headline table into ``page``'s marked place if given."""
    from geoconv_mm.study.analysis import analyse
    from geoconv_mm.study.records import load_records
    from geoconv_mm.study.report import (
        headline_table,
        markdown,
        plot_intervals,
        replace_marked,
    )
    from geoconv_mm.utils.atomic_io import atomic_path, atomic_write_json

    records, failed = load_records(study_dir)
    completed = None
    if plan.completes is not None:
        completed, failed_before = load_records(
            osp.join(osp.dirname(study_dir), plan.completes.study)
        )
        failed = failed_before + failed
    if not records and not completed:
        print(f'{study_dir}: no finished runs yet ({len(failed)} failed)')
        return
    summary = analyse(records, plan, completed)
    summary['failed'] = [
        {k: f[k] for k in ('arm', 'variant', 'seed', 'fold', 'error')}
        for f in failed
    ]
    summary['num_runs'] = len(records) + len(completed or ())
    text = markdown(summary, plan, failed, summary['num_runs'])
    atomic_write_json(osp.join(study_dir, 'summary.json'), summary, indent=1)
    with atomic_path(osp.join(study_dir, 'summary.md'), '.tmp.md') as tmp:
        with open(tmp, 'w') as fh:
            fh.write(text)
    plot_intervals(summary, plan, osp.join(study_dir, 'intervals.png'))
    print(text)
    print(f'written: {study_dir}/summary.md, summary.json, intervals.png')
    if page:
        with open(page) as fh:
            doc = fh.read()
        block = '\n'.join(headline_table(summary, plan))
        doc = replace_marked(doc, block, plan.study, page)
        with atomic_path(page, '.tmp.md') as tmp:
            with open(tmp, 'w') as fh:
                fh.write(doc)
        print(f'written: the study table of {page}')


def main(argv=None) -> None:
    args = parse_args(argv)
    try:
        plan = read_plan(args.plan)
    except (FileNotFoundError, ValueError) as err:
        raise SystemExit(f'error: {err}') from None
    study_dir = osp.join(osp.abspath(args.results_dir), plan.study)
    work_root = osp.join(osp.abspath(args.work_dir), plan.study)
    if args.status:
        print_status(plan, study_dir, work_root)
        return
    os.makedirs(study_dir, exist_ok=True)
    if not args.analyse_only:
        check_study(plan, study_dir)
        jobs = plan.jobs()
        for i, (arm, variant, seed, fold) in enumerate(jobs):
            t = time.time()
            status = run_one(
                plan,
                arm,
                variant,
                seed,
                fold,
                study_dir,
                work_root,
                args.keep_checkpoints,
            )
            print(
                f'[{i + 1}/{len(jobs)}] {arm} / {variant} / seed {seed} / '
                f'fold {fold}: {status} ({(time.time() - t) / 60:.1f} min, '
                f'load {os.getloadavg()[0]:.2f})',
                flush=True,
            )
    report(plan, study_dir, args.page)


if __name__ == '__main__':
    main()
