"""How one batch's geodesic weights reach the GeoConv layers of one model.

The weights are bound to the layers of a given model for the duration of a
``with`` block, and unbound afterwards: nothing is global, so several models
(or DDP replicas in other processes) never see each other's weights, and a
layer used outside a bound call fails loudly instead of reusing a stale batch.
"""

from __future__ import annotations

import contextlib
from typing import (
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import torch
import torch.nn as nn
from mmengine.model import is_model_wrapper

from .geo_conv import GeoConv2d
from .geo_spec import GeoSpec


class GeodesicContext:
    """One batch's geodesic weights, keyed by :attr:`GeoSpec.key`.

    Args:
        geo_weights (Mapping[str, Tensor]):
            ``{spec.key: (N, Kh*Kw, H_out, W_out)}``.
        image_size (tuple[int, int]): (H, W) of the network input the weights
            were made for; a layer's input stride is
            ``image_size / its input size``.
    """

    def __init__(
        self,
        geo_weights: Optional[Mapping[str, torch.Tensor]],
        image_size: Tuple[int, int],
    ) -> None:
        self.geo_weights: Dict[str, torch.Tensor] = dict(geo_weights or {})
        self.image_size = (int(image_size[0]), int(image_size[1]))

    def spec_for(self, layer: GeoConv2d, x: torch.Tensor) -> GeoSpec:
        """The :class:`GeoSpec` of ``layer`` applied to feature map ``x``."""
        (H, W), (h, w) = self.image_size, x.shape[-2:]
        if H % h or W % w or H // h != W // w:
            raise ValueError(
                f'GeoConv layer {layer._geodesic_name!r}: its input feature '
                f'map {h}x{w} is not the image {H}x{W} divided by one integer '
                'stride; geodesic weights need layer inputs whose total '
                'stride divides the image size'
            )
        return GeoSpec(
            H // h,
            layer.kernel_size,
            layer.stride,
            layer.padding,
            layer.dilation,
        )

    def geo_weight_for(
        self, layer: GeoConv2d, x: torch.Tensor
    ) -> torch.Tensor:
        """Returns the weights ``layer`` needs for input ``x``, checked and
        cast.
        """
        spec = self.spec_for(layer, x)
        weight = self.geo_weights.get(spec.key)
        if weight is None:
            raise KeyError(
                f'GeoConv layer {layer._geodesic_name!r} needs geodesic '
                f'weights for {spec.key}, which this batch does not carry (it '
                f'has {sorted(self.geo_weights) or "none"}). Add the spec to '
                'the GenerateGeodesicWeights transform of the data pipeline; '
                'geoconv_mm.ops.collect_geo_specs(model, image_size) lists '
                'all a model needs.'
            )
        expected = (x.shape[0], spec.num_taps) + spec.output_size(
            self.image_size
        )
        if tuple(weight.shape) != expected:
            raise ValueError(
                f'geodesic weights {spec.key} have shape '
                f'{tuple(weight.shape)}, layer {layer._geodesic_name!r} '
                f'expects {expected}'
            )
        if weight.device != x.device:
            raise ValueError(
                f'geodesic weights {spec.key} are on {weight.device} but '
                f'layer {layer._geodesic_name!r} runs on {x.device}'
            )
        # The pipeline stores float32; follow the network's precision (float64,
        # half...).
        return weight.to(x.dtype)

    @contextlib.contextmanager
    def bind(self, model: nn.Module) -> Iterator['GeodesicContext']:
        """Makes every GeoConv layer of ``model`` read this context inside the
        block.
        """
        layers = [
            (name, m)
            for name, m in model.named_modules()
            if isinstance(m, GeoConv2d)
        ]
        previous = [(m._geodesic_context, m._geodesic_name) for _, m in layers]
        for name, m in layers:
            m._geodesic_context, m._geodesic_name = self, name
        try:
            yield self
        finally:
            for (_, m), (ctx, name) in zip(layers, previous):
                m._geodesic_context, m._geodesic_name = ctx, name


class _SpecRecorder(GeodesicContext):
    """Answers every layer with all-one weights and records which specs were
    asked for.
    """

    def __init__(self, image_size: Tuple[int, int]) -> None:
        super().__init__(None, image_size)
        self.specs: List[GeoSpec] = []

    def geo_weight_for(
        self, layer: GeoConv2d, x: torch.Tensor
    ) -> torch.Tensor:
        spec = self.spec_for(layer, x)
        if spec not in self.specs:
            self.specs.append(spec)
        shape = (x.shape[0], spec.num_taps) + spec.output_size(self.image_size)
        return x.new_ones(shape)


@torch.no_grad()
def collect_geo_specs(
    model: nn.Module,
    image_size: Sequence[int],
    in_channels: int = 3,
    forward=None,
) -> List[GeoSpec]:
    """Lists the :class:`GeoSpec` of every GeoConv layer of ``model``, in call
    order.

    Args:
        model (nn.Module): Any model containing GeoConv layers.
        image_size (Sequence[int]): (H, W) of the network input.
        in_channels (int): Channels of the dummy input.
        forward (callable, optional): ``forward(model, x)``; defaults to
            ``model.extract_feat(x)`` when the model has it, else ``model(x)``.

    Returns:
        list[GeoSpec]: Distinct specs, the weights a data pipeline must
            provide.
    """
    recorder = _SpecRecorder((int(image_size[0]), int(image_size[1])))
    param = next(model.parameters(), None)
    x = torch.zeros(
        1,
        in_channels,
        *recorder.image_size,
        device=param.device if param is not None else 'cpu',
        dtype=param.dtype if param is not None else torch.float32,
    )
    if forward is None:
        forward = (
            (lambda m, t: m.extract_feat(t))
            if hasattr(model, 'extract_feat')
            else (lambda m, t: m(t))
        )
    was_training = model.training
    # batch statistics of a single dummy sample would fail or mislead
    model.eval()
    try:
        with recorder.bind(model):
            forward(model, x)
    finally:
        model.train(was_training)
    return recorder.specs


# Any size the deepest backbone can run: spec keys depend on strides only.
DEFAULT_IMAGE_SIZE = 224


def _input_channels(model: nn.Module) -> int:
    """Channels of the network input: those the data preprocessor
    normalises.
    """
    mean = getattr(getattr(model, 'data_preprocessor', None), 'mean', None)
    return int(mean.numel()) if mean is not None else 3


def model_geo_specs(
    model: nn.Module,
    image_size: Union[int, Sequence[int]] = DEFAULT_IMAGE_SIZE,
) -> List[GeoSpec]:
    """The specs of every GeoConv layer of ``model``; [] without GeoConv.

    Args:
        model (nn.Module): A model, possibly in a DDP-style wrapper.
        image_size (int | Sequence[int]): (H, W) of the network input.

    Returns:
        list[GeoSpec]: Distinct specs, in call order.
    """
    if is_model_wrapper(model):
        model = model.module
    if not any(isinstance(m, GeoConv2d) for m in model.modules()):
        return []
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    return collect_geo_specs(
        model, tuple(image_size), in_channels=_input_channels(model)
    )
