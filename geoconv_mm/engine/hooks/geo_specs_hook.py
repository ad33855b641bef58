"""Geodesic-weight specs of the data pipelines, derived from the model."""

from __future__ import annotations

from typing import List, Optional, Tuple, Union

from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS

from geoconv_mm.datasets.transforms import fill_geo_specs
from geoconv_mm.ops import GeoSpec, model_geo_specs
from geoconv_mm.ops.geodesic_context import DEFAULT_IMAGE_SIZE


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
