"""AU evaluation; importing registers the metrics in mmpretrain's METRICS."""
from .metrics import AUF1Metric, AUPredictionDump, au_f1_scores, load_predictions

__all__ = ['AUF1Metric', 'AUPredictionDump', 'au_f1_scores', 'load_predictions']
