"""Print the fully merged config (MMPretrain's tools/misc/print_config.py).

Examples::

    python tools/misc/print_config.py configs/geocnn_bp4d_fold1.py
    python tools/misc/print_config.py configs/ablations/vgg19_bp4d.py --fold 2
    python tools/misc/print_config.py configs/geocnn_bp4d_fold1.py \\
        --cfg-options train_dataloader.batch_size=16
"""

import argparse

from geoconv_mm.utils import add_config_args, load_config


def parse_args():
    parser = argparse.ArgumentParser(description='Print the merged config')
    add_config_args(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    print(load_config(args).pretty_text)


if __name__ == '__main__':
    main()
