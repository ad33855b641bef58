"""Compiled operators and the layers built on them."""

from ._ext import ExtensionNotBuiltError, build_info
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
    'GeoConv2d',
    'geo_conv2d',
    'geo_weight_shape',
    'GeoSpec',
    'GeodesicContext',
    'collect_geo_specs',
    'model_geo_specs',
]
