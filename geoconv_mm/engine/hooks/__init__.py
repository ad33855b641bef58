from .au_statistics_hook import AUStatisticsHook, find_au_statistics

__all__ = ['AUStatisticsHook', 'find_au_statistics']
