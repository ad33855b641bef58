"""Pack an AU sample for the model."""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.config import Config
from mmpretrain.datasets.transforms import PackInputs
from mmpretrain.registry import TRANSFORMS
from mmpretrain.structures import DataSample


def image_to_tensor(img) -> torch.Tensor:
    """An (H, W, C) image as a (C, H, W) tensor, as
    :meth:`mmpretrain.datasets.PackInputs.format_input` gives it.

    A colour image's planes are split by OpenCV: torch's permuted copy of a
    uint8 image costs several times more, once per sample.

    Args:
        img (np.ndarray | torch.Tensor | list): The image(s).

    Returns:
        torch.Tensor: (C, H, W), or as ``format_input`` for other inputs.
    """
    if (
        isinstance(img, np.ndarray)
        and img.ndim == 3
        and img.dtype == np.uint8
        and 1 < img.shape[2] <= 4
    ):
        return torch.from_numpy(np.stack(cv2.split(img)))
    if isinstance(img, np.ndarray) and min(img.strides, default=0) < 0:
        # torch.from_numpy refuses negative strides, which format_input
        # passes on where numpy flags the array contiguous (size-1 axes).
        img = img.copy()
    return PackInputs.format_input(img)


@TRANSFORMS.register_module()
class PackAUInputs(BaseTransform):
    """Pack the image and the AU targets into ``inputs`` and a ``DataSample``.

    **Required Keys:**

    - img
    - gt_au (uint8 (A,), optional: unlabelled frames at inference time have
      none; training then fails in the head, which needs it)
    - au_mask (bool (A,), optional: all True when absent)
    - geo_weights (optional), depth (optional), au_intensities (optional)
    - ``meta_keys`` (optional)

    **Added Keys:**

    - inputs (torch.Tensor): (C, H, W), as
      :class:`mmpretrain.datasets.PackInputs`.
    - data_samples (DataSample): ``gt_au`` float32 (A,), ``au_mask`` bool (A,),
      ``geo_weights`` {key: float32 tensor (K, H_out, W_out)}, ``depth``
      float32 (1, H, W), ``au_intensities`` int64 (A,) and the meta keys.

    Args:
        meta_keys (Sequence[str]): Keys stored as metainfo when present.
    """

    DEFAULT_META_KEYS = (
        'sample_idx',
        'img_path',
        'geo_path',
        'subject',
        'sequence',
        'frame',
        'ori_shape',
        'img_shape',
        'scale_factor',
        'flip',
        'flip_direction',
    )

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        packed = dict(inputs=image_to_tensor(results['img']))
        sample = DataSample()
        if 'gt_au' in results:
            gt = np.asarray(results['gt_au'])
            mask = np.asarray(
                results.get('au_mask', np.ones(gt.shape, bool)), bool
            )
            if mask.shape != gt.shape:
                raise ValueError(
                    f'au_mask {mask.shape} and gt_au {gt.shape} differ '
                    f"({results.get('img_path')})"
                )
            sample.set_field(torch.as_tensor(gt, dtype=torch.float32), 'gt_au')
            sample.set_field(torch.from_numpy(mask.copy()), 'au_mask')
        if 'au_intensities' in results:
            sample.set_field(
                torch.as_tensor(
                    np.asarray(results['au_intensities']), dtype=torch.int64
                ),
                'au_intensities',
            )
        if 'geo_weights' in results:
            sample.set_field(
                {
                    k: torch.from_numpy(np.ascontiguousarray(v, np.float32))
                    for k, v in results['geo_weights'].items()
                },
                'geo_weights',
            )
        if 'depth' in results:
            depth = np.ascontiguousarray(results['depth'], np.float32)
            sample.set_field(torch.from_numpy(depth)[None], 'depth')
        for key in self.meta_keys:
            if key in results:
                sample.set_field(results[key], key, field_type='metainfo')
        packed['data_samples'] = sample
        return packed

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'


def add_meta_keys(cfg: Config, keys: Sequence[str]) -> Config:
    """Keeps annotation fields ``keys`` in the test split's data samples.

    Every ``PackAUInputs`` of ``cfg.test_dataloader``'s pipeline gets
    ``keys`` after its own (or the default) ``meta_keys``, so that the test
    metric and the results ``tools/test.py --out`` dumps carry them (for
    example SynthAU's ``pose`` for F1 per head yaw).

    Args:
        cfg (Config): A runner config.
        keys (Sequence[str]): Fields of the dataset's annotation entries.

    Returns:
        Config: ``cfg``, changed in place.

    Raises:
        ValueError: The test pipeline has no ``PackAUInputs``.
    """
    pipeline = cfg.test_dataloader.dataset.pipeline
    packs = [
        t
        for t in pipeline
        if t.get('type', '').split('.')[-1] == 'PackAUInputs'
    ]
    if not packs:
        raise ValueError(
            'the test pipeline has no PackAUInputs to keep '
            f'{list(keys)} in the data samples'
        )
    for t in packs:
        own = list(t.get('meta_keys', PackAUInputs.DEFAULT_META_KEYS))
        t['meta_keys'] = own + [k for k in keys if k not in own]
    return cfg
