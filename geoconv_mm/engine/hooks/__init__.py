from .au_f1_chart_hook import AUF1ChartHook, plot_au_f1
from .au_statistics_hook import AUStatisticsHook, find_au_statistics
from .checkpoint_match_hook import CheckpointMatchHook
from .geo_specs_hook import GeoSpecsHook
from .rng_state_hook import RNGStateHook
from .torch_threads_hook import TorchThreadsHook
from .worker_lifetime_hook import (
    DieWithParent,
    WorkerLifetimeHook,
    tie_workers_to_this_process,
)

__all__ = [
    'AUF1ChartHook',
    'AUStatisticsHook',
    'CheckpointMatchHook',
    'DieWithParent',
    'GeoSpecsHook',
    'RNGStateHook',
    'TorchThreadsHook',
    'WorkerLifetimeHook',
    'find_au_statistics',
    'plot_au_f1',
    'tie_workers_to_this_process',
]
