"""Export a GeoConv AU model to ONNX, GeoConv written in standard operators.

The graph takes the face crop and one geodesic-weight tensor per GeoConv
spec, with a dynamic batch, and returns the AU probabilities (and a joint
model's intensities); everything inference needs is in the file's metadata,
so a deployed model needs no config. What the graph holds is described in
:mod:`geoconv_mm.apis.onnx_export`, which this tool runs.

Example::

    python tools/deployment/pytorch2onnx.py configs/geocnn_synthau_demo.py \\
        work_dirs/geocnn_synthau_demo/epoch_9.pth --out geocnn.onnx --verify

``--verify`` compares onnxruntime with PyTorch on random inputs of a batch
size other than the traced one.
"""

import argparse
import sys

from geoconv_mm.apis.onnx_export import DEFAULT_OPSET, export_onnx, verify_onnx
from geoconv_mm.ops.onnx_runtime import CROP_INPUT


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='the model\'s training config')
    parser.add_argument('checkpoint', help='trained weights (.pth)')
    parser.add_argument('--out', required=True, help='the .onnx file')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET)
    parser.add_argument(
        '--verify',
        action='store_true',
        help='compare onnxruntime with PyTorch on random inputs',
    )
    parser.add_argument(
        '--tolerance',
        type=float,
        default=1e-4,
        help='--verify: the largest absolute probability difference allowed',
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        wrapper, meta = export_onnx(
            args.config, args.checkpoint, args.out, args.opset
        )
    except (FileNotFoundError, ValueError) as err:
        # A bad checkpoint or config is one line, not a traceback.
        raise SystemExit(f'error: {err}') from None
    aus = ', '.join(meta.au_names)
    print(
        f'wrote {args.out}: inputs {CROP_INPUT} + {len(meta.geo_specs)} '
        f'geodesic weights, {len(meta.au_ids)} AUs ({aus})'
    )
    if args.verify:
        diff = verify_onnx(wrapper, args.out)
        ok = diff <= args.tolerance
        print(
            f'onnxruntime vs PyTorch: max abs output difference '
            f'{diff:.2e} ({"ok" if ok else "above"} {args.tolerance:g})'
        )
        return 0 if ok else 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
