"""Batch preprocessing for AU models: images, AU targets and geodesic
weights.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import torch
from mmengine.model import BaseDataPreprocessor
from mmpretrain.registry import MODELS


@MODELS.register_module()
class AUDataPreprocessor(BaseDataPreprocessor):
    """Stack, colour-convert and normalise images; stack each batch's geodesic
    weights.

    Returns ``dict(inputs, data_samples, geo_weights)`` (design.md, "Batch
    flow"), which the model receives as keyword arguments. ``geo_weights`` is
    ``{spec key: float32 (N, K, H_out, W_out)}`` on the model's device, or None
    when the samples carry none.

    Images are never padded: geodesic weights are tied to the exact image grid,
    so all images of a batch must already have one size (``ResizeFace`` /
    ``CropFace``).

    Args:
        mean (Sequence[float], optional): Per-channel mean, in the order after
            colour conversion; 3 values for RGB, 4 for RGB-D
            (``RenderDepth(mode='channel')``).
        std (Sequence[float], optional): Per-channel std, as ``mean``.
        to_rgb (bool): Reverse the first three channels (BGR images from
            OpenCV); an extra depth channel stays in place.
        non_blocking (bool): Non-blocking host-to-device copies.
        batch_augments (dict, optional): Must be None; :class:`ImageClassifier`
            passes its ``train_cfg`` here. Batch mixing (Mixup, CutMix) would
            mix images but not their geodesic weights and unknown-label masks,
            so it is refused.
    """

    def __init__(
        self,
        mean: Optional[Sequence[float]] = None,
        std: Optional[Sequence[float]] = None,
        to_rgb: bool = True,
        non_blocking: bool = False,
        batch_augments: Optional[dict] = None,
    ):
        super().__init__(non_blocking)
        if batch_augments is not None:
            raise ValueError(
                'AUDataPreprocessor does not support batch augments '
                f'({batch_augments}): they would not mix geodesic weights '
                'and AU masks consistently'
            )
        if (mean is None) != (std is None):
            raise ValueError('give both mean and std, or neither')
        self.to_rgb = to_rgb
        self._enable_normalize = mean is not None
        if mean is not None:
            if len(mean) != len(std):
                raise ValueError(
                    f'mean has {len(mean)} values but std {len(std)}'
                )
            self.register_buffer(
                'mean',
                torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1),
                False,
            )
            self.register_buffer(
                'std',
                torch.tensor(std, dtype=torch.float32).view(-1, 1, 1),
                False,
            )

    def _stack_inputs(self, inputs) -> torch.Tensor:
        if isinstance(inputs, torch.Tensor):
            batch = inputs
        else:
            sizes = {tuple(x.shape) for x in inputs}
            if len(sizes) != 1:
                raise ValueError(
                    f'images of a batch differ in size: {sorted(sizes)}; '
                    'resize them in the pipeline (geodesic weights forbid '
                    'padding)'
                )
            batch = torch.stack(list(inputs))
        if batch.dim() != 4:
            raise ValueError(
                f'expected (N, C, H, W) images, got {tuple(batch.shape)}'
            )
        if self.to_rgb:
            if batch.shape[1] < 3:
                raise ValueError(
                    f'to_rgb needs >= 3 channels, got {batch.shape[1]}'
                )
            order = [2, 1, 0] + list(range(3, batch.shape[1]))
            batch = batch[:, order]
        batch = batch.float()
        if self._enable_normalize:
            if batch.shape[1] != self.mean.shape[0]:
                raise ValueError(
                    f'images have {batch.shape[1]} channels but mean/std '
                    f'{self.mean.shape[0]} values'
                )
            batch = (batch - self.mean) / self.std
        return batch

    @staticmethod
    def _stack_geo_weights(
        data_samples: Optional[List],
    ) -> Optional[Dict[str, torch.Tensor]]:
        if not data_samples:
            return None
        has = ['geo_weights' in s for s in data_samples]
        if not any(has):
            return None
        if not all(has):
            raise ValueError(
                'only some samples of the batch carry geo_weights: '
                'every sample must go through GenerateGeodesicWeights'
            )
        keys = set(data_samples[0].geo_weights)
        out = {}
        for i, sample in enumerate(data_samples):
            if set(sample.geo_weights) != keys:
                raise ValueError(
                    f'sample {i} has geo_weights {sorted(sample.geo_weights)},'
                    f' sample 0 has {sorted(keys)}'
                )
        for key in sorted(keys):
            maps = [torch.as_tensor(s.geo_weights[key]) for s in data_samples]
            shapes = {tuple(m.shape) for m in maps}
            if len(shapes) != 1:
                raise ValueError(
                    f'geo_weights[{key!r}] differ in shape: {sorted(shapes)}'
                )
            out[key] = torch.stack(maps).float()
        return out

    # Eager even inside a compiled train_step (MMEngine's compile=True):
    # cast_data deep-copies every sample's metainfo, and dynamo would guard
    # on the identity of each frame number and flip flag and recompile for
    # every batch. The network after it compiles once.
    @torch.compiler.disable
    def forward(self, data: dict, training: bool = False) -> dict:
        """Preprocess one batch from the dataloader.

        Args:
            data (dict): ``inputs`` (list of (C, H, W) tensors or an
                (N, C, H, W) tensor) and ``data_samples``.
            training (bool): Unused; augmentation happens in the data pipeline.

        Returns:
            dict: ``inputs`` float (N, C, H, W), ``data_samples`` and
                ``geo_weights``.
        """
        data = self.cast_data(data)
        data_samples = data.get('data_samples')
        geo = self._stack_geo_weights(data_samples)
        if geo is not None:
            geo = {
                k: v.to(self.device, non_blocking=self._non_blocking)
                for k, v in geo.items()
            }
        return dict(
            inputs=self._stack_inputs(data['inputs']),
            data_samples=data_samples,
            geo_weights=geo,
        )
