"""Picture of a face's mesh, a geodesic distance field and its geodesic weight
maps.

Usage::

    python tools/visualization/visualize_geodesic.py IMAGE \\
        --out fig.png [--stride 4] [--point X,Y]
    # crop RECORD.jpg beside it
    python tools/visualization/visualize_geodesic.py RECORD.npz --out fig.png
    # built-in test face
    python tools/visualization/visualize_geodesic.py --astronaut --out fig.png

Panels: the aligned crop with the mesh; the geodesic distance from a point
(default: the nose tip) with iso-lines every 10 px, which bend around the open
mouth and eyes; and the nine tap maps of Eq. 4 for the layer whose input has
total stride ``--stride`` (3x3 kernel, stride 1, padding 1): above 1 where a
neighbour is geodesically close.
"""

import argparse
import os
import sys

import numpy as np


def load_input(args):
    from geoconv_mm.face import FacePipeline
    from geoconv_mm.geodesic import FaceSurface
    from geoconv_mm.utils.frame_io import read_image as load_image

    if args.astronaut or args.input is None:
        from geoconv_mm.face.samples import astronaut_bgr

        image = astronaut_bgr()
    elif args.input.endswith('.npz'):
        surface = FaceSurface.load(args.input)
        crop_path = args.input[:-4] + '.jpg'
        crop = (
            load_image(crop_path)
            if os.path.exists(crop_path)
            else np.full(surface.image_size + (3,), 255, np.uint8)
        )
        return crop, surface
    else:
        image = load_image(args.input)
    result = FacePipeline(crop_size=args.crop_size).process(
        image, name=args.input or 'astronaut'
    )
    return result.crop, result.surface


def main(argv=None):
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    from geoconv_mm.geodesic import compute_geodesic_weights
    from geoconv_mm.geodesic.fields import geodesic_distance_field
    from geoconv_mm.ops.geo_spec import GeoSpec

    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        'input',
        nargs='?',
        help='image, or a .npz record from prepare_geodesic',
    )
    parser.add_argument(
        '--astronaut', action='store_true', help="use skimage's astronaut"
    )
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument(
        '--stride', type=int, default=4, help='input stride of the layer'
    )
    parser.add_argument(
        '--point', default=None, help='X,Y of the distance source (pixels)'
    )
    parser.add_argument(
        '--backend', default='fast', choices=('fast', 'numpy', 'heat')
    )
    parser.add_argument('--close-holes', action='store_true')
    parser.add_argument(
        '--no-hc', action='store_true', help='w/o hierarchy compensation'
    )
    parser.add_argument('--crop-size', type=int, default=224)
    args = parser.parse_args(argv)

    crop, surface = load_input(args)
    v, f = surface.vertices, surface.faces
    point = (
        tuple(float(t) for t in args.point.split(','))
        if args.point
        else tuple(v[np.argmax(v[:, 2]), :2])
    )
    field = geodesic_distance_field(
        surface,
        point,
        close_holes=args.close_holes,
        backend='heat' if args.backend == 'heat' else 'fast',
    )
    spec = GeoSpec(args.stride)
    weights = compute_geodesic_weights(
        surface,
        [spec],
        backend=args.backend,
        close_holes=args.close_holes,
        hierarchy_compensation=not args.no_hc,
    )[spec.key]

    rgb = crop[..., ::-1]
    fig = plt.figure(figsize=(16, 5.6))
    gs = fig.add_gridspec(3, 9, wspace=0.08, hspace=0.12)
    ax = fig.add_subplot(gs[:, 0:3])
    ax.imshow(rgb)
    edges = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    ax.add_collection(
        LineCollection(
            v[edges][:, :, :2], colors='cyan', linewidths=0.35, alpha=0.8
        )
    )
    ax.set_title(
        f'aligned crop and mesh ({len(v)} vertices, {len(f)} triangles)'
    )
    ax.axis('off')

    ax = fig.add_subplot(gs[:, 3:6])
    ax.imshow(rgb, alpha=0.35)
    im = ax.imshow(np.ma.masked_invalid(field), cmap='viridis')
    finite = np.nan_to_num(field, nan=-1.0)
    levels = np.arange(10, np.nanmax(field), 10)
    if len(levels):
        ax.contour(finite, levels=levels, colors='white', linewidths=0.6)
    ax.plot(*point, 'r*', ms=12)
    ax.set_title(
        'geodesic distance from the star, iso-lines every 10 px'
        + (', holes closed' if args.close_holes else '')
    )
    ax.axis('off')
    fig.colorbar(
        im,
        ax=ax,
        orientation='horizontal',
        fraction=0.05,
        pad=0.02,
        label='geodesic distance (px)',
    )

    vmax = max(2.0, float(np.percentile(weights, 99.5)))
    names = [
        'up-left',
        'up',
        'up-right',
        'left',
        'centre',
        'right',
        'down-left',
        'down',
        'down-right',
    ]
    for k in range(9):
        ax = fig.add_subplot(gs[k // 3, 6 + k % 3])
        im = ax.imshow(weights[k], cmap='magma', vmin=0, vmax=vmax)
        ax.set_title(f'{names[k]}', fontsize=8, pad=2)
        ax.axis('off')
    fig.colorbar(im, ax=fig.axes[-9:], fraction=0.03, pad=0.02)
    fig.suptitle(
        f'Eq. 4 geodesic weights, input stride {args.stride} '
        f'({weights.shape[1]}x{weights.shape[2]} cells, backend {args.backend}'
        f'{", w/o HC" if args.no_hc else ""}); one map per kernel tap',
        x=0.78,
        y=0.99,
    )
    out = args.out if os.path.splitext(args.out)[1] else args.out + '.png'
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches='tight')
    print(f'wrote {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
