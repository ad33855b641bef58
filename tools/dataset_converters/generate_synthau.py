"""Generate (or finish generating) a SynthAU build and print its statistics.

``SynthAUDataset`` does this by itself on first use; this tool builds ahead of
time, e.g. a larger set, or on a login node before a cluster job. Interrupted
builds resume.

Examples::

    # the demo's build
    python tools/dataset_converters/generate_synthau.py
    python tools/dataset_converters/generate_synthau.py --num-subjects 60 \\
        --images-per-subject 100 \\
        --image-size 224 --seed 1
    # MediaPipe meshes
    python tools/dataset_converters/generate_synthau.py \\
        --geometry reconstructed
"""

import argparse
import json
import os.path as osp
import sys

from geoconv_mm.datasets.synthau import (  # noqa: E501
    SYNTHAU_AU_IDS,
    SynthAUSpec,
    generate_synthau,
)
from geoconv_mm.datasets.synthau.generator import ANNOTATION, GEOMETRIES
from geoconv_mm.utils import WorkerStartError


def parse_args():
    d = SynthAUSpec()
    parser = argparse.ArgumentParser(
        description='Generate the SynthAU dataset'
    )
    parser.add_argument(
        '--root', default='data/synthau', help='cache folder of builds'
    )
    parser.add_argument('--seed', type=int, default=d.seed)
    parser.add_argument('--num-subjects', type=int, default=d.num_subjects)
    parser.add_argument(
        '--images-per-subject', type=int, default=d.images_per_subject
    )
    parser.add_argument('--image-size', type=int, default=d.image_size)
    parser.add_argument('--num-parts', type=int, default=d.num_parts)
    parser.add_argument('--geometry', choices=GEOMETRIES, default=d.geometry)
    parser.add_argument('--max-yaw', type=float, default=d.max_yaw)
    parser.add_argument('--max-pitch', type=float, default=d.max_pitch)
    parser.add_argument('--max-roll', type=float, default=d.max_roll)
    parser.add_argument(
        '--workers',
        type=int,
        default=None,
        help='processes that render subjects (default: the cores this '
        'process may use for a large build, else 1)',
    )
    args = parser.parse_args()
    if args.workers is not None and args.workers < 1:
        parser.error(f'--workers must be >= 1, got {args.workers}')
    return args


def main():
    args = parse_args()
    spec = SynthAUSpec(
        seed=args.seed,
        num_subjects=args.num_subjects,
        images_per_subject=args.images_per_subject,
        image_size=args.image_size,
        num_parts=args.num_parts,
        geometry=args.geometry,
        max_yaw=args.max_yaw,
        max_pitch=args.max_pitch,
        max_roll=args.max_roll,
    )
    try:
        build = generate_synthau(args.root, spec, num_workers=args.workers)
    except WorkerStartError as err:
        sys.exit(f'generate_synthau.py: {err}')
    with open(osp.join(build, ANNOTATION)) as fh:
        ann = json.load(fh)
    data = ann['data_list']
    print(f'{build}: {len(data)} images of {spec.num_subjects} subjects')
    print(
        'parts: ' + ' | '.join(' '.join(p) for p in ann['metainfo']['parts'])
    )
    if not data:
        return
    print('positive rate per AU:')
    for k, au in enumerate(SYNTHAU_AU_IDS):
        rate = sum(d['au_labels'][k] for d in data) / len(data)
        print(f'  AU{au:<3d} {rate:6.1%}')
    print(
        f'mean active AUs per image: '
        f'{sum(sum(d["au_labels"]) for d in data) / len(data):.2f}'
    )
    in_config = (
        '  in a config: dataset=dict(type=\'SynthAUDataset\', '
        f'data_root={args.root!r}, generator=dict(seed={spec.seed}, '
        f'num_subjects={spec.num_subjects}, images_per_subject='
        f'{spec.images_per_subject}, image_size={spec.image_size}, '
        f'geometry={spec.geometry!r}), ...)'
    )
    print(in_config)


if __name__ == '__main__':
    main()
