"""Samples per second per core of the BP4D train and test pipelines.

Builds a small BP4D tree in the licensed layout
(``<subject>/<task>/<frame>.jpg`` and ``AUCoding/AU_OCC/<subject>_<task>.csv``)
from skimage's astronaut (shifted, scaled, rotated, mirrored), prepares it with
the BP4D converter (MediaPipe face mesh, 224 crops, FaceSurface records,
``annotations/bp4d.json``), then runs the config's train and test pipelines on
one core, alternating the two each round so that load on a shared machine hits
both alike::

    python tools/benchmarks/benchmark_pipeline.py --images-per-s 1500

Prints the median time per sample of each pipeline and of each of its
transforms, samples/s per core, the load average beside every figure, and the
loader cores one GPU needs to train at ``--images-per-s`` (and to test at
``--test-images-per-s``).
"""

from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import statistics
import sys
import tempfile
import time

for _var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
    os.environ.setdefault(_var, '1')
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

import cv2  # noqa: E402  (after the thread caps, which it reads)
import numpy as np  # noqa: E402

#: One train (part 1) and one test (part 3) subject of fold 1.
SUBJECTS = {'train': ('F001', 'T1'), 'test': ('F007', 'T1')}
FIRST_FRAME = 2440
PROTOCOL_AUS = (1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24)


