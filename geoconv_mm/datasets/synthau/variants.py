"""Named SynthAU variants: generator options that isolate what GeoConv could
use.

Each variant is a set of :class:`~.generator.SynthAUSpec` overrides on top of a
config's generator options; every option is part of the build's cache key, so
each variant has its own build. All variants of a seed share identities, poses,
lights and labels.

- ``default``: the config's SynthAU as it is.
- ``geometry_only``: AUs move the surface in depth only, the image is rendered
  from the AU-free mesh under ambient light, without furrows: a 2D network sees
  no AU at all, the mesh record (GeoConv's weights, RGB-D's depth) has them.
  AU25 has no depth motion, so it is not observable here.
- ``depth_x2`` / ``depth_x4``: the default with the AUs' depth motion doubled /
  quadrupled (dose response).
- ``geometry_only_x4``: geometry-only with the depth motion quadrupled.
- ``varied_texture``: the default with a different skin texture per identity.
- ``recon``: the default with MediaPipe's meshes of every image kept beside
  the ground truth (``reconstruct=True``): the same images, less the frames
  where MediaPipe finds no face, so that arms reading the ground truth and
  arms reading the reconstruction see the same frames.
"""

from __future__ import annotations

from typing import Dict

_GEOMETRY_ONLY = dict(
    inplane_scale=0.0, appearance=0.0, lighting='ambient', render_neutral=True
)

SYNTHAU_VARIANTS: Dict[str, dict] = {
    'default': {},
    'geometry_only': _GEOMETRY_ONLY,
    'depth_x2': dict(depth_scale=2.0),
    'depth_x4': dict(depth_scale=4.0),
    'geometry_only_x4': dict(_GEOMETRY_ONLY, depth_scale=4.0),
    'varied_texture': dict(texture='varied'),
    'recon': dict(reconstruct=True),
}


def variant_generator(generator: dict, variant: str) -> dict:
    """A config's generator options with a variant's overrides.

    Raises:
        KeyError: for an unknown variant (naming the known ones).
    """
    if variant not in SYNTHAU_VARIANTS:
        raise KeyError(
            f'unknown SynthAU variant {variant!r}; known: '
            f'{sorted(SYNTHAU_VARIANTS)}'
        )
    return {**dict(generator), **SYNTHAU_VARIANTS[variant]}
