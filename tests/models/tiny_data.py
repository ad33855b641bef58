"""A tiny AU dataset in the real on-disk format (annotation JSON, crops, FaceSurface
records), for tests that run real pipelines and real training."""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Dict, List, Sequence

import cv2
import numpy as np

from geoconv_mm.geodesic.surface import FaceSurface

BP4D_AUS = [1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24]
DISFA_AUS = [1, 2, 4, 6, 9, 12, 25, 26]
# One subject of each protocol part: fold 1 trains on the first two, tests on the last.
SUBJECTS = dict(BP4D=('F001', 'M011', 'F007'), DISFA=('SN002', 'SN013', 'SN003'))


def bump_surface(size: int, n: int = 9, height: float = 6.0, shift: float = 0.0
                 ) -> FaceSurface:
    """A grid mesh over the crop with a Gaussian bump (the 'nose'), so geodesic
    distances differ from Euclidean ones and the weights are not all 1."""
    g = np.linspace(-0.5, size - 0.5, n)
    xx, yy = np.meshgrid(g, g)
    c = (size - 1) / 2 + shift
    z = height * np.exp(-((xx - c) ** 2 + (yy - c) ** 2) / (2 * (size / 4) ** 2))
    verts = np.stack([xx.ravel(), yy.ravel(), z.ravel()], 1)
    faces = []
    for i in range(n - 1):
        for j in range(n - 1):
            a = i * n + j
            faces += [[a, a + n, a + 1], [a + 1, a + n, a + n + 1]]
    return FaceSurface(verts, np.asarray(faces), (size, size))


def make_tiny_au_tree(root: str, dataset: str = 'BP4D', size: int = 32,
                      frames_per_subject: int = 4, seed: int = 0) -> str:
    """Write ``root/frames/...`` and ``root/annotations/<dataset>.json``; returns the
    annotation path. Every AU has positive and negative frames in every subject; for
    BP4D a few labels are unknown (9), DISFA gets intensities (0 or 3)."""
    rng = np.random.RandomState(seed)
    au_ids = BP4D_AUS if dataset == 'BP4D' else DISFA_AUS
    data_list: List[Dict] = []
    for s_idx, subject in enumerate(SUBJECTS[dataset]):
        for f in range(frames_per_subject):
            rel = f'frames/{subject}/T1/{f:05d}'
            os.makedirs(osp.join(root, osp.dirname(rel)), exist_ok=True)
            img = rng.randint(0, 255, (size, size, 3)).astype(np.uint8)
            assert cv2.imwrite(osp.join(root, rel + '.jpg'), img)
            bump_surface(size, shift=f - 1.5).save(osp.join(root, rel + '.npz'))
            labels = [(f + a + s_idx) % 2 for a in range(len(au_ids))]
            entry = dict(img_path=rel + '.jpg', geo_path=rel + '.npz', subject=subject,
                         sequence='T1', frame=f)
            if dataset == 'DISFA':
                entry['au_labels'] = labels
                entry['au_intensities'] = [3 * v for v in labels]
            else:
                if f == 0:
                    labels[3] = 9
                entry['au_labels'] = labels
            data_list.append(entry)
    ann = osp.join(root, 'annotations', f'{dataset.lower()}.json')
    os.makedirs(osp.dirname(ann), exist_ok=True)
    with open(ann, 'w') as fh:
        json.dump(dict(metainfo=dict(dataset=dataset, au_ids=au_ids),
                       data_list=data_list), fh)
    return ann


def shrink_pipeline(pipeline: Sequence[dict], size: int) -> List[dict]:
    """The config's pipeline with ResizeFace at ``size`` (tests run tiny images)."""
    return [dict(t, scale=size) if t['type'] == 'ResizeFace' else dict(t)
            for t in pipeline]
