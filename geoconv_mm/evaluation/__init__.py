"""AU evaluation; importing registers the metrics in mmpretrain's METRICS."""
from .metrics import AUF1Metric, au_f1_scores

__all__ = ['AUF1Metric', 'au_f1_scores']
