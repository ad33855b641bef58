"""geoconv-mm: GeoConv for facial action unit recognition, as an OpenMMLab
plugin.

Importing the package registers its operators, models, datasets, transforms,
metrics and hooks with MMEngine/MMPretrain, so configs can name them
(``custom_imports = dict(imports=['geoconv_mm'])``). The geometry pipeline
(:mod:`geoconv_mm.geodesic`) and the inference API (:mod:`geoconv_mm.apis`)
load on first use.
"""

import warnings

# mmcv-lite ships mmcv.cnn without mmcv.ops by design (see README);
# mmpretrain's import of mmcv's transformer bricks warns about an op that
# geoconv-mm never uses.
warnings.filterwarnings(
    'ignore', message='Fail to import ``MultiScaleDeformableAttention``'
)

from . import datasets, engine, evaluation, models  # noqa: F401,E402  (registration)
from .ops import GeoConv2d, GeodesicContext, GeoSpec, build_info, geo_conv2d  # noqa: F401,E402
from .version import __version__  # noqa: F401,E402