def face_frames(n: int, size=(1040, 1392)) -> list:
    """``n`` BP4D-sized BGR frames showing the astronaut's face in varied
    poses.
    """
    from geoconv_mm.face.samples import astronaut_bgr

    face = astronaut_bgr()[:300, 90:390]
    rng = np.random.RandomState(0)
    h, w = size
    frames = []
    for i in range(n):
        scale = rng.uniform(1.6, 2.4)
        angle = rng.uniform(-12, 12)
        m = cv2.getRotationMatrix2D((150, 150), angle, scale)
        m[:, 2] += (
            w / 2 - 150 + rng.uniform(-80, 80),
            h / 2 - 150 + rng.uniform(-60, 60),
        )
        img = cv2.warpAffine(face, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
        frames.append(np.ascontiguousarray(img[:, ::-1]) if i % 2 else img)
    return frames


def write_raw_tree(root: str, frames_per_subject: int) -> None:
    """Images and AU_OCC label files exactly as a licensed BP4D copy holds
    them.
    """
    rng = np.random.RandomState(1)
    images = face_frames(2 * frames_per_subject)
    for s, (subject, task) in enumerate(SUBJECTS.values()):
        folder = osp.join(root, subject, task)
        os.makedirs(folder, exist_ok=True)
        numbers = range(FIRST_FRAME, FIRST_FRAME + frames_per_subject)
        rows = [','.join(['0', *map(str, PROTOCOL_AUS)])]
        for i, n in enumerate(numbers):
            img = images[s * frames_per_subject + i]
            if not cv2.imwrite(osp.join(folder, f'{n:04d}.jpg'), img):
                raise OSError(f'cannot write {folder}/{n:04d}.jpg')
            rows.append(
                ','.join([str(n), *map(str, rng.choice([0, 1, 9], 12))])
            )
        labels = osp.join(root, 'AUCoding', 'AU_OCC', f'{subject}_{task}.csv')
        os.makedirs(osp.dirname(labels), exist_ok=True)
        with open(labels, 'w') as f:
            f.write('\n'.join(rows) + '\n')


def prepare(work_dir: str, frames_per_subject: int) -> str:
    """The prepared tree (resumes: an existing annotation is reused)."""
    out = osp.join(work_dir, 'bp4d')
    ann = osp.join(out, 'annotations', 'bp4d.json')
    if osp.isfile(ann):
        with open(ann) as f:
            if len(json.load(f)['data_list']) >= frames_per_subject:
                return out
    raw = osp.join(work_dir, 'BP4D')
    write_raw_tree(raw, frames_per_subject)
    from geoconv_mm.datasets.converters import bp4d

    if bp4d.main([raw, '--out', out]) != 0:
        raise RuntimeError(
            f'preparing {raw} failed; see {out}/prepare_report.json'
        )
    return out


class TimedTransform:
    """Wraps a transform and keeps the time of each of its calls."""

    def __init__(self, transform) -> None:
        self.transform = transform
        self.name = type(transform).__name__
        self.times: list = []

    def __call__(self, results):
        t = time.perf_counter()
        out = self.transform(results)
        self.times.append(time.perf_counter() - t)
        return out


def config_geo_specs(config: str) -> list:
    """The geodesic specs the config's model needs, as ``GeoSpecsHook``
    would fill them in."""
    from mmengine.config import Config
    from mmpretrain.registry import MODELS

    import geoconv_mm.models  # noqa: F401  (registers the models)
    from geoconv_mm.ops import model_geo_specs

    cfg = Config.fromfile(config)
    size = cfg.get('image_size', None) or 224
    return model_geo_specs(MODELS.build(cfg.model), size)


def build_dataset(config: str, data_root: str, split: str, specs: list):
    from mmengine.config import Config
    from mmpretrain.registry import DATASETS

    import geoconv_mm.datasets  # noqa: F401  (registers datasets and transforms)
    from geoconv_mm.datasets.transforms import fill_geo_specs

    cfg = Config.fromfile(config)
    loader = cfg.train_dataloader if split == 'train' else cfg.test_dataloader
    ds_cfg = dict(loader.dataset, data_root=data_root)
    dataset = DATASETS.build(ds_cfg)
    fill_geo_specs(dataset, specs)
    dataset.pipeline.transforms = [
        TimedTransform(t) for t in dataset.pipeline.transforms
    ]
    if len(dataset) == 0:
        raise RuntimeError(f'{split}: no samples in {data_root}')
    return dataset


def run_round(dataset) -> float:
    t = time.perf_counter()
    for i in range(len(dataset)):
        dataset[i]
    return (time.perf_counter() - t) / len(dataset)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--config', default=osp.join(ROOT, 'configs', 'geocnn_bp4d_fold1.py')
    )
    parser.add_argument(
        '--frames',
        type=int,
        default=12,
        help='frames per subject (one train, one test subject)',
    )
    parser.add_argument(
        '--rounds',
        type=int,
        default=10,
        help='passes over each split, train and test alternated',
    )
    parser.add_argument(
        '--images-per-s',
        type=float,
        default=1500.0,
        help='training step rate of one GPU, images/s',
    )
    parser.add_argument(
        '--test-images-per-s',
        type=float,
        default=None,
        help='test rate of one GPU, images/s (default: 3x training)',
    )
    parser.add_argument(
        '--work-dir',
        default=None,
        help='where to build the tree (default: a temporary folder)',
    )
    parser.add_argument(
        '--out', default=None, help='also write the figures as JSON'
    )
    parser.add_argument(
        '--prepare-only',
        action='store_true',
        help='only prepare the tree in --work-dir and print its data root '
        '(benchmark_pipeline_ab.py prepares its tree this way)',
    )
    args = parser.parse_args(argv)
    if args.prepare_only:
        if not args.work_dir:
            parser.error('--prepare-only needs --work-dir')
        os.makedirs(args.work_dir, exist_ok=True)
        print(prepare(args.work_dir, args.frames))
        return 0

    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        work_dir = args.work_dir or tmp
        os.makedirs(work_dir, exist_ok=True)
        data_root = prepare(work_dir, args.frames)
        specs = config_geo_specs(args.config)
        datasets = {
            s: build_dataset(args.config, data_root, s, specs)
            for s in ('train', 'test')
        }
        for (
            ds
        ) in datasets.values():  # warm-up: imports, first-call allocations
            run_round(ds)
            for t in ds.pipeline.transforms:
                t.times.clear()
        per_sample = {s: [] for s in datasets}
        loads = []
        for r in range(args.rounds):
            order = ('train', 'test') if r % 2 == 0 else ('test', 'train')
            for split in order:
                per_sample[split].append(run_round(datasets[split]))
            loads.append(os.getloadavg()[0])
    rates = {
        'train': args.images_per_s,
        'test': args.test_images_per_s or 3 * args.images_per_s,
    }
    print(
        f'one core (torch/OpenMP/OpenCV threads = 1); {args.rounds} rounds, '
        'train and test alternated; load average '
        f'{min(loads):.2f}-{max(loads):.2f} (now {os.getloadavg()})'
    )
    result = dict(config=args.config, rounds=args.rounds, load_average=loads)
    for split, ds in datasets.items():
        ms = statistics.median(per_sample[split]) * 1000
        cores = rates[split] * ms / 1000
        print(
            f'\n{split}: {len(ds)} samples, {ms:.2f} ms/sample, '
            f'{1000 / ms:.0f} samples/s per core; {rates[split]:g} images/s '
            f'on one GPU needs {cores:.1f} loader cores'
        )
        stages = {}
        for t in ds.pipeline.transforms:
            stages[t.name] = statistics.median(t.times) * 1000
            print(f'  {t.name:<26} {stages[t.name]:7.3f} ms')
        result[split] = dict(
            samples=len(ds),
            ms_per_sample=ms,
            samples_per_s_per_core=1000 / ms,
            images_per_s=rates[split],
            loader_cores=cores,
            stages_ms=stages,
        )
    if args.out:
        from geoconv_mm.utils.atomic_io import atomic_write_json

        atomic_write_json(args.out, result, indent=1)
        print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
