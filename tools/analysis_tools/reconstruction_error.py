"""How good MediaPipe's reconstruction of SynthAU's faces is, and where its
error lies on the study's dose-response curve.

On a SynthAU build with ``reconstruct=True`` (the study ``synthau_recon``'s
data), for every frame (or ``--frames`` of them, evenly spread), against the
ground truth of the same frame:

- the vertex error of MediaPipe's mesh after a similarity alignment, in
  millimetres, for the frame and for the frame without its AUs;
- the AU deformation it captures (:func:`geoconv_mm.study.reconstruction.
  displacement_agreement`), per frame and per active AU;
- the geodesic weights' error per GeoCNN layer and per active AU: the mean
  squared difference of the weights from the reconstruction and from the
  truth, against the mean squared change the AUs make to the true weights;
- the same vertex and weight errors of the ground truth plus the study's
  smooth noise (``PerturbFaceSurface``) at each of its sizes, so that the
  reconstruction can be placed on the noise axis.

With ``--study`` (the folder of the study's analysis; for a completed study,
its completion's) it also draws the dose response: GeoCNN's gain over plain
convolutions against the geometry's error, the noise arms and the
reconstruction on one chart. Writes
``quality.json``, ``quality.md`` and ``dose_response.png`` under ``--out``::

    python tools/analysis_tools/reconstruction_error.py \\
        --data-root data/synthau \\
        --study docs/results/synthau_recon_completion \\
        --out docs/results/synthau_recon_quality
"""

import argparse
import json
import os
import os.path as osp
from collections import defaultdict
from typing import List

import numpy as np
from mmengine.config import Config
from mmpretrain.registry import MODELS
from tqdm import tqdm

import geoconv_mm  # noqa: F401  (registration)
from geoconv_mm.datasets.synthau import (
    SYNTHAU_AU_IDS,
    SynthAUSpec,
    generate_synthau,
    mesh_path,
)
from geoconv_mm.datasets.synthau.generator import ANNOTATION
from geoconv_mm.datasets.transforms import PerturbFaceSurface
from geoconv_mm.geodesic import FaceSurface, compute_geodesic_weights
from geoconv_mm.ops import collect_geo_specs
from geoconv_mm.study.geodesic_snr import mean_squared_change
from geoconv_mm.study.reconstruction import (
    aligned_error_mm,
    displacement_agreement,
)
from geoconv_mm.utils.atomic_io import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_json,
)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: The config whose pipelines give every mesh of the study's arms.
MESH_CONFIG = osp.join(
    ROOT, 'configs', '_base_', 'geocnn-mesh_synthau_demo.py'
)


def noise_sizes(config: str = MESH_CONFIG) -> List[float]:
    """The sizes of the study's smooth noise.

    Args:
        config (str): The config whose ``_mesh_pipelines`` every mesh arm's
            config (``geocnn-meshnoise-<s>mm_synthau_demo.py`` among them)
            takes its pipelines from.

    Returns:
        list[float]: The ``rms_mm`` of its ``PerturbFaceSurface`` steps (mm),
        ascending.
    """
    pipelines = Config.fromfile(config)['_mesh_pipelines']
    return sorted(
        float(step['rms_mm'])
        for p in pipelines.values()
        for step in p['test']
        if step['type'] == 'PerturbFaceSurface'
    )


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--config', default='configs/geocnn-recon_synthau_demo.py')
    p.add_argument('--data-root', default='data/synthau')
    p.add_argument('--frames', type=int, default=None)
    p.add_argument('--study', default=None)
    p.add_argument('--out', default='work_dirs/reconstruction_error')
    return p.parse_args()


def _quartiles(x) -> List[float]:
    return [float(v) for v in np.nanpercentile(x, [25, 50, 75])]


