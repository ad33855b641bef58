"""SynthAU-only pipeline steps."""

from __future__ import annotations

from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

from .generator import MESH_SUFFIXES, mesh_path


@TRANSFORMS.register_module()
class LoadSynthAUFaceSurface(BaseTransform):
    """Load one of the meshes a SynthAU build keeps per frame as its surface.

    In place of ``LoadFaceSurface``, so that everything downstream (flips,
    geodesic weights, depth) sees that mesh. The controls of the GeoConv
    study choose the mesh:

    - ``'neutral'``: the same identity and pose without the AU. Separates
      what GeoConv gets from the face shape from what it gets from the AU.
    - ``'recon'``: MediaPipe's mesh of the rendered image, the geometry a
      user has (builds with ``reconstruct=True``).
    - ``'recon_neutral'``: MediaPipe's mesh of the frame rendered without the
      AU (builds with ``reconstruct=True``).
    - ``'gt'``: the mesh that was rendered (what ``LoadFaceSurface`` loads).

    **Required Keys:**

    - img
    - geo_path

    **Added Keys:**

    - face_surface (the chosen mesh)

    Args:
        mesh (str): A key of
            :data:`geoconv_mm.datasets.synthau.generator.MESH_SUFFIXES`.
    """

    def __init__(self, mesh: str) -> None:
        if mesh not in MESH_SUFFIXES:
            raise ValueError(
                f'LoadSynthAUFaceSurface: mesh must be one of '
                f'{sorted(MESH_SUFFIXES)}, got {mesh!r}'
            )
        self.mesh = mesh

    def transform(self, results: dict) -> dict:
        from geoconv_mm.geodesic import FaceSurface

        path = results.get('geo_path')
        if path is None:
            raise KeyError(
                f'LoadSynthAUFaceSurface: no "geo_path" for '
                f'{results.get("img_path")}'
            )
        where = mesh_path(path, self.mesh)
        try:
            surface = FaceSurface.load(where)
        except (OSError, ValueError) as exc:
            raise ValueError(
                f'LoadSynthAUFaceSurface: cannot read the {self.mesh!r} mesh '
                f'{where} (builds keep "neutral" with geometry="gt" and '
                f'"recon", "recon_neutral" with reconstruct=True): {exc}'
            ) from exc
        img_hw = tuple(results['img'].shape[:2])
        if tuple(surface.image_size) != img_hw:
            raise ValueError(
                f'{where}: image_size {tuple(surface.image_size)} differs '
                f'from the image {img_hw}'
            )
        results['face_surface'] = surface
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(mesh={self.mesh!r})'
