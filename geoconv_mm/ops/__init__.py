"""The GeoConv operator (native kernels and a portable PyTorch backend) and
the layers built on it."""

from ._ext import ExtensionNotBuiltError
from .backends import build_info, use_backend
from .geo_conv import GeoConv2d, geo_conv2d, geo_weight_shape
from .geo_spec import GeoSpec
from .geodesic_context import (
    GeodesicContext,
    collect_geo_specs,
    model_geo_specs,
)

__all__ = [
    'ExtensionNotBuiltError',
    'build_info',
    'use_backend',
    'GeoConv2d',
    'geo_conv2d',
    'geo_weight_shape',
    'GeoSpec',
    'GeodesicContext',
    'collect_geo_specs',
    'model_geo_specs',
]
