"""Per-sample maps derived from the (transformed) face surface: geodesic
weights, depth.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

from geoconv_mm.ops.geo_spec import GeoSpec


def _build_spec(spec: Union[GeoSpec, dict, str]) -> GeoSpec:
    if isinstance(spec, GeoSpec):
        return spec
    if isinstance(spec, str):
        return GeoSpec.from_key(spec)
    if isinstance(spec, dict):
        return GeoSpec(**spec)
    raise TypeError(
        f'a spec must be a GeoSpec, its kwargs or its key, got {spec!r}'
    )


def _surface(results: dict, name: str):
    surface = results.get('face_surface')
    if surface is None:
        raise KeyError(
            f'{name} needs results["face_surface"]: put LoadFaceSurface '
            'before '
            f"it ({results.get('img_path')})"
        )
    img_hw = tuple(results['img'].shape[:2])
    if tuple(surface.image_size) != img_hw:
        raise ValueError(
            f'{name}: face_surface image_size {tuple(surface.image_size)} '
            f"differs from the image {img_hw} ({results.get('img_path')})"
        )
    return surface


@TRANSFORMS.register_module()
class GenerateGeodesicWeights(BaseTransform):
    """Compute the Eq. 4 geodesic weights of the model's GeoConv layers.

    Runs after every geometric transform, on the transformed surface, so that
    the weights always match the image the network sees.

    With ``specs='auto'`` (the default) the specs come from the model:
    :class:`geoconv_mm.engine.GeoSpecsHook` calls :meth:`set_specs` with
    ``geoconv_mm.ops.model_geo_specs(model)`` before training, validation
    and testing (through :func:`fill_geo_specs`), and
    :class:`geoconv_mm.apis.AUInferencer` does the same. A model without
    GeoConv layers gets an empty list, and the transform then does nothing.

    **Required Keys:**

    - img
    - face_surface

    **Added Keys:**

    - geo_weights (dict[str, np.ndarray]): spec key -> float32
      (Kh*Kw, H_out, W_out); absent when the model has no GeoConv layer.

    Args:
        specs (str | list): ``'auto'``, or GeoSpec objects, GeoSpec kwargs
            dicts or GeoSpec keys (e.g. the output of
            ``geoconv_mm.ops.collect_geo_specs``).
        hierarchy_compensation (bool): Divide by D_eu (False: the "w/o HC"
            ablation).
        backend (str): Geodesic backend of ``compute_geodesic_weights``.
        close_holes (bool): Close mouth/eye holes before geodesics (our
            extension).
        off_surface (str): Rule for taps without a surface point: 'flat'
            (ratio 1, the default), 'zero' (weight 0) or 'cap' (the cell's
            largest on-surface ratio); see
            :mod:`geoconv_mm.geodesic.off_surface`.
    """

    def __init__(
        self,
        specs: Union[str, Sequence[Union[GeoSpec, dict, str]]] = 'auto',
        hierarchy_compensation: bool = True,
        backend: str = 'fast',
        close_holes: bool = False,
        off_surface: str = 'flat',
    ):
        self.auto = isinstance(specs, str) and specs == 'auto'
        self.specs: Optional[List[GeoSpec]] = None
        if not self.auto:
            if not specs:
                raise ValueError(
                    "GenerateGeodesicWeights needs at least one spec, or "
                    "specs='auto'"
                )
            self.set_specs(specs)
        self.hierarchy_compensation = hierarchy_compensation
        self.backend = backend
        self.close_holes = close_holes
        from geoconv_mm.geodesic.off_surface import OFF_SURFACE_RULES

        if off_surface not in OFF_SURFACE_RULES:
            raise ValueError(
                f'off_surface must be one of {OFF_SURFACE_RULES}, got '
                f'{off_surface!r}'
            )
        self.off_surface = off_surface

    def set_specs(self, specs: Sequence[Union[GeoSpec, dict, str]]) -> None:
        """Sets the specs to compute; an empty list makes the transform a
        no-op.

        Args:
            specs (list): GeoSpec objects, their kwargs dicts or their keys.
        """
        built = [_build_spec(s) for s in specs]
        keys = [s.key for s in built]
        if len(set(keys)) != len(keys):
            raise ValueError(f'duplicate specs: {keys}')
        self.specs = built

    def transform(self, results: dict) -> dict:
        if self.specs is None:
            raise RuntimeError(
                "GenerateGeodesicWeights(specs='auto') has no specs yet: add "
                "dict(type='GeoSpecsHook') to custom_hooks, or call "
                'geoconv_mm.datasets.transforms.fill_geo_specs(pipeline, '
                'geoconv_mm.ops.model_geo_specs(model)) before using the '
                'pipeline'
            )
        if not self.specs:
            return results
        # Imported here so that label-only use (--no-geometry) needs no
        # geometry build.
        from geoconv_mm.geodesic import compute_geodesic_weights

        surface = _surface(results, type(self).__name__)
        weights = compute_geodesic_weights(
            surface,
            self.specs,
            hierarchy_compensation=self.hierarchy_compensation,
            backend=self.backend,
            close_holes=self.close_holes,
        )
        if self.off_surface != 'flat':
            from geoconv_mm.geodesic.off_surface import (
                apply_off_surface_rule,
                off_surface_taps,
            )

            off = off_surface_taps(surface, self.specs, self.close_holes)
            weights = {
                s.key: apply_off_surface_rule(
                    weights[s.key],
                    off[s.key],
                    s.centre_index,
                    self.off_surface,
                )
                for s in self.specs
            }
        img_hw = tuple(results['img'].shape[:2])
        for spec in self.specs:
            w = weights.get(spec.key)
            expected = (spec.num_taps, *spec.output_size(img_hw))
            if w is None or w.shape != expected:
                got = None if w is None else w.shape
                raise RuntimeError(
                    f'compute_geodesic_weights gave {got} for {spec.key}, '
                    f'expected {expected}'
                )
        results['geo_weights'] = {
            s.key: np.asarray(weights[s.key], np.float32) for s in self.specs
        }
        return results

    def __repr__(self) -> str:
        specs = None if self.specs is None else [s.key for s in self.specs]
        if self.auto:
            specs = f"'auto' -> {specs}"
        return (
            f'{type(self).__name__}(specs={specs}, '
            f'hierarchy_compensation={self.hierarchy_compensation}, '
            f'backend={self.backend!r}, close_holes={self.close_holes}, '
            f'off_surface={self.off_surface!r})'
        )


@TRANSFORMS.register_module()
class RenderDepth(BaseTransform):
    """Render the depth map of the (transformed) face surface, for the RGBD
    ablations.

    ``mode='key'`` stores it in ``results['depth']`` (float32 (H, W)), which
    ``PackAUInputs`` packs as ``data_sample.depth`` (1, H, W) for a second
    branch (RGBDTB). ``mode='channel'`` appends it to the image as a 4th
    channel (RGBD): the image becomes float32 (H, W, 4) with the colour
    channels unchanged, so the data preprocessor needs 4 means/stds. Values are
    ``geoconv_mm.geodesic.render_depth``'s.

    **Required Keys:**

    - img
    - face_surface

    **Modified Keys:**

    - img (mode 'channel')

    **Added Keys:**

    - depth (mode 'key')

    Args:
        mode (str): 'key' or 'channel'.
    """

    def __init__(self, mode: str = 'key'):
        if mode not in ('key', 'channel'):
            raise ValueError(f"mode must be 'key' or 'channel', got {mode!r}")
        self.mode = mode

    def transform(self, results: dict) -> dict:
        from geoconv_mm.geodesic import render_depth

        surface = _surface(results, type(self).__name__)
        depth = np.asarray(render_depth(surface), np.float32)
        img = results['img']
        if depth.shape != img.shape[:2]:
            raise RuntimeError(
                f'render_depth gave {depth.shape}, image is {img.shape[:2]}'
            )
        if self.mode == 'key':
            results['depth'] = depth
        else:
            if img.ndim == 2:
                img = img[..., None]
            results['img'] = np.concatenate(
                [img.astype(np.float32), depth[..., None]], -1
            )
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(mode={self.mode!r})'


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
            (:func:`geoconv_mm.ops.model_geo_specs`).

    Returns:
        int: Number of transforms filled.
    """
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