def measure(
    build: str, entries: List[dict], specs, noise_mm: List[float]
) -> dict:
    """Every measure of the module docstring over ``entries``, with the
    ground truth plus smooth noise of each of ``noise_mm``."""
    keys = [s.key for s in specs]
    vertex = defaultdict(list)
    per_au = defaultdict(lambda: defaultdict(list))
    # Per layer and AU ('all' too): the weight maps of each comparison.
    pairs = defaultdict(lambda: defaultdict(lambda: ([], [])))
    noise = {mm: PerturbFaceSurface(rms_mm=mm) for mm in noise_mm}
    for d in tqdm(entries, desc='frames', unit='frame'):
        geo = osp.join(build, d['geo_path'])
        m = {k: FaceSurface.load(mesh_path(geo, k)) for k in _MESHES}
        faces = m['gt'].faces
        vertex['recon'].append(
            aligned_error_mm(m['recon'].vertices, m['gt'].vertices, faces)
        )
        vertex['recon_neutral'].append(
            aligned_error_mm(
                m['recon_neutral'].vertices, m['neutral'].vertices, faces
            )
        )
        agree = displacement_agreement(
            m['recon'].vertices,
            m['recon_neutral'].vertices,
            m['gt'].vertices,
            m['neutral'].vertices,
            faces,
        )
        w = {k: compute_geodesic_weights(s, specs) for k, s in m.items()}
        noisy = {}
        for mm, t in noise.items():
            s = t(dict(face_surface=m['gt'], geo_path=geo))['face_surface']
            vertex[f'noise{mm:g}mm'].append(
                aligned_error_mm(s.vertices, m['gt'].vertices, faces)
            )
            noisy[mm] = compute_geodesic_weights(s, specs)
        active = [au for au, on in zip(SYNTHAU_AU_IDS, d['au_labels']) if on]
        for group in ['all'] + active:
            for name, value in agree.items():
                per_au[group][name].append(value)
            for k in keys:
                for what, (a, b) in {
                    'au_in_truth': (w['gt'][k], w['neutral'][k]),
                    'au_in_recon': (w['recon'][k], w['recon_neutral'][k]),
                    'recon_error': (w['recon'][k], w['gt'][k]),
                    **{
                        f'noise{mm:g}mm_error': (noisy[mm][k], w['gt'][k])
                        for mm in noise_mm
                    },
                }.items():
                    pairs[(group, k)][what][0].append(a)
                    pairs[(group, k)][what][1].append(b)
    order = ['all'] + [au for au in SYNTHAU_AU_IDS if au in per_au]
    weights = {
        f'{group}|{k}': {
            what: mean_squared_change(a, b)
            for what, (a, b) in pairs[(group, k)].items()
        }
        for group in order
        for k in keys
    }
    return dict(
        frames=len(entries),
        noise_mm=list(noise_mm),
        vertex_error_mm={k: _quartiles(v) for k, v in vertex.items()},
        displacement={
            str(g): {
                k: dict(mean=float(np.nanmean(v)), frames=len(v))
                for k, v in per_au[g].items()
            }
            for g in order
        },
        weights=weights,
        layers=keys,
    )


_MESHES = ('gt', 'neutral', 'recon', 'recon_neutral')


def markdown(q: dict) -> str:
    ve = q['vertex_error_mm']
    noise_mm = q['noise_mm']
    lines = [
        f'# MediaPipe against the ground truth, {q["frames"]} frames',
        '',
        '## Vertex error after similarity alignment (mm)',
        '',
        '| mesh | 25% | median | 75% |',
        '|---|---|---|---|',
    ]
    lines += [
        f'| {k} | {v[0]:.2f} | {v[1]:.2f} | {v[2]:.2f} |'
        for k, v in ve.items()
    ]
    lines += [
        '',
        '## The AU deformation captured (frames with the AU active)',
        '',
        '| AU | frames | true deformation, mm RMS | error, mm RMS | '
        'cosine | gain |',
        '|---|---|---|---|---|---|',
    ]
    for g, d in q['displacement'].items():
        name = 'all frames' if g == 'all' else f'AU{g}'
        lines.append(
            f'| {name} | {d["true_mm"]["frames"]} | '
            f'{d["true_mm"]["mean"]:.2f} | {d["error_mm"]["mean"]:.2f} | '
            f'{d["cosine"]["mean"]:.2f} | {d["gain"]["mean"]:.2f} |'
        )
    lines += [
        '',
        '## Geodesic weights per layer (mean squared difference)',
        '',
        'AU in truth: the AUs\' change of the true weights; AU in recon: '
        'the same change in the reconstruction\'s weights; recon error: '
        'reconstruction against truth; noise: the ground truth plus the '
        'study\'s noise against the truth.',
        '',
        '| frames | layer | AU in truth | AU in recon | recon error | '
        + ' | '.join(f'noise {mm:g} mm' for mm in noise_mm)
        + ' |',
        '|---|---|---|---|---|' + '---|' * len(noise_mm),
    ]
    for key, w in q['weights'].items():
        group, layer = key.split('|')
        name = 'all' if group == 'all' else f'AU{group}'
        lines.append(
            f'| {name} | {layer.split("_")[0]} | {w["au_in_truth"]:.2e} | '
            f'{w["au_in_recon"]:.2e} | {w["recon_error"]:.2e} | '
            + ' | '.join(f'{w[f"noise{mm:g}mm_error"]:.2e}' for mm in noise_mm)
            + ' |'
        )
    return '\n'.join(lines) + '\n'


