"""AU classifier that binds each batch's geodesic weights to its GeoConv
layers.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Dict, List, Optional

import torch
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample


@MODELS.register_module()
class GeoAUClassifier(ImageClassifier):
    """Backbone, neck and multi-label AU head, with geodesic weights per batch.

    The :class:`AUDataPreprocessor` returns
    ``dict(inputs, data_samples, geo_weights)``; :meth:`forward` binds
    ``geo_weights`` to the model's GeoConv layers for the call
    (``GeodesicContext(geo_weights, image_size).bind(self)``), so any GeoConv
    anywhere in the network (the GeoConv branch, Geo-19's backbone, a ResNet
    built with ``conv_cfg=dict(type='GeoConv')``) sees this batch's weights and
    nothing else.

    What ``mode='predict'`` sets on each data sample depends on the head
    (its ``predicts_occurrence`` and ``predicts_intensity`` say which):

    - ``pred_score``: float32 (A,) occurrence probabilities, and
      ``pred_label``: the indices of the AUs at or above the head's
      ``threshold`` (:class:`AUHead`, :class:`AUOccurrenceIntensityHead`);
    - ``pred_intensity``: float32 (A,) intensities on the 0-5 scale of
      FACS and of OpenFace's ``AUxx_r`` (:class:`AUIntensityHead`,
      :class:`AUOrdinalIntensityHead`, :class:`AUOccurrenceIntensityHead`).

    A is the head's ``num_aus``, in the order of the dataset's ``au_ids``.

    Args:
        data_preprocessor (dict, optional): Defaults to ``AUDataPreprocessor``.
        **kwargs: As :class:`mmpretrain.models.ImageClassifier` (backbone,
            neck, head, init_cfg, ...).
    """

    def __init__(
        self, *args, data_preprocessor: Optional[dict] = None, **kwargs
    ):
        data_preprocessor = dict(data_preprocessor or {})
        data_preprocessor.setdefault('type', 'AUDataPreprocessor')
        super().__init__(*args, data_preprocessor=data_preprocessor, **kwargs)

    def forward(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[List[DataSample]] = None,
        mode: str = 'tensor',
        geo_weights: Optional[Dict[str, torch.Tensor]] = None,
    ):
        """Run the network in ``mode`` ('tensor', 'loss' or 'predict').

        Args:
            inputs (Tensor): (N, C, H, W) images (the aligned face crops).
            data_samples (list[DataSample], optional): Targets / outputs.
            mode (str): As :meth:`mmpretrain.models.ImageClassifier.forward`.
            geo_weights (dict[str, Tensor], optional):
                ``{spec key: (N, K, H_out, W_out)}``. Without it, GeoConv
                layers raise (or run as plain convolutions if built with
                ``fallback='conv'``).
        """
        if geo_weights is None:
            context = nullcontext()
        else:
            from geoconv_mm.ops import GeodesicContext

            context = GeodesicContext(
                geo_weights, tuple(inputs.shape[-2:])
            ).bind(self)
        with context:
            return super().forward(inputs, data_samples, mode)
