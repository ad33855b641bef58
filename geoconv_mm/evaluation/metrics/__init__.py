from .au_f1_metric import AUF1Metric, au_f1_scores
from .au_prediction_dump import AUPredictionDump, load_predictions

__all__ = ['AUF1Metric', 'au_f1_scores', 'AUPredictionDump', 'load_predictions']
