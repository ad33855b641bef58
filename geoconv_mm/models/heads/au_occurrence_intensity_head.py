"""One head for both AU outputs: occurrence and intensity from one trunk."""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample


@MODELS.register_module()
class AUOccurrenceIntensityHead(BaseModule):
    """AU occurrence and intensity of the same AUs from one fused feature,
    so that one model gives OpenFace's ``AUxx_c`` and ``AUxx_r``.

    Two heads read the same feature: ``occurrence`` (an :class:`AUHead`:
    sigmoid per AU, balanced loss) and ``intensity`` (an
    :class:`AUIntensityHead` or :class:`AUOrdinalIntensityHead`). The loss
    is the sum of theirs, logged as ``loss_occurrence`` and
    ``loss_intensity`` (weight them with their losses' ``loss_weight``).
    :meth:`predict` sets ``pred_score`` and ``pred_label`` (occurrence, as
    :class:`AUHead`) and ``pred_intensity`` (float32 (A,), 0-5) on each
    data sample. Training needs ``gt_au``/``au_mask`` and
    ``au_intensities`` in every sample; unknown labels of either kind are
    left out of their loss.

    Args:
        num_aus (int): Number of AUs, for both outputs.
        in_channels (int): Width of the fused feature.
        occurrence (dict): Config of the occurrence head, without
            ``num_aus`` and ``in_channels``.
        intensity (dict): Config of the intensity head, without ``num_aus``
            and ``in_channels``.
        init_cfg (dict | list, optional): Initialisation config.
    """

    predicts_occurrence = True
    predicts_intensity = True

    def __init__(
        self,
        num_aus: int,
        in_channels: int,
        occurrence: dict = dict(type='AUHead'),
        intensity: dict = dict(type='AUIntensityHead'),
        init_cfg: Optional[dict] = None,
    ):
        super().__init__(init_cfg=init_cfg)
        for name, cfg in (
            ('occurrence', occurrence),
            ('intensity', intensity),
        ):
            given = {k: cfg[k] for k in ('num_aus', 'in_channels') if k in cfg}
            if given:
                raise ValueError(
                    f'{name} head config sets {given}; the joint head sets '
                    f'num_aus={num_aus}, in_channels={in_channels} for both'
                )
        size = dict(num_aus=num_aus, in_channels=in_channels)
        self.occurrence = MODELS.build(dict(occurrence, **size))
        self.intensity = MODELS.build(dict(intensity, **size))
        if not getattr(self.intensity, 'predicts_intensity', False):
            raise TypeError(
                f'intensity head {type(self.intensity).__name__} does not '
                'predict intensities'
            )
        self.num_aus = num_aus

    @property
    def threshold(self) -> float:
        """The occurrence head's probability threshold."""
        return self.occurrence.threshold

    @property
    def max_intensity(self) -> int:
        """The top of the intensity scale (5)."""
        return self.intensity.max_intensity

    def forward(
        self, feats: Sequence[torch.Tensor]
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Occurrence logits (N, A) and the intensity head's raw output."""
        return self.occurrence(feats), self.intensity(feats)

    def loss(
        self,
        feats: Sequence[torch.Tensor],
        data_samples: List[DataSample],
        **kwargs,
    ) -> dict:
        """``dict(loss_occurrence=..., loss_intensity=...)``."""
        return dict(
            loss_occurrence=self.occurrence.loss(feats, data_samples)['loss'],
            loss_intensity=self.intensity.loss(feats, data_samples)['loss'],
        )

    def predict(
        self,
        feats: Sequence[torch.Tensor],
        data_samples: Optional[List[Optional[DataSample]]] = None,
    ) -> List[DataSample]:
        """Set ``pred_score``, ``pred_label`` and ``pred_intensity``."""
        samples = self.occurrence.predict(feats, data_samples)
        return self.intensity.predict(feats, samples)
