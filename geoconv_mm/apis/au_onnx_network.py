"""The onnxruntime network backend: a model exported by
``tools/deployment/pytorch2onnx.py`` in place of the PyTorch network.

The file carries everything the rest of the pipeline needs (AU ids,
threshold, input size, the pipeline that makes the geodesic weights;
:class:`~geoconv_mm.ops.onnx_runtime.ONNXModelMeta`), so that this backend
needs no config and no checkpoint: faces, meshes and weights are computed
in Python as for PyTorch, and the network runs in onnxruntime.
"""

from __future__ import annotations

import os
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

from geoconv_mm.ops.onnx_runtime import (
    CROP_INPUT,
    INSTALL_HINT,
    INTENSITY_OUTPUT,
    OUTPUT,
    ONNXAUModel,
)

from .au_network import NETWORK_BACKENDS
from .au_prediction import AUNetworkOutput

_CUDA = 'CUDAExecutionProvider'


def onnx_providers(device: Optional[str]) -> Tuple[torch.device, list]:
    """The device and onnxruntime execution providers for ``device``
    (``'cpu'``, ``'cuda'``, ``'cuda:1'``; None: CUDA when this onnxruntime
    has its provider, else the CPU)."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    available = ort.get_available_providers()
    if device is None:
        device = 'cuda' if _CUDA in available else 'cpu'
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f'unknown device {device!r}') from None
    if dev.type == 'cpu':
        return dev, ['CPUExecutionProvider']
    if dev.type != 'cuda':
        raise ValueError(
            f'the onnxruntime backend runs on cpu or cuda, not {device!r}'
        )
    if _CUDA not in available:
        raise ValueError(
            f'device {device!r}: this onnxruntime has no CUDA provider '
            f'(it has {", ".join(available)}); install onnxruntime-gpu'
        )
    return dev, [(_CUDA, dict(device_id=dev.index or 0))]


@NETWORK_BACKENDS.register_module(name='onnxruntime')
class ONNXAUNetwork:
    """An exported AU model run by onnxruntime
    (:class:`~geoconv_mm.ops.onnx_runtime.ONNXAUModel`).

    Its outputs are the graph's: ``probabilities`` (occurrence), and
    :data:`INTENSITY_OUTPUT` when the exported model has an intensity
    head.

    Args:
        model (str): The ``.onnx`` file.
        config, checkpoint: Must be None: the file's metadata replaces
            them.
        device (str, optional): ``'cpu'``, ``'cuda'`` or ``'cuda:N'`` (the
            CUDA provider of ``onnxruntime-gpu``); default CUDA when
            available.
        strict (bool): Must be True (there is no checkpoint to load
            partly).
        threads (int, optional): Intra-op threads of the CPU provider;
            default onnxruntime's (one per core).
    """

    #: Every exported model has the probabilities' output (a graph without
    #: it is refused).
    predicts_occurrence = True

    def __init__(
        self,
        model: Optional[str] = None,
        config=None,
        checkpoint: Optional[str] = None,
        device: Optional[str] = None,
        strict: bool = True,
        threads: Optional[int] = None,
    ) -> None:
        if model is None:
            raise ValueError(
                'the onnxruntime backend needs the exported model (model=, '
                '--model); tools/deployment/pytorch2onnx.py writes it'
            )
        if config is not None or checkpoint is not None:
            raise ValueError(
                f'the onnxruntime backend runs {model} alone: its metadata '
                'replaces the config and checkpoint'
            )
        if not strict:
            raise ValueError(
                'strict=False (--non-strict) loads part of a checkpoint; an '
                'ONNX model holds all its weights'
            )
        if threads is not None and threads < 1:
            raise ValueError(f'threads must be >= 1, got {threads}')
        if not os.path.isfile(model):
            raise FileNotFoundError(f'ONNX model not found: {model}')
        self.device, providers = onnx_providers(device)
        try:
            self.model = ONNXAUModel(model, providers, threads)
        except Exception as exc:
            # onnxruntime's own errors (a file that is not an ONNX model)
            # name no file.
            if not type(exc).__module__.startswith('onnxruntime'):
                raise
            raise ValueError(
                f'{model}: onnxruntime cannot load it: {exc}'
            ) from None
        session = self.model.session
        active = session.get_providers()
        if self.device.type == 'cuda' and _CUDA not in active:
            raise ValueError(
                f'{model}: onnxruntime could not start its CUDA provider '
                f'(running on {", ".join(active)})'
            )
        names = [o.name for o in session.get_outputs()]
        self.outputs = [n for n in (OUTPUT, INTENSITY_OUTPUT) if n in names]
        if OUTPUT not in names:
            raise ValueError(
                f'{model}: graph outputs {names} lack {OUTPUT!r}; export it '
                'with tools/deployment/pytorch2onnx.py'
            )

    @property
    def meta(self):
        """The file's :class:`~geoconv_mm.ops.onnx_runtime.ONNXModelMeta`."""
        return self.model.meta

    @property
    def au_ids(self) -> List[int]:
        return self.model.au_ids

    @property
    def num_aus(self) -> int:
        return self.model.num_aus

    @property
    def threshold(self) -> float:
        return self.model.threshold

    @property
    def predicts_intensity(self) -> bool:
        return INTENSITY_OUTPUT in self.outputs

    @property
    def input_size(self) -> Tuple[int, int]:
        return tuple(self.meta.input_size)

    @property
    def test_pipeline(self) -> List[dict]:
        """The pipeline stored in the file (specs filled in)."""
        return [dict(t) for t in self.meta.pipeline]

    def geo_specs(self, crop_size) -> list:
        """The GeoSpecs the graph reads (``crop_size`` must be the
        exported input size)."""
        return self.model.geo_specs(crop_size)

    def predict(self, samples: Sequence[dict]) -> AUNetworkOutput:
        """(B, A) float32 AU probabilities, and intensities when the graph
        has them, of samples packed by the stored pipeline."""
        if not samples:
            empty = np.zeros((0, self.num_aus), np.float32)
            return AUNetworkOutput(
                empty, empty if self.predicts_intensity else None
            )
        # onnxruntime checks every shape against the graph and names the
        # input that does not fit.
        feeds = {
            CROP_INPUT: np.stack(
                [np.asarray(s['inputs'], np.float32) for s in samples]
            )
        }
        for key in self.meta.geo_specs:
            feeds[key] = np.stack(
                [
                    np.asarray(s['data_samples'].geo_weights[key], np.float32)
                    for s in samples
                ]
            )
        values = dict(
            zip(self.outputs, self.model.session.run(self.outputs, feeds))
        )
        return AUNetworkOutput(values[OUTPUT], values.get(INTENSITY_OUTPUT))
