"""Print the fully merged config (MMPretrain's tools/misc/print_config.py).

Examples::

    python tools/misc/print_config.py configs/geocnn_bp4d_fold1.py
    python tools/misc/print_config.py configs/ablations/vgg19_bp4d.py --fold 2
    python tools/misc/print_config.py configs/geocnn_bp4d_fold1.py \\
        --cfg-options train_dataloader.batch_size=16
"""

import argparse

from mmengine.config import Config, DictAction

from geoconv_mm.utils import set_fold


def parse_args():
    parser = argparse.ArgumentParser(description='Print the merged config')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--fold',
        type=int,
        choices=(1, 2, 3),
        help="protocol fold of every dataloader (default: the config's)",
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value (e.g. '
        'train_dataloader.batch_size=16)',
    )
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.fold is not None:
        set_fold(cfg, args.fold)
    print(cfg.pretty_text)


if __name__ == '__main__':
    main()
