"""geoconv-mm: GeoConv for facial action unit recognition, as an OpenMMLab plugin.

Importing the package registers its operators, models, datasets, transforms, metrics
and hooks with MMEngine/MMPretrain, so configs can name them
(``custom_imports = dict(imports=['geoconv_mm'])``).
"""
from .ops import GeoConv2d, GeodesicContext, GeoSpec, build_info, geo_conv2d  # noqa: F401
from .version import __version__  # noqa: F401
