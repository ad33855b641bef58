"""A grid of pipeline-processed crops with AU labels and geodesic weights."""

from __future__ import annotations

import math
from typing import Callable, List, Optional, Sequence

import cv2
import numpy as np
from mmengine.config import Config

from geoconv_mm.ops import GeoSpec

SPLITS = ('train', 'val', 'test')
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_FONT_SCALE = 0.4
_LINE_H = 14
#: Text lines under each tile: the sample's name, its active AUs, and the
#: overlaid spec with its largest tap spread.
LABEL_LINES = 3


def build_browse_dataset(cfg: Config, split: str):
    """The ``split`` dataset of ``cfg`` with its geodesic specs filled from the
    config's model, as :class:`~geoconv_mm.engine.GeoSpecsHook` fills them.

    Args:
        cfg (Config): A runner config (fold and overrides already applied).
        split (str): 'train', 'val' or 'test': which dataloader's dataset.

    Returns:
        tuple: (dataset, list[GeoSpec]) -- the built dataset and the specs of
        the model's GeoConv layers ([] for a model without GeoConv).
    """
    from mmpretrain.registry import DATASETS, MODELS

    import geoconv_mm  # noqa: F401  (registers datasets, transforms, models)
    from geoconv_mm.datasets.transforms import fill_geo_specs
    from geoconv_mm.ops import model_geo_specs
    from geoconv_mm.ops.geodesic_context import DEFAULT_IMAGE_SIZE

    if split not in SPLITS:
        raise ValueError(f'--split must be one of {SPLITS}, got {split!r}')
    loader = cfg.get(f'{split}_dataloader', None)
    if loader is None:
        raise KeyError(
            f'--split {split}: the config has no {split}_dataloader'
        )
    size = cfg.get('image_size', None) or DEFAULT_IMAGE_SIZE
    specs = model_geo_specs(MODELS.build(cfg.model), size)
    try:
        dataset = DATASETS.build(loader.dataset)
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f'--split {split}: {exc} (point {split}_dataloader.dataset.'
            'data_root at the prepared data, e.g. with --cfg-options)'
        ) from exc
    fill_geo_specs(dataset, specs)
    if len(dataset) == 0:
        raise ValueError(f'--split {split}: the dataset has no samples')
    return dataset, specs


def spec_at_scale(specs: Sequence[GeoSpec], scale: int) -> GeoSpec:
    """The first GeoConv spec (call order) whose input has total stride
    ``scale``.

    Args:
        specs (Sequence[GeoSpec]): The model's specs.
        scale (int): Input stride of the GeoCNN scale.

    Returns:
        GeoSpec: The spec drawn for that scale.
    """
    for s in specs:
        if s.in_stride == scale:
            return s
    scales = sorted({s.in_stride for s in specs})
    raise ValueError(
        f'--scale {scale}: the model has GeoConv layers at input strides '
        f'{scales}' + ('' if scales else ' (none)')
    )


def tap_spread(weights: np.ndarray) -> np.ndarray:
    """Per output cell, the largest minus the smallest Eq. 4 tap weight.

    Eq. 4 normalises each cell's taps to a mean of 1, so the mean shows
    nothing; the spread is 0 on a flat patch and grows where the surface
    bends or a hole cuts the kernel.

    Args:
        weights (np.ndarray): (taps, H_out, W_out) weights of one spec.

    Returns:
        np.ndarray: float32 (H_out, W_out).
    """
    w = np.asarray(weights, np.float32)
    return w.max(0) - w.min(0)


