from .au_f1_chart_hook import AUF1ChartHook, plot_au_f1
from .au_statistics_hook import AUStatisticsHook, find_au_statistics
from .geo_specs_hook import GeoSpecsHook
from .torch_threads_hook import TorchThreadsHook

__all__ = [
    'AUF1ChartHook',
    'AUStatisticsHook',
    'GeoSpecsHook',
    'TorchThreadsHook',
    'find_au_statistics',
    'plot_au_f1',
]
