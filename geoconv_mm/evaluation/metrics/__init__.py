from .au_f1_metric import AUF1Metric, au_f1_scores

__all__ = ['AUF1Metric', 'au_f1_scores']