def weight_overlay(crop: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The crop blended with the tap spread (:func:`tap_spread`) of one spec,
    from cool (0) to warm (the crop's largest spread).

    Args:
        crop (np.ndarray): uint8 BGR (H, W, 3).
        weights (np.ndarray): (taps, H_out, W_out) weights of one spec.

    Returns:
        np.ndarray: uint8 BGR (H, W, 3).
    """
    spread = tap_spread(weights)
    top = float(spread.max())
    level = spread / top if top > 0 else np.zeros_like(spread)
    colours = cv2.applyColorMap(
        np.rint(level * 255).astype(np.uint8), cv2.COLORMAP_JET
    )
    h, w = crop.shape[:2]
    colours = cv2.resize(colours, (w, h), interpolation=cv2.INTER_NEAREST)
    return cv2.addWeighted(crop, 0.45, colours, 0.55, 0)


def _crop_bgr(inputs) -> np.ndarray:
    img = np.asarray(inputs)
    if img.ndim == 3 and img.shape[0] in (1, 3, 4):  # packed (C, H, W)
        img = img.transpose(1, 2, 0)
    if img.ndim == 2:
        img = img[..., None]
    img = img[..., :3]  # an RGB-D input carries depth in channel 3
    if img.shape[2] == 1:
        img = np.repeat(img, 3, 2)
    return np.ascontiguousarray(np.clip(img, 0, 255).astype(np.uint8))


def active_aus(sample, classes: Sequence[str]) -> List[str]:
    """Names of the AUs labelled present (and known) in a data sample."""
    if 'gt_au' not in sample:
        return []
    gt = np.asarray(sample.gt_au) > 0.5
    mask = np.asarray(sample.get('au_mask', np.ones(gt.shape, bool)), bool)
    return [c for c, on in zip(classes, gt & mask) if on]


def render_tile(
    packed: dict,
    spec: Optional[GeoSpec],
    classes: Sequence[str],
    tile_size: int,
) -> np.ndarray:
    """One sample: the crop, its weight overlay, and a label band below.

    Args:
        packed (dict): A pipeline output (``inputs``, ``data_samples``).
        spec (GeoSpec, optional): Whose weights to overlay; None draws the
            crop twice (a model without GeoConv).
        classes (Sequence[str]): AU names, one per label.
        tile_size (int): Side of each square panel in pixels.

    Returns:
        np.ndarray: uint8 BGR
        (tile_size + LABEL_LINES * 14, 2 * tile_size, 3).
    """
    sample = packed['data_samples']
    crop = _crop_bgr(packed['inputs'])
    overlay = crop
    spec_line = 'no GeoConv layer'
    if spec is not None:
        weights = sample.get('geo_weights', {}).get(spec.key)
        if weights is None:
            raise KeyError(
                f'{sample.get("img_path")}: the pipeline gave no geodesic '
                f'weights for {spec.key}'
            )
        overlay = weight_overlay(crop, np.asarray(weights))
        top = float(tap_spread(weights).max())
        spec_line = f'{spec.key} spread {top:.3f}'
    size = (tile_size, tile_size)
    panels = [
        cv2.resize(p, size, interpolation=cv2.INTER_AREA)
        for p in (crop, overlay)
    ]
    band = np.full((LABEL_LINES * _LINE_H, 2 * tile_size, 3), 255, np.uint8)
    name = '/'.join(
        str(sample.get(k))
        for k in ('subject', 'sequence', 'frame')
        if sample.get(k) is not None
    )
    aus = active_aus(sample, classes)
    lines = [name, ' '.join(aus) if aus else '(no active AU)', spec_line]
    for i, text in enumerate(lines[:LABEL_LINES]):
        cv2.putText(
            band,
            text,
            (3, (i + 1) * _LINE_H - 3),
            _FONT,
            _FONT_SCALE,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
    return np.concatenate([np.concatenate(panels, 1), band], 0)


def sample_indices(length: int, num_samples: int) -> List[int]:
    """``num_samples`` indices spread evenly over a dataset of ``length``."""
    if num_samples < 1:
        raise ValueError(f'--num-samples must be >= 1, got {num_samples}')
    n = min(num_samples, length)
    return sorted({int(i) for i in np.linspace(0, length - 1, n).round()})


def browse_grid(
    dataset,
    specs: Sequence[GeoSpec],
    scale: Optional[int] = None,
    num_samples: int = 16,
    cols: int = 4,
    tile_size: int = 160,
    progress: Optional[Callable[[], None]] = None,
) -> np.ndarray:
    """A grid of tiles (:func:`render_tile`) of samples spread over a dataset.

    Args:
        dataset: A built dataset whose pipeline ends in ``PackAUInputs``.
        specs (Sequence[GeoSpec]): The model's specs (filled into the
            pipeline).
        scale (int, optional): Input stride whose weights are overlaid; the
            smallest the model has when None.
        num_samples (int): Tiles (at most the dataset's length).
        cols (int): Tiles per row.
        tile_size (int): Side of each square panel in pixels.
        progress (callable, optional): Called once per tile drawn.

    Returns:
        np.ndarray: uint8 BGR image of ceil(n / cols) rows of ``cols`` tiles.
    """
    if cols < 1:
        raise ValueError(f'--cols must be >= 1, got {cols}')
    if tile_size < 8:
        raise ValueError(f'--tile-size must be >= 8, got {tile_size}')
    spec = None
    if scale is not None:
        spec = spec_at_scale(specs, scale)
    elif specs:
        spec = spec_at_scale(specs, min(s.in_stride for s in specs))
    classes = dataset.metainfo.get('classes', ())
    tiles = []
    for idx in sample_indices(len(dataset), num_samples):
        tiles.append(render_tile(dataset[idx], spec, classes, tile_size))
        if progress is not None:
            progress()
    rows = math.ceil(len(tiles) / cols)
    blank = np.full_like(tiles[0], 255)
    tiles += [blank] * (rows * cols - len(tiles))
    return np.concatenate(
        [
            np.concatenate(tiles[r * cols : (r + 1) * cols], 1)
            for r in range(rows)
        ],
        0,
    )
