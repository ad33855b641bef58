"""GeoCNN versus the same network with plain convolution, G(00000), on SynthAU.

Trains every (model, seed) pair with tools/train.py (one subprocess each, so runs do
not share state), reads the final validation metrics, and writes a Markdown table and
a JSON file with the mean and standard deviation of the average F1 and the per-AU F1,
next to the F1 of two trivial predictors (majority class, all present) on the same
test split. Finished runs are kept: rerunning the command resumes.

Examples (the README's numbers)::

    python tools/synthau_experiment.py --seeds 0 1 2             # GeoCNN vs G(00000)
    python tools/synthau_experiment.py --models geo plain rgbd   # + RGB-D diagnostic
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

# name -> (label, config)
MODELS = {
    'geo': ('GeoCNN G(11111)', 'configs/geocnn_synthau_demo.py'),
    'plain': ('plain G(00000)', 'configs/geocnn-g00000_synthau_demo.py'),
    # Diagnostic: G(00000) with the depth map as a 4th input channel.
    'rgbd': ('RGB-D G(00000) (diagnostic)', 'configs/rgbd-g00000_synthau_demo.py'),
}


def parse_args():
    parser = argparse.ArgumentParser(description='GeoConv vs plain conv on SynthAU')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--models', nargs='+', choices=list(MODELS),
                        default=['geo', 'plain'], help='which models to compare')
    parser.add_argument('--work-dir', default='work_dirs/synthau_experiment')
    parser.add_argument('--out', default=None,
                        help='output prefix (default <work-dir>/results): writes .md, .json')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed to tools/train.py for every run')
    parser.add_argument('--threads', type=int, default=None,
                        help='OMP_NUM_THREADS of the runs (default: the configs decide)')
    return parser.parse_args()


def last_val_metrics(work_dir: str) -> dict:
    """The last validation record of a run (MMEngine's vis_data/scalars.json)."""
    runs = sorted(d for d in os.listdir(work_dir)
                  if osp.isfile(osp.join(work_dir, d, 'vis_data', 'scalars.json')))
    if not runs:
        raise RuntimeError(f'{work_dir}: no vis_data/scalars.json (did the run finish?)')
    record = None
    with open(osp.join(work_dir, runs[-1], 'vis_data', 'scalars.json')) as fh:
        for line in fh:
            entry = json.loads(line)
            if 'au/F1' in entry:
                record = entry
    if record is None:
        raise RuntimeError(f'{work_dir}/{runs[-1]}: no validation metrics logged')
    return record


def run_one(config: str, seed: int, work_dir: str, cfg_options, threads) -> dict:
    """Train one model with one seed (or reuse a finished run); returns its result."""
    result_path = osp.join(work_dir, 'run_result.json')
    if osp.isfile(result_path):
        with open(result_path) as fh:
            return json.load(fh)
    os.makedirs(work_dir, exist_ok=True)
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config, '--work-dir',
           work_dir, '--cfg-options', f'randomness.seed={seed}', *cfg_options]
    env = dict(os.environ)
    if threads is not None:
        env['OMP_NUM_THREADS'] = str(threads)
    start = time.time()
    with open(osp.join(work_dir, 'train_stdout.log'), 'w') as log:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f'training failed ({proc.returncode}): {" ".join(cmd)}; see '
                           f'{work_dir}/train_stdout.log')
    metrics = last_val_metrics(work_dir)
    result = dict(config=config, seed=seed, wall_s=round(time.time() - start, 1),
                  f1=metrics['au/F1'],
                  f1_per_au={k.split('_', 1)[1]: v for k, v in metrics.items()
                             if k.startswith('au/F1_')})
    from geoconv_mm.utils.atomic_io import atomic_write_json
    atomic_write_json(result_path, result)
    return result


