"""Training-loop pieces: hooks, reproducible resume, strict checkpoint
loading, and two fixes for running stock MMEngine 0.10 here.

Importing it registers the hooks and allowlists MMEngine's checkpoint contents
for torch's weights-only loading (see :mod:`.checkpoint`).
"""

from .checkpoint import (
    CheckpointMismatchError,
    load_model_weights,
    register_mmengine_safe_globals,
    save_model_weights,
    state_dict_mismatch,
)
from .dist import setup_cpu_distributed
from .hooks import (
    AUF1ChartHook,
    AUStatisticsHook,
    CheckpointMatchHook,
    GeoSpecsHook,
    RNGStateHook,
    TorchThreadsHook,
    WorkerLifetimeHook,
    find_au_statistics,
)
from .rng_state import get_rng_state, set_rng_state
from .sample_rng import KeyedSampler, SampleKey, SampleSeededPipeline

register_mmengine_safe_globals()

__all__ = [
    'CheckpointMismatchError',
    'load_model_weights',
    'save_model_weights',
    'state_dict_mismatch',
    'AUF1ChartHook',
    'AUStatisticsHook',
    'CheckpointMatchHook',
    'GeoSpecsHook',
    'RNGStateHook',
    'TorchThreadsHook',
    'WorkerLifetimeHook',
    'find_au_statistics',
    'get_rng_state',
    'set_rng_state',
    'KeyedSampler',
    'SampleKey',
    'SampleSeededPipeline',
    'register_mmengine_safe_globals',
    'setup_cpu_distributed',
]
