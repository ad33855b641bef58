"""Linear probes on SynthAU: how much each input says about each AU.

Trains one logistic regression per input kind on the training subjects of a
fold and reports per-AU F1 on the held-out subjects:

- ``image``: the 28 x 28 grey image (what a network sees, at low resolution);
- ``geo``: the geodesic weights GeoConv gets (the listed specs, flattened);
- ``depth``: the 28 x 28 depth map of the mesh (what an RGB-D model gets);
- ``image+geo``: both.

It answers whether the 3D information exposed to GeoConv is informative beyond
the image, separately from whether a network manages to use it
(tools/analysis_tools/synthau_experiment.py).

Example::

    python tools/analysis_tools/synthau_probe.py \\
        configs/geocnn_synthau_demo.py --out work_dirs/probe
"""

import argparse

import numpy as np


def parse_args():
    parser = argparse.ArgumentParser(description='Linear probes on SynthAU')
    parser.add_argument(
        'config', help='a SynthAU config (its dataset and fold are used)'
    )
    parser.add_argument(
        '--specs',
        nargs='+',
        default=['S4_k3x3_s1x1_p1x1_d1x1', 'S8_k3x3_s1x1_p1x1_d1x1'],
    )
    parser.add_argument(
        '--size', type=int, default=28, help='image/depth probe size'
    )
    parser.add_argument('--steps', type=int, default=300)
    parser.add_argument(
        '--out', default=None, help='prefix of .md/.json outputs'
    )
    return parser.parse_args()


def features(dataset, specs, size):
    import cv2
    from tqdm import tqdm

    from geoconv_mm.geodesic import (
        FaceSurface,
        compute_geodesic_weights,
        render_depth,
    )

    out = dict(image=[], geo=[], depth=[])
    labels, masks = [], []
    for i in tqdm(range(len(dataset)), desc='features', leave=False):
        info = dataset.get_data_info(i)
        img = cv2.imread(info['img_path'], cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise ValueError(f'cannot read {info["img_path"]}')
        out['image'].append(
            cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA).ravel()
            / 255.0
        )
        surface = FaceSurface.load(info['geo_path'])
        w = compute_geodesic_weights(surface, specs)
        out['geo'].append(np.concatenate([w[s.key].ravel() for s in specs]))
        depth = render_depth(surface)
        out['depth'].append(
            cv2.resize(
                depth, (size, size), interpolation=cv2.INTER_AREA
            ).ravel()
        )
        labels.append(info['gt_au'])
        masks.append(info['au_mask'])
    feats = {k: np.asarray(v, np.float32) for k, v in out.items()}
    feats['image+geo'] = np.concatenate([feats['image'], feats['geo']], 1)
    return feats, np.asarray(labels, np.float32), np.asarray(masks, bool)


def probe(x_tr, y_tr, x_te, y_te, m_te, steps):
    """Per-AU F1 (%) of a class-balanced, L1-regularised logistic
    regression.
    """
    import torch

    from geoconv_mm.evaluation.metrics.au_f1_metric import au_f1_scores

    torch.manual_seed(0)
    mu, sd = x_tr.mean(0), x_tr.std(0) + 1e-6
    xtr = torch.from_numpy((x_tr - mu) / sd)
    xte = torch.from_numpy((x_te - mu) / sd)
    ytr = torch.from_numpy(y_tr)
    pos = ytr.mean(0).clamp(1e-3, 1 - 1e-3)
    lin = torch.nn.Linear(xtr.shape[1], ytr.shape[1])
    opt = torch.optim.Adam(lin.parameters(), lr=1e-2, weight_decay=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=(1 - pos) / pos)
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(lin(xtr), ytr) + 1e-2 * lin.weight.abs().mean()
        loss.backward()
        opt.step()
    with torch.no_grad():
        scores = torch.sigmoid(lin(xte)).numpy()
    return au_f1_scores(scores, y_te, m_te)['f1'] * 100


def main():
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS

    import geoconv_mm.datasets  # noqa: F401
    import geoconv_mm.datasets.synthau  # noqa: F401
    from geoconv_mm.ops import GeoSpec
    from geoconv_mm.utils.atomic_io import atomic_path, atomic_write_json

    args = parse_args()
    torch.set_num_threads(1)
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(args.config)
    specs = [GeoSpec.from_key(k) for k in args.specs]
    sets = {}
    for split, loader in (
        ('train', cfg.train_dataloader),
        ('test', cfg.val_dataloader),
    ):
        ds_cfg = loader.dataset.copy()
        ds_cfg.pipeline = []
        sets[split] = DATASETS.build(ds_cfg)
    names = list(sets['test'].metainfo['classes'])
    (f_tr, y_tr, _), (f_te, y_te, m_te) = (
        features(sets[s], specs, args.size) for s in ('train', 'test')
    )
    results = {
        k: probe(f_tr[k], y_tr, f_te[k], y_te, m_te, args.steps) for k in f_tr
    }
    lines = [
        '| AU | ' + ' | '.join(results) + ' |',
        '|---|' + '---|' * len(results),
    ]
    for i, n in enumerate(names):
        lines.append(
            f'| {n} | '
            + ' | '.join(f'{results[k][i]:.1f}' for k in results)
            + ' |'
        )
    lines.append(
        '| mean | '
        + ' | '.join(f'{np.nanmean(results[k]):.1f}' for k in results)
        + ' |'
    )
    text = '\n'.join(lines) + '\n'
    print(text)
    if args.out:
        atomic_write_json(
            args.out + '.json',
            dict(
                config=args.config,
                specs=args.specs,
                au_names=names,
                f1={k: v.tolist() for k, v in results.items()},
            ),
        )
        with atomic_path(args.out + '.md', '.tmp.md') as tmp:
            with open(tmp, 'w') as fh:
                fh.write(text)
        print(f'written: {args.out}.md, {args.out}.json')


if __name__ == '__main__':
    main()
