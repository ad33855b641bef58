"""Deprecated location: the face pipeline is :mod:`geoconv_mm.face.pipeline`.

Kept for one release so that existing imports keep working.
"""

import warnings

from geoconv_mm.face.alignment import DEFAULT_TEMPLATE, similarity_transform  # noqa: F401
from geoconv_mm.face.pipeline import (  # noqa: F401
    FacePipeline,
    FaceResult,
    NoFaceError,
    rasterize_mask,
)
from geoconv_mm.utils.frame_io import read_image as load_image  # noqa: F401

warnings.warn(
    'geoconv_mm.geodesic.pipeline moved to geoconv_mm.face.pipeline',
    DeprecationWarning,
    stacklevel=2,
)
