"""The AU model as an ONNX graph of standard operators.

GeoConv's tap offsets are fixed, so it needs no custom operator: each layer
becomes Pad, Slice, Mul, Concat and a 1 x 1 Conv
(:mod:`geoconv_mm.ops.portable`), which onnxruntime, TensorRT and OpenVINO
run as they are. The graph takes the face crop and one geodesic-weight
tensor per GeoConv spec (named by the spec key), with a dynamic batch, and
returns the AU probabilities (and, for a model with a joint occurrence and
intensity head, the AU intensities, 0-5, as a second output named
``intensities``); the colour conversion and normalisation of the model's
data preprocessor are part of the graph. Everything else inference needs
(AU names, threshold, input size, normalisation, spec list and the pipeline
that makes the weights) is stored in the file's metadata
(:class:`geoconv_mm.ops.onnx_runtime.ONNXModelMeta`), so that a deployed
model needs no config.

The export uses torch's TorchScript-based exporter (``dynamo=False``), which
needs no package beyond ``onnx``; ``onnx.checker`` validates the result.
``tools/deployment/pytorch2onnx.py`` is the command line of this module.
"""

from __future__ import annotations

import warnings
from typing import List, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope

import geoconv_mm
from geoconv_mm.engine import load_model_weights
from geoconv_mm.models.data_preprocessors import AUDataPreprocessor
from geoconv_mm.models.heads import AUHead, AUOccurrenceIntensityHead
from geoconv_mm.ops import model_geo_specs
from geoconv_mm.ops.onnx_runtime import (
    CROP_INPUT,
    INTENSITY_OUTPUT,
    OUTPUT,
    ONNXAUModel,
    ONNXModelMeta,
    write_metadata,
)
from geoconv_mm.utils.atomic_io import atomic_path

from .au_front_end import _LOADING_TRANSFORMS
from .au_inferencer import config_au_ids

DEFAULT_OPSET = 17
# The ONNX operator sets a lowered graph may use: the standard ones only.
STANDARD_DOMAINS = ('', 'ai.onnx')


class ExportedAUModel(nn.Module):
    """crop (BGR, 0-255) and geodesic weights -> AU probabilities: the data
    preprocessor's colour conversion and normalisation, the classifier, and
    the sigmoid of ``AUHead.predict``; with an
    :class:`AUOccurrenceIntensityHead`, also its intensity head's 0-5
    intensities."""

    def __init__(self, model: nn.Module, spec_keys: Sequence[str]) -> None:
        super().__init__()
        pre = model.data_preprocessor
        if (
            not isinstance(pre, AUDataPreprocessor)
            or not pre._enable_normalize
        ):
            raise ValueError(
                'export needs an AUDataPreprocessor with mean and std, got '
                f'{type(pre).__name__}'
            )
        if not isinstance(model.head, (AUHead, AUOccurrenceIntensityHead)):
            raise ValueError(
                'export writes AU occurrence probabilities (AUHead or '
                'AUOccurrenceIntensityHead); this model has '
                f'{type(model.head).__name__}'
            )
        self.intensity = isinstance(model.head, AUOccurrenceIntensityHead)
        self.model = model
        self.spec_keys = list(spec_keys)
        channels = pre.mean.shape[0]
        order = list(range(channels))
        if pre.to_rgb:
            order[:3] = [2, 1, 0]
        self.order = order
        self.register_buffer('mean', pre.mean.clone(), False)
        self.register_buffer('std', pre.std.clone(), False)

    def forward(self, crop: torch.Tensor, *geo_weights: torch.Tensor):
        x = (crop[:, self.order] - self.mean) / self.std
        weights = dict(zip(self.spec_keys, geo_weights))
        logits = self.model(x, mode='tensor', geo_weights=weights)
        if self.intensity:
            logits, raw = logits
            intensities = self.model.head.intensity.intensities(raw)
            return torch.sigmoid(logits), intensities
        return torch.sigmoid(logits)

    @property
    def output_names(self) -> List[str]:
        """The graph's outputs, in the order of :meth:`forward`'s."""
        return [OUTPUT] + ([INTENSITY_OUTPUT] if self.intensity else [])


