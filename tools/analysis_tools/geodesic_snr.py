"""Signal-to-noise of the geodesic weights per SynthAU AU and GeoCNN layer.

Writes ``snr.json`` and ``snr.md`` under ``--out`` (atomically): for each
variant, AU and layer, the mean squared change of Eq. 4's weights with the AU
against the change with pose and with identity. No training.

    python tools/analysis_tools/geodesic_snr.py \
        --out docs/results/geodesic_snr
"""

import argparse
import os

from mmengine.config import Config
from mmpretrain.registry import MODELS

import geoconv_mm  # noqa: F401  (registration)
from geoconv_mm.ops import collect_geo_specs
from geoconv_mm.study.geodesic_snr import synthau_weight_snr
from geoconv_mm.utils.atomic_io import (
    atomic_write_bytes,
    atomic_write_json,
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--config', default='configs/geocnn_synthau_demo.py')
    p.add_argument(
        '--variants',
        nargs='+',
        default=['default', 'geometry_only', 'depth_x2', 'depth_x4'],
    )
    p.add_argument('--identities', type=int, default=3)
    p.add_argument('--out', default='docs/results/geodesic_snr')
    args = p.parse_args()
    cfg = Config.fromfile(args.config)
    size = cfg.synthau['image_size']
    specs = collect_geo_specs(MODELS.build(cfg.model), (size, size))
    out = {
        v: synthau_weight_snr(v, cfg.synthau, specs, args.identities)
        for v in args.variants
    }
    keys = [s.key for s in specs]
    lines = [
        '# Geodesic-weight signal-to-noise per AU and layer',
        '',
        'SNR = mean squared weight change with the AU / with pose '
        '(identity in brackets).',
    ]
    for v, per_au in out.items():
        lines += [
            '',
            f'## {v}',
            '',
            '| AU | ' + ' | '.join(k.split('_')[0] for k in keys) + ' |',
            '|---' * (len(keys) + 1) + '|',
        ]
        for au, per_layer in per_au.items():
            cells = [
                f"{per_layer[k]['snr_pose']:.3f} "
                f"({per_layer[k]['snr_identity']:.3f})"
                for k in keys
            ]
            lines.append(f'| AU{au} | ' + ' | '.join(cells) + ' |')
    os.makedirs(args.out, exist_ok=True)
    atomic_write_json(
        os.path.join(args.out, 'snr.json'),
        dict(config=args.config, identities=args.identities, snr=out),
        indent=1,
    )
    atomic_write_bytes(
        os.path.join(args.out, 'snr.md'), ('\n'.join(lines) + '\n').encode()
    )


if __name__ == '__main__':
    main()
