"""Deprecated location of the job runner: use
:mod:`geoconv_mm.datasets.converters.jobs`. Kept for one release."""

import warnings

from geoconv_mm.datasets.converters.jobs import (  # noqa: F401
    FrameTask,
    image_tasks,
    parse_shard,
    process_frames,
    read_summaries,
    summary_name,
    video_tasks,
)
from geoconv_mm.utils.frame_io import is_video  # noqa: F401

warnings.warn(
    'geoconv_mm.geodesic.jobs moved to geoconv_mm.datasets.converters.jobs',
    DeprecationWarning,
    stacklevel=2,
)
