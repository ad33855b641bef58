"""The network stage of AU inference: packed face samples in, AU
probabilities and intensities out, behind one interface so that runtimes
can be swapped.

A backend is registered in :data:`NETWORK_BACKENDS` and built by
:class:`~geoconv_mm.apis.AUInferencer` from its ``backend`` name, with the
keywords ``config``, ``checkpoint``, ``model``, ``device`` and ``strict``
(each backend reads the ones it needs and refuses the others) and its own
options. It gives

- ``au_ids`` (the AU numbers of its outputs, or None when it cannot tell),
  ``num_aus`` and ``threshold`` (None without an occurrence output);
- ``predicts_occurrence`` and ``predicts_intensity``: which outputs it has;
- ``input_size`` (H, W) of the face crop and ``test_pipeline``, the
  transform configs that pack a face (loading steps are dropped);
- ``geo_specs(crop_size)``: the geodesic weights its GeoConv layers read,
  so that the face front-end computes exactly those;
- ``predict(samples)``: the
  :class:`~geoconv_mm.apis.AUNetworkOutput` of samples packed by that
  pipeline.

Everything before it (faces, meshes, weights) and after it (thresholds,
rows) is the same whatever the backend.
"""

from __future__ import annotations

import os
from typing import List, Optional, Tuple, Union

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import Registry

from geoconv_mm.face.registries import build_from_own_registry

from .au_prediction import AUNetworkOutput

NETWORK_BACKENDS = Registry(
    'AU network backend',
    scope='geoconv_mm',
    build_func=build_from_own_registry,
)


@NETWORK_BACKENDS.register_module(name='pytorch')
class TorchAUNetwork:
    """The config's model in PyTorch, eval mode.

    Its outputs are its head's: occurrence probabilities (``pred_score``)
    when the head's ``predicts_occurrence``, intensities
    (``pred_intensity``) when its ``predicts_intensity``.

    Args:
        config (Config): The model's training config (its default scope
            already initialised).
        checkpoint (str, optional): Trained weights; None keeps the
            initialisation (for testing the pipeline only).
        model (None): A deployed model file is for other backends
            (``onnxruntime``); given here, it is an error.
        device (str, optional): ``'cpu'``, ``'cuda'``, ``'cuda:1'``...;
            default CUDA when available.
        strict (bool): Refuse a checkpoint whose weights do not fit the
            model (:func:`geoconv_mm.engine.load_model_weights`);
            ``False`` loads the matching part and warns.
        channels_last (bool, optional): Run convolutions on NHWC tensors
            (oneDNN's preferred layout: no reorder around every
            convolution); default on for the CPU, where
            ``tools/benchmarks/benchmark_inference.py --forward-variants``
            measures it, off elsewhere. Same outputs up to float rounding.
        compile (bool): Wrap the forward pass in :func:`torch.compile`
            (first batches slow while it compiles).
        threads (int, optional): ``torch.set_num_threads`` for this
            process; default leaves torch's choice (one per core).
    """

    def __init__(
        self,
        config: Optional[Config],
        checkpoint: Optional[str] = None,
        model: Optional[str] = None,
        device: Optional[str] = None,
        strict: bool = True,
        channels_last: Optional[bool] = None,
        compile: bool = False,
        threads: Optional[int] = None,
    ) -> None:
        from mmpretrain.registry import MODELS

        from geoconv_mm.engine import load_model_weights

        if model is not None:
            raise ValueError(
                f'the pytorch backend builds its network from a config and '
                f'a checkpoint; {model} is a deployed model: run it with '
                "backend='onnxruntime'"
            )
        if config is None:
            raise ValueError('the pytorch backend needs the model\'s config')
        self.config = config
        if threads is not None:
            if threads < 1:
                raise ValueError(f'threads must be >= 1, got {threads}')
            torch.set_num_threads(threads)
        self.device = torch.device(
            device or ('cuda' if torch.cuda.is_available() else 'cpu')
        )
        self.model = MODELS.build(config.model)
        self.meta: dict = {}
        if checkpoint is not None:
            if not os.path.isfile(checkpoint):
                raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
            self.meta = (
                load_model_weights(self.model, checkpoint, strict=strict).get(
                    'meta'
                )
                or {}
            )
        self.model.to(self.device).eval()
        if channels_last is None:
            channels_last = self.device.type == 'cpu'
        self.channels_last = bool(channels_last)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self._forward = (
            torch.compile(self._forward_outputs, dynamic=True)
            if compile
            else self._forward_outputs
        )

    @property
    def au_ids(self) -> Optional[List[int]]:
        """AU numbers of the checkpoint's ``dataset_meta``, or None."""
        ids = (self.meta.get('dataset_meta') or {}).get('au_ids')
        return [int(a) for a in ids] if ids else None

    @property
    def num_aus(self) -> Optional[int]:
        return getattr(getattr(self.model, 'head', None), 'num_aus', None)

    @property
    def predicts_occurrence(self) -> bool:
        head = getattr(self.model, 'head', None)
        return bool(getattr(head, 'predicts_occurrence', True))

    @property
    def predicts_intensity(self) -> bool:
        head = getattr(self.model, 'head', None)
        return bool(getattr(head, 'predicts_intensity', False))

    @property
    def threshold(self) -> Optional[float]:
        """The head's probability threshold; None without occurrence."""
        if not self.predicts_occurrence:
            return None
        head = getattr(self.model, 'head', None)
        return float(getattr(head, 'threshold', 0.5))

    @property
    def input_size(self) -> Tuple[int, int]:
        """(H, W) of the face crop: the config's ``image_size`` (224)."""
        size = self.config.get('image_size', 224)
        return (size, size) if isinstance(size, int) else tuple(size)

    @property
    def test_pipeline(self) -> list:
        """The config's test pipeline."""
        return list(self.config.test_dataloader.dataset.pipeline)

    def geo_specs(self, crop_size: Union[int, tuple]) -> list:
        """The GeoSpecs of the model's GeoConv layers at ``crop_size``."""
        from geoconv_mm.ops import model_geo_specs

        return model_geo_specs(self.model, crop_size)

    def _forward_outputs(self, inputs, data_samples, geo_weights):
        # The head's own 'predict' mode: its pred_score is the AU
        # probability and its pred_intensity the intensity, whatever the
        # head.
        outputs = self.model(
            inputs, data_samples, mode='predict', geo_weights=geo_weights
        )
        probs = (
            torch.stack([o.pred_score for o in outputs])
            if self.predicts_occurrence
            else None
        )
        intensities = (
            torch.stack([o.pred_intensity for o in outputs])
            if self.predicts_intensity
            else None
        )
        return probs, intensities

    @torch.no_grad()
    def predict(self, samples: List[dict]) -> AUNetworkOutput:
        """(B, A) float32 AU probabilities and intensities of packed
        samples (None for an output the head lacks)."""
        data = self.model.data_preprocessor(pseudo_collate(samples), False)
        inputs = data['inputs']
        if self.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        outputs = self._forward(
            inputs, data['data_samples'], data['geo_weights']
        )
        return AUNetworkOutput(
            *(None if t is None else t.float().cpu().numpy() for t in outputs)
        )