def _export_pipeline(cfg: Config, spec_keys: List[str]) -> List[dict]:
    """The test pipeline without loading steps, specs filled in, as plain
    JSON-able dicts."""
    steps = []
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] in _LOADING_TRANSFORMS:
            continue
        step = step.to_dict() if isinstance(step, ConfigDict) else dict(step)
        if step['type'] == 'GenerateGeodesicWeights':
            step['specs'] = list(spec_keys)
        steps.append(step)
    return steps


def _build_model(cfg: Config, checkpoint: str) -> Tuple[nn.Module, dict]:
    from mmpretrain.registry import MODELS

    model = MODELS.build(cfg.model)
    # Strict: a checkpoint of another model must not export random layers.
    meta = load_model_weights(model, checkpoint).get('meta') or {}
    return model.eval(), meta


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _example_inputs(
    meta: ONNXModelMeta, batch: int, seed: int = 0, device='cpu'
):
    """A random crop and geodesic weights of the graph's input shapes, drawn
    on the CPU (the same numbers on any device) and moved to ``device``."""
    gen = torch.Generator().manual_seed(seed)
    h, w = meta.input_size
    crop = torch.randint(
        0, 256, (batch, len(meta.mean), h, w), generator=gen
    ).float()
    weights = [
        0.25 + 1.5 * torch.rand(meta.geo_weight_shape(k, batch), generator=gen)
        for k in meta.geo_specs
    ]
    return crop.to(device), [w.to(device) for w in weights]


def export_onnx(
    config: str, checkpoint: str, out: str, opset: int = DEFAULT_OPSET
) -> Tuple[ExportedAUModel, ONNXModelMeta]:
    """Write a trained AU model as an ONNX file with its metadata.

    Args:
        config (str): The model's training config.
        checkpoint (str): Its trained weights (``.pth``); the AU ids come
            from ``meta.dataset_meta.au_ids`` (as
            :func:`geoconv_mm.engine.save_model_weights` writes them), else
            from the config.
        out (str): The ``.onnx`` file.
        opset (int): The ONNX operator set.

    Returns:
        tuple: The exported module (PyTorch) and the metadata written.

    Raises:
        FileNotFoundError: The checkpoint does not exist.
        CheckpointMismatchError: Its weights do not fit the config's model
            (:func:`geoconv_mm.engine.load_model_weights`).
        ValueError: Neither the checkpoint nor the config names the AUs,
            or see :func:`export_model_onnx`.
    """
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model, ckpt_meta = _build_model(cfg, checkpoint)
    au_ids = (ckpt_meta.get('dataset_meta') or {}).get(
        'au_ids'
    ) or config_au_ids(cfg)
    if not au_ids:
        raise ValueError(
            f'cannot tell which AUs {config} predicts: the checkpoint has no '
            'dataset_meta["au_ids"] and the config names none'
        )
    return export_model_onnx(model, cfg, au_ids, out, opset)


