"""Deprecated location of the frame readers: use
:mod:`geoconv_mm.utils.frame_io`.

Kept for one release so that existing imports keep working.
"""

from geoconv_mm.utils.frame_io import (  # noqa: F401
    IMAGE_EXTENSIONS,
    VIDEO_EXTENSIONS,
    Frame,
    FrameSource,
    Source,
    list_images,
)
