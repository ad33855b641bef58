"""Deprecated location: the reconstructors are
:mod:`geoconv_mm.face.reconstructors`. Kept for one release."""

import warnings

from geoconv_mm.face.holes import keypoints_from_holes  # noqa: F401
from geoconv_mm.face.reconstructors import *  # noqa: F401,F403
from geoconv_mm.face.reconstructors import (  # noqa: F401
    RECONSTRUCTORS,
    build_reconstructor,
    keypoints_from_indices,
)

warnings.warn(
    'geoconv_mm.geodesic.reconstructors moved to '
    'geoconv_mm.face.reconstructors',
    DeprecationWarning,
    stacklevel=2,
)
