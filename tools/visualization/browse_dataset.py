"""A PNG grid of pipeline-processed crops (MMPretrain's browse_dataset.py).

Each tile shows a crop as the network sees it, beside the mean Eq. 4
geodesic weight of one GeoCNN scale over it, with the sample's name and its
active AUs below::

    python tools/visualization/browse_dataset.py \\
        configs/geocnn_bp4d_fold1.py --split test --scale 4 --out grid.png
    python tools/visualization/browse_dataset.py \\
        configs/geocnn_bp4d_fold1.py --fold 2 --num-samples 8 \\
        --cfg-options data_root=/data/bp4d --out grid.png
"""

import argparse
import os
import os.path as osp
import sys

import cv2
from mmengine.utils import ProgressBar

from geoconv_mm.utils import add_config_args, load_config
from geoconv_mm.visualization import browse_grid, build_browse_dataset
from geoconv_mm.visualization.dataset_browser import SPLITS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_config_args(parser)
    parser.add_argument('--out', required=True, help='PNG file to write')
    parser.add_argument(
        '--split', default='test', choices=SPLITS, help='dataloader to draw'
    )
    parser.add_argument('--num-samples', type=int, default=16)
    parser.add_argument('--cols', type=int, default=4, help='tiles per row')
    parser.add_argument(
        '--tile-size', type=int, default=160, help='panel side in pixels'
    )
    parser.add_argument(
        '--scale',
        type=int,
        help='input stride of the GeoCNN scale whose weights are drawn '
        '(default: the smallest)',
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.config):
        sys.exit(f'config: no such file {args.config!r}')
    cfg = load_config(args)
    try:
        dataset, specs = build_browse_dataset(cfg, args.split)
        bar = ProgressBar(min(args.num_samples, len(dataset)))
        grid = browse_grid(
            dataset,
            specs,
            scale=args.scale,
            num_samples=args.num_samples,
            cols=args.cols,
            tile_size=args.tile_size,
            progress=bar.update,
        )
    except (ValueError, KeyError, FileNotFoundError) as exc:
        sys.exit(f'error: {exc}')
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    if not cv2.imwrite(args.out, grid):
        sys.exit(f'--out: cannot write {args.out!r}')
    print(f'\nwrote {args.out} ({grid.shape[1]}x{grid.shape[0]})')


if __name__ == '__main__':
    main()
