from .au_f1_chart_hook import AUF1ChartHook, plot_au_f1
from .au_statistics_hook import AUStatisticsHook, find_au_statistics
from .geo_specs_hook import GeoSpecsHook, fill_geo_specs, model_geo_specs
from .torch_threads_hook import TorchThreadsHook

__all__ = [
    'AUF1ChartHook',
    'AUStatisticsHook',
    'GeoSpecsHook',
    'TorchThreadsHook',
    'fill_geo_specs',
    'find_au_statistics',
    'model_geo_specs',
    'plot_au_f1',
]
