"""Training-loop pieces: hooks, and two fixes for running stock MMEngine 0.10
here.

Importing it registers the hooks and allowlists MMEngine's checkpoint contents
for torch's weights-only loading (see :mod:`.checkpoint`).
"""

from .checkpoint import register_mmengine_safe_globals
from .dist import setup_cpu_distributed
from .hooks import (
    AUF1ChartHook,
    AUStatisticsHook,
    GeoSpecsHook,
    TorchThreadsHook,
    fill_geo_specs,
    find_au_statistics,
    model_geo_specs,
)

register_mmengine_safe_globals()

__all__ = [
    'AUF1ChartHook',
    'AUStatisticsHook',
    'GeoSpecsHook',
    'TorchThreadsHook',
    'fill_geo_specs',
    'find_au_statistics',
    'model_geo_specs',
    'register_mmengine_safe_globals',
    'setup_cpu_distributed',
]