def trivial_baselines(config: str) -> dict:
    """Per-AU F1 of 'majority class' and 'all present' on the config's test split."""
    import geoconv_mm.datasets  # noqa: F401
    import geoconv_mm.datasets.synthau  # noqa: F401
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS

    init_default_scope('mmpretrain')
    cfg = Config.fromfile(osp.join(ROOT, config))
    ds_cfg = cfg.val_dataloader.dataset
    ds_cfg.pipeline = []
    train_cfg = cfg.train_dataloader.dataset.copy()
    train_cfg.pipeline = []
    test, train = DATASETS.build(ds_cfg), DATASETS.build(train_cfg)
    names = list(test.metainfo['classes'])
    t_stats, tr_stats = test.get_au_statistics(), train.get_au_statistics()
    p = t_stats['num_positive'] / t_stats['num_known']
    all_present = 200 * p / (1 + p)
    majority_positive = tr_stats['num_positive'] * 2 > tr_stats['num_known']
    majority = np.where(majority_positive, all_present, 0.0)
    return dict(names=names, test_positive_rate=dict(zip(names, p.round(4).tolist())),
                majority=dict(zip(names, majority.tolist())),
                all_present=dict(zip(names, all_present.tolist())))


def summarise(results: dict, baselines: dict) -> dict:
    names = baselines['names']
    out = dict(models={}, baselines=baselines)
    for model, runs in results.items():
        f1 = np.array([r['f1'] for r in runs])
        per_au = np.array([[r['f1_per_au'][n] for n in names] for r in runs])
        out['models'][model] = dict(
            config=runs[0]['config'], seeds=[r['seed'] for r in runs],
            f1=f1.tolist(), f1_mean=float(f1.mean()),
            f1_std=float(f1.std(ddof=1)) if len(f1) > 1 else 0.0,
            per_au_mean=dict(zip(names, per_au.mean(0).tolist())),
            per_au_std=dict(zip(names, (per_au.std(0, ddof=1) if len(runs) > 1
                                        else np.zeros(len(names))).tolist())),
            wall_s=[r['wall_s'] for r in runs])
    return out


def markdown(summary: dict) -> str:
    names = summary['baselines']['names']
    models = summary['models']
    lines = ['| model | seeds | average F1 (mean ± std) | per-run F1 | wall time / run |',
             '|---|---|---|---|---|']
    for model, s in models.items():
        lines.append(f'| {model} | {len(s["seeds"])} | {s["f1_mean"]:.2f} ± '
                     f'{s["f1_std"]:.2f} | {", ".join(f"{v:.2f}" for v in s["f1"])} | '
                     f'{np.mean(s["wall_s"]) / 60:.1f} min |')
    for key, label in (('majority', 'majority class'), ('all_present', 'all present')):
        vals = summary['baselines'][key]
        lines.append(f'| {label} (trivial) | - | {np.mean(list(vals.values())):.2f} | - | - |')
    lines += ['', '| AU | test pos. rate | ' + ' | '.join(models) + ' | all present |',
              '|---|---|' + '---|' * len(models) + '---|']
    for n in names:
        cells = [f'{models[m]["per_au_mean"][n]:.1f} ± {models[m]["per_au_std"][n]:.1f}'
                 for m in models]
        lines.append(f'| {n} | {summary["baselines"]["test_positive_rate"][n]:.2f} | '
                     + ' | '.join(cells) + f' | {summary["baselines"]["all_present"][n]:.1f} |')
    return '\n'.join(lines) + '\n'


def main():
    from tqdm import tqdm

    from geoconv_mm.utils.atomic_io import atomic_path, atomic_write_json

    args = parse_args()
    work_dir = osp.abspath(args.work_dir)
    out = args.out or osp.join(work_dir, 'results')
    jobs = [(m, s) for m in args.models for s in args.seeds]
    results = {MODELS[m][0]: [] for m in args.models}
    bar = tqdm(jobs, desc='SynthAU experiment', unit='run')
    for model, seed in bar:
        label, config = MODELS[model]
        bar.set_postfix_str(f'{label} seed {seed}')
        tag = osp.splitext(osp.basename(config))[0]
        results[label].append(run_one(config, seed, osp.join(
            work_dir, f'{tag}_seed{seed}'), args.cfg_options, args.threads))
        tqdm.write(f'{label} seed {seed}: F1 {results[label][-1]["f1"]:.2f} '
                   f'({results[label][-1]["wall_s"] / 60:.1f} min)')
    summary = summarise(results, trivial_baselines(MODELS[args.models[0]][1]))
    summary['cfg_options'] = args.cfg_options
    atomic_write_json(out + '.json', summary)
    text = markdown(summary)
    with atomic_path(out + '.md', '.tmp.md') as tmp:
        with open(tmp, 'w') as fh:
            fh.write(text)
    print(text)
    print(f'written: {out}.md, {out}.json')


if __name__ == '__main__':
    main()