def plot_dose_response(q: dict, study_dir: str, path: str) -> dict:
    """GeoCNN's gain over plain against the geometry's vertex error: the
    noise arms (fold 1), the ground truth at 0 and the reconstruction."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    with open(osp.join(study_dir, 'summary.json')) as fh:
        summary = json.load(fh)
    (variant,) = summary['variants'].values()
    cmp = variant['comparisons']
    ve = q['vertex_error_mm']
    points = []
    gt = cmp.get('geo - plain')
    if gt is not None:
        fold1 = gt['by_fold'].get('1', gt)
        points.append(('ground truth', 0.0, fold1))
    for mm in q['noise_mm']:
        c = cmp.get(f'geo_noise{mm:g}mm - plain')
        if c is not None:
            points.append((f'+{mm:g} mm noise', ve[f'noise{mm:g}mm'][1], c))
    recon = cmp.get('geo_recon - plain')
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for label, x, c in points:
        lo, hi = c['interval']
        ax.errorbar(
            x,
            c['diff'],
            yerr=[[c['diff'] - lo], [hi - c['diff']]],
            fmt='o',
            capsize=4,
            color='tab:blue',
        )
        ax.annotate(
            label,
            (x, c['diff']),
            textcoords='offset points',
            xytext=(6, 6),
            fontsize=7,
        )
    if recon is not None:
        for name, c, colour in (
            ('MediaPipe, fold 1', recon['by_fold'].get('1'), 'tab:orange'),
            ('MediaPipe, 3 folds', recon, 'tab:red'),
        ):
            if c is None:
                continue
            lo, hi = c['interval']
            ax.errorbar(
                ve['recon'][1],
                c['diff'],
                yerr=[[c['diff'] - lo], [hi - c['diff']]],
                fmt='s',
                capsize=4,
                color=colour,
                label=name,
            )
    ax.axhline(0, color='k', lw=1)
    ax.set_xlabel('vertex error after similarity alignment, median (mm)')
    ax.set_ylabel('GeoCNN − plain, mean F1 (points), 95% interval')
    ax.set_title('Gain against the geometry\'s error', fontsize=10)
    ax.legend(fontsize=7, loc='best')
    fig.tight_layout()
    with atomic_path(path, '.tmp.png') as tmp:
        fig.savefig(tmp, dpi=110, format='png')
    plt.close(fig)
    return dict(
        points=[
            dict(
                label=lbl,
                vertex_error_mm=x,
                diff=c['diff'],
                interval=c['interval'],
            )
            for lbl, x, c in points
        ]
    )


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    generator = dict(cfg.train_dataloader.dataset.generator)
    if not generator.get('reconstruct'):
        raise SystemExit(
            f'{args.config}: its SynthAU has no reconstructions '
            '(reconstruct=True)'
        )
    spec = SynthAUSpec(**generator)
    build = generate_synthau(args.data_root, spec)
    with open(osp.join(build, ANNOTATION)) as fh:
        entries = json.load(fh)['data_list']
    if args.frames is not None:
        idx = np.linspace(0, len(entries) - 1, args.frames).round()
        entries = [entries[int(i)] for i in np.unique(idx)]
    size = spec.image_size
    specs = collect_geo_specs(MODELS.build(cfg.model), (size, size))
    q = measure(build, entries, specs, noise_sizes())
    q['build'] = osp.basename(build)
    os.makedirs(args.out, exist_ok=True)
    if args.study:
        q['dose_response'] = plot_dose_response(
            q, args.study, osp.join(args.out, 'dose_response.png')
        )
    atomic_write_json(osp.join(args.out, 'quality.json'), q, indent=1)
    text = markdown(q)
    atomic_write_bytes(osp.join(args.out, 'quality.md'), text.encode())
    print(text)


if __name__ == '__main__':
    main()