def export_model_onnx(
    model: nn.Module,
    cfg: Config,
    au_ids: Sequence[int],
    out: str,
    opset: int = DEFAULT_OPSET,
) -> Tuple[ExportedAUModel, ONNXModelMeta]:
    """Write a built AU model as an ONNX file with its metadata.

    The file is written next to ``out`` and renamed into place once
    ``onnx.checker`` has passed it, so ``out`` is never half-written. The
    model may be on any device; the graph is the same.

    Args:
        model (nn.Module): An AU classifier built from ``cfg``, with an
            :class:`AUDataPreprocessor` and an :class:`AUHead` or
            :class:`AUOccurrenceIntensityHead`.
        cfg (Config): Its config: the input size and the test pipeline,
            whose geodesic-weight steps the metadata keeps.
        au_ids (Sequence[int]): The AUs the model predicts, in its order.
        out (str): The ``.onnx`` file.
        opset (int): The ONNX operator set.

    Returns:
        tuple: The exported module (PyTorch) and the metadata written.

    Raises:
        ValueError: ``au_ids`` does not match the head, or the model is not
            an AU classifier with an :class:`AUDataPreprocessor`.
        RuntimeError: The graph would need a custom operator.
    """
    import onnx

    size = int(cfg.get('image_size', 224))
    keys = [s.key for s in model_geo_specs(model, size)]
    # Checks the preprocessor and the head before the metadata reads them.
    wrapper = ExportedAUModel(model, keys).eval()
    if len(au_ids) != model.head.num_aus:
        raise ValueError(
            f'the model predicts {model.head.num_aus} AUs but '
            f'{len(au_ids)} AU ids were given ({list(au_ids)})'
        )
    pre = model.data_preprocessor
    meta = ONNXModelMeta(
        au_ids=[int(a) for a in au_ids],
        threshold=float(model.head.threshold),
        input_size=(size, size),
        mean=pre.mean.flatten().tolist(),
        std=pre.std.flatten().tolist(),
        to_rgb=bool(pre.to_rgb),
        geo_specs=keys,
        pipeline=_export_pipeline(cfg, keys),
        producer=f'geoconv-mm {geoconv_mm.__version__}, torch '
        f'{torch.__version__}',
    )
    crop, weights = _example_inputs(meta, batch=2, device=_device(model))
    names = meta.input_names
    dynamic = {n: {0: 'batch'} for n in names + wrapper.output_names}
    with atomic_path(out, '.tmp.onnx') as tmp:
        with torch.no_grad(), warnings.catch_warnings():
            # The TorchScript-based exporter announces its deprecation, and
            # that it folds no strided Slice (GeoConv's taps stay Slices).
            warnings.simplefilter('ignore', DeprecationWarning)
            warnings.filterwarnings('ignore', message='Constant folding')
            torch.onnx.export(
                wrapper,
                (crop, *weights),
                tmp,
                dynamo=False,
                input_names=names,
                output_names=wrapper.output_names,
                dynamic_axes=dynamic,
                opset_version=opset,
                do_constant_folding=True,
            )
        proto = onnx.load(tmp)
        write_metadata(proto, meta)
        custom = sorted(
            {n.domain for n in proto.graph.node} - set(STANDARD_DOMAINS)
        )
        if custom:
            raise RuntimeError(
                f'the graph uses custom operator domains {custom}'
            )
        onnx.checker.check_model(proto, full_check=True)
        onnx.save(proto, tmp)
    return wrapper, meta


def verify_onnx(wrapper: ExportedAUModel, out: str, batch: int = 3) -> float:
    """Compare onnxruntime with PyTorch on random inputs.

    Args:
        wrapper (ExportedAUModel): The module :func:`export_onnx` exported.
        out (str): The ONNX file it wrote.
        batch (int): Samples per input; another batch size than the traced
            one (2), so that the dynamic batch is checked too.

    Returns:
        float: The largest absolute difference of the probabilities (and
        intensities).
    """
    runtime = ONNXAUModel(out)
    crop, weights = _example_inputs(runtime.meta, batch, seed=1)
    device = _device(wrapper)
    with torch.no_grad():
        want = wrapper(crop.to(device), *(w.to(device) for w in weights))
    want = tuple(
        w.cpu() for w in (want if isinstance(want, tuple) else (want,))
    )
    geo = dict(zip(runtime.meta.geo_specs, weights))
    got = runtime(crop.numpy(), geo)
    diff = float(np.abs(got - want[0].numpy()).max())
    if wrapper.intensity:
        feeds = {k: v.numpy() for k, v in geo.items()}
        feeds[CROP_INPUT] = crop.numpy()
        (levels,) = runtime.session.run([INTENSITY_OUTPUT], feeds)
        diff = max(diff, float(np.abs(levels - want[1].numpy()).max()))
    return diff
