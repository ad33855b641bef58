"""Deprecated location of the frame readers: use :mod:`geoconv_mm.utils.frame_io`.

Kept for one release so that existing imports keep working.
"""
from geoconv_mm.utils.frame_io import (IMAGE_EXTENSIONS, VIDEO_EXTENSIONS,  # noqa: F401
                                       Frame, FrameSource, Source, list_images)
