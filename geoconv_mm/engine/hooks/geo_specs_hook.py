"""Geodesic-weight specs of the data pipelines, derived from the model."""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

from geoconv_mm.ops import GeoConv2d, GeoSpec, collect_geo_specs

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


def _pipeline_transforms(obj: Any, seen: set) -> List[Any]:
    """Transforms reachable from a dataset, dataset wrapper or Compose."""
    if obj is None or id(obj) in seen:
        return []
    seen.add(id(obj))
    found = [obj]
    for name in ('pipeline', 'transforms', 'dataset', 'datasets'):
        child = getattr(obj, name, None)
        children = child if isinstance(child, (list, tuple)) else [child]
        for c in children:
            found += _pipeline_transforms(c, seen)
    return found


def fill_geo_specs(pipeline: Any, specs: Sequence[GeoSpec]) -> int:
    """Gives ``specs`` to every ``GenerateGeodesicWeights(specs='auto')``.

    Transforms with explicit specs are checked instead: a spec the model needs
    and they lack raises, as it would at the first batch.

    Args:
        pipeline: A dataset (wrappers are looked through), a Compose or a
            list of transforms.
        specs (Sequence[GeoSpec]): What the model needs
            (:func:`model_geo_specs`).

    Returns:
        int: Number of transforms filled.
    """
    from geoconv_mm.datasets.transforms import GenerateGeodesicWeights

    needed = {s.key for s in specs}
    filled = 0
    for t in _pipeline_transforms(pipeline, set()):
        if not isinstance(t, GenerateGeodesicWeights):
            continue
        if t.auto:
            t.set_specs(specs)
            filled += 1
            continue
        missing = needed - {s.key for s in t.specs}
        if missing:
            raise ValueError(
                'GenerateGeodesicWeights lists specs '
                f'{[s.key for s in t.specs]} but the model needs '
                f'{sorted(missing)} too; use specs=\'auto\''
            )
    return filled


@HOOKS.register_module()
class GeoSpecsHook(Hook):
    """Before train, val and test, fills
    ``GenerateGeodesicWeights(specs='auto')`` in the loop's data pipeline with
    the specs of the model's GeoConv layers.

    Args:
        image_size (int | Sequence[int], optional): Network input size of the
            dummy forward pass that lists the layers; the config's
            ``image_size``, else 224.
    """

    priority = 'VERY_HIGH'

    def __init__(
        self, image_size: Optional[Union[int, Tuple[int, int]]] = None
    ):
        self.image_size = image_size
        self._specs: Optional[List[GeoSpec]] = None

    def _model_specs(self, runner) -> List[GeoSpec]:
        if self._specs is None:
            size = self.image_size
            if size is None:
                cfg = getattr(runner, 'cfg', None)
                size = (
                    cfg.get('image_size', None) if cfg is not None else None
                ) or DEFAULT_IMAGE_SIZE
            self._specs = model_geo_specs(runner.model, size)
            keys = [s.key for s in self._specs]
            runner.logger.info(
                f'GeoSpecsHook: geodesic weights for {keys or "no layer"}'
            )
        return self._specs

    def _fill(self, runner, loop_name: str) -> None:
        loop = getattr(runner, loop_name)
        dataloader = getattr(loop, 'dataloader', None)
        if dataloader is None:
            return
        filled = fill_geo_specs(dataloader.dataset, self._model_specs(runner))
        # An iteration-based loop starts its workers when it is built: restart
        # them so they see the filled pipeline.
        iterator = getattr(loop, 'dataloader_iterator', None)
        if filled and iterator is not None:
            loop.dataloader_iterator = type(iterator)(dataloader)

    def before_train(self, runner) -> None:
        self._fill(runner, 'train_loop')

    def before_val(self, runner) -> None:
        self._fill(runner, 'val_loop')

    def before_test(self, runner) -> None:
        self._fill(runner, 'test_loop')
