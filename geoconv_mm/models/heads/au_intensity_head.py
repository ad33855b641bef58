"""AU intensity head: one estimate of the 0-5 intensity per AU, by
regression."""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from geoconv_mm.datasets.au_info import MAX_INTENSITY, split_intensities


def intensity_targets(
    data_samples: List[DataSample], num_aus: int, device: torch.device
) -> Tuple[torch.Tensor, torch.Tensor]:
    """The batch's intensities and their validity from ``au_intensities``.

    Args:
        data_samples (list[DataSample]): Samples packed by ``PackAUInputs``
            from a dataset with intensities (codes 0-5, 9 = not coded).
        num_aus (int): AUs the head estimates.
        device (torch.device): Where the targets go.

    Returns:
        tuple: float32 ``target`` (N, A), 0 where not coded, and bool
        ``known`` (N, A).

    Raises:
        KeyError: a sample has no ``au_intensities``.
        ValueError: a sample has another number of AUs, or a code that is
            neither 0-5 nor 9.
    """
    codes = []
    for i, sample in enumerate(data_samples):
        if 'au_intensities' not in sample:
            raise KeyError(
                f'data sample {i} has no au_intensities; train intensity '
                'heads on a dataset with with_intensity=True, packed by '
                'PackAUInputs'
            )
        c = torch.as_tensor(sample.au_intensities).flatten()
        if c.numel() != num_aus:
            raise ValueError(
                f'data sample {i} has {c.numel()} AU intensities, the head '
                f'estimates {num_aus}'
            )
        codes.append(c)
    try:
        target, known = split_intensities(torch.stack(codes))
    except ValueError as exc:
        raise ValueError(f'au_intensities of the batch: {exc}') from None
    return target.to(device, torch.float32), known.to(device)


@MODELS.register_module()
class AUIntensityHead(BaseModule):
    """AU intensity by regression: dropout, then one linear output per AU,
    trained with a masked loss against the 0-5 codes.

    The estimate is clipped to 0-:data:`MAX_INTENSITY` at prediction and
    set as ``pred_intensity`` (float32 (A,), OpenFace's ``AUxx_r`` scale)
    on each data sample. Frames whose intensity of an AU is not coded (9)
    are left out of that AU's loss.

    Args:
        num_aus (int): Number of AUs.
        in_channels (int): Width of the fused feature.
        dropout (float): Dropout before the linear layer (0 disables it).
        loss (dict): Config of the loss, called as
            ``loss(estimates, target, known)``.
        init_cfg (dict | list, optional): Initialisation config.
    """

    #: What :meth:`predict` sets: no occurrence (``pred_score``), the
    #: intensity (``pred_intensity``).
    predicts_occurrence = False
    predicts_intensity = True
    max_intensity = MAX_INTENSITY

    def __init__(
        self,
        num_aus: int,
        in_channels: int,
        dropout: float = 0.5,
        loss: dict = dict(type='AUIntensityMSELoss'),
        init_cfg: Optional[dict] = dict(
            type='Normal', layer='Linear', std=0.01
        ),
    ):
        super().__init__(init_cfg=init_cfg)
        if num_aus < 1:
            raise ValueError(f'num_aus must be >= 1, got {num_aus}')
        self.num_aus = num_aus
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(in_channels, num_aus)
        self.loss_module = (
            loss if isinstance(loss, nn.Module) else MODELS.build(loss)
        )

    def pre_logits(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """The fused feature (the last item of ``feats``), (N, in_channels)."""
        return feats[-1]

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Raw estimates (N, num_aus), not clipped."""
        return self.fc(self.dropout(self.pre_logits(feats)))

    def intensities(self, outputs: torch.Tensor) -> torch.Tensor:
        """Intensities (N, num_aus) in 0-5 from :meth:`forward`'s output."""
        return outputs.clamp(0.0, float(self.max_intensity))

    def loss(
        self,
        feats: Sequence[torch.Tensor],
        data_samples: List[DataSample],
        **kwargs,
    ) -> dict:
        """Loss of a batch: ``dict(loss=...)``."""
        outputs = self(feats)
        target, known = intensity_targets(
            data_samples, self.num_aus, outputs.device
        )
        return dict(loss=self.loss_module(outputs, target, known))

    def predict(
        self,
        feats: Sequence[torch.Tensor],
        data_samples: Optional[List[Optional[DataSample]]] = None,
    ) -> List[DataSample]:
        """Set ``pred_intensity`` (float32 (A,), 0-5) on each data sample."""
        return set_pred_intensity(
            self.intensities(self(feats)).detach(), data_samples
        )


def set_pred_intensity(
    intensities: torch.Tensor,
    data_samples: Optional[List[Optional[DataSample]]],
) -> List[DataSample]:
    """Put row ``n`` of ``intensities`` (N, A) on sample ``n`` as
    ``pred_intensity`` (float32), creating samples where there are none."""
    if data_samples is None:
        data_samples = [None] * intensities.shape[0]
    out = []
    for row, sample in zip(intensities, data_samples):
        sample = sample if sample is not None else DataSample()
        sample.set_field(row.float(), 'pred_intensity')
        out.append(sample)
    return out
