"""Load a frame's FaceSurface record."""

from __future__ import annotations

import os.path as osp

from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadFaceSurface(BaseTransform):
    """Load the frame's 3D face surface (the ``.npz`` record of the prepare
    tools).

    Put it after ``LoadImageFromFile``: the surface lives in the crop's pixel
    frame, so its ``image_size`` must equal the loaded image's size.

    **Required Keys:**

    - geo_path
    - img (optional, used to check the surface's image size)

    **Added Keys:**

    - face_surface (:class:`geoconv_mm.geodesic.FaceSurface`)

    Raises:
        FileNotFoundError: the frame has no record (names the file and the
            frame).
        ValueError: the record's image size differs from the image's.
    """

    def transform(self, results: dict) -> dict:
        # Imported here so that label-only use (--no-geometry) needs no
        # geometry build.
        from geoconv_mm.geodesic import FaceSurface

        path = results.get('geo_path')
        where = (
            f"subject {results.get('subject')} frame {results.get('frame')}"
        )
        if path is None:
            raise KeyError(
                f'{where}: no "geo_path" (an annotation written with '
                '--no-geometry has no surface records)'
            )
        if not osp.isfile(path):
            raise FileNotFoundError(f'{where}: missing geodesic record {path}')
        surface = FaceSurface.load(path)
        if 'img' in results:
            img_hw = tuple(results['img'].shape[:2])
            if tuple(surface.image_size) != img_hw:
                raise ValueError(
                    f'{path}: surface image_size {tuple(surface.image_size)}'
                    f' differs from the image {img_hw} ({where})'
                )
        results['face_surface'] = surface
        return results
