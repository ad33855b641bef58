"""Training-loop pieces: hooks, and two fixes for running stock MMEngine 0.10
here.

Importing it registers the hooks and allowlists MMEngine's checkpoint contents
for torch's weights-only loading (see :mod:`.checkpoint`).
"""

from .checkpoint import (
    CheckpointMismatchError,
    load_model_weights,
    register_mmengine_safe_globals,
)
from .dist import setup_cpu_distributed
from .hooks import (
    AUF1ChartHook,
    AUStatisticsHook,
    GeoSpecsHook,
    TorchThreadsHook,
    find_au_statistics,
)

register_mmengine_safe_globals()

__all__ = [
    'CheckpointMismatchError',
    'load_model_weights',
    'AUF1ChartHook',
    'AUStatisticsHook',
    'GeoSpecsHook',
    'TorchThreadsHook',
    'find_au_statistics',
    'register_mmengine_safe_globals',
    'setup_cpu_distributed',
]
