"""Build small BP4D / DISFA trees in exactly the on-disk formats of licensed copies."""
from __future__ import annotations

import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np

#: A BP4D-like header: frame column 0, the 12 protocol AUs and extra AUs, not sorted.
BP4D_HEADER = [0, 1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24, 27, 5]


def tiny_image(seed: int, size=(8, 8)) -> np.ndarray:
    return np.random.RandomState(seed).randint(0, 255, (*size, 3)).astype(np.uint8)


def write_bp4d_csv(path: str, header: Sequence, rows: Sequence[Sequence]) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(','.join(str(h) for h in header) + '\n')
        for r in rows:
            f.write(','.join(str(v) for v in r) + '\n')


def bp4d_rows(frames: Sequence[int], labels: np.ndarray,
              header: Sequence = BP4D_HEADER) -> List[list]:
    """Rows for ``header`` where the 12 protocol AUs take ``labels`` (T, 12) and the
    extra AUs hold 9."""
    protocol = [1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24]
    rows = []
    for f, lab in zip(frames, labels):
        row = []
        for h in header:
            if h == 0:
                row.append(f)
            elif h in protocol:
                row.append(int(lab[protocol.index(h)]))
            else:
                row.append(9)
        rows.append(row)
    return rows


def write_bp4d_images(root: str, subject: str, task: str, numbers: Sequence[int],
                      padded: bool, images: Optional[Dict[int, np.ndarray]] = None) -> None:
    folder = osp.join(root, subject, task)
    os.makedirs(folder, exist_ok=True)
    for n in numbers:
        name = f'{n:04d}.jpg' if padded else f'{n}.jpg'
        img = images[n] if images is not None else tiny_image(n)
        assert cv2.imwrite(osp.join(folder, name), img)


def write_disfa_video(path: str, frames: Sequence[np.ndarray], fps: float = 20.0) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'MJPG'), fps, (w, h))
    assert writer.isOpened(), path
    for f in frames:
        writer.write(f)
    writer.release()


def write_disfa_labels(root: str, subject: str, intensities: Dict[int, Sequence[int]],
                       base: int = 1) -> None:
    """``intensities``: AU -> per-frame values; writes ``<SN>_au<k>.txt`` files."""
    folder = osp.join(root, 'ActionUnit_Labels', subject)
    os.makedirs(folder, exist_ok=True)
    for au, values in intensities.items():
        with open(osp.join(folder, f'{subject}_au{au}.txt'), 'w') as f:
            for t, v in enumerate(values):
                f.write(f'{base + t},{v}\n')


def disfa_video_path(root: str, subject: str) -> str:
    return osp.join(root, 'Videos_LeftCamera', f'LeftVideo{subject}_comp.avi')


def grid_surface(h, w, z=None):
    """A mesh over the pixel centres of an (h, w) image; z defaults to a bump."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    z = (np.sin(x / 3) * 2 + y / 4) if z is None else z
    v = np.stack([x.ravel(), y.ravel(), z.ravel()], 1)
    idx = np.arange(h * w).reshape(h, w)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    f = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3),
                        np.stack([b, d, c], -1).reshape(-1, 3)])
    from geoconv_mm.geodesic import FaceSurface
    return FaceSurface(v, f, (h, w))
