"""SynthAU-only pipeline steps."""

from __future__ import annotations

from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

from .generator import neutral_geo_path


@TRANSFORMS.register_module()
class LoadNeutralFaceSurface(BaseTransform):
    """Load the AU-free mesh of the frame (same identity and pose) as its
    surface.

    The neutral-mesh control: in place of ``LoadFaceSurface``, so that
    everything downstream (flips, geodesic weights, depth) sees the face
    *shape* without the AU. Separates what GeoConv gets from the face shape
    from what it gets from the AU. SynthAU builds keep that mesh at
    :func:`neutral_geo_path` of ``geo_path``.

    **Required Keys:**

    - img
    - geo_path

    **Added Keys:**

    - face_surface (the neutral mesh)
    """

    def transform(self, results: dict) -> dict:
        from geoconv_mm.geodesic import FaceSurface

        path = results.get('geo_path')
        if path is None:
            raise KeyError(
                f'LoadNeutralFaceSurface: no "geo_path" for '
                f'{results.get("img_path")}'
            )
        neutral = neutral_geo_path(path)
        try:
            surface = FaceSurface.load(neutral)
        except (OSError, ValueError) as exc:
            raise ValueError(
                f'LoadNeutralFaceSurface: cannot read {neutral} (SynthAU '
                f'builds of generator version >= 2 with geometry="gt" '
                f'have it): {exc}'
            ) from exc
        img_hw = tuple(results['img'].shape[:2])
        if tuple(surface.image_size) != img_hw:
            raise ValueError(
                f'{neutral}: image_size {tuple(surface.image_size)} differs '
                f'from the image {img_hw}'
            )
        results['face_surface'] = surface
        return results
