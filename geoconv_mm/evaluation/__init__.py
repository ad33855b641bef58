"""AU evaluation; importing registers the metrics in mmpretrain's METRICS."""

from .metrics import (
    AUF1Metric,
    AUPredictionDump,
    au_f1_by_yaw,
    au_f1_scores,
    format_yaw_table,
    load_predictions,
    yaw_bin_labels,
)

__all__ = [
    'AUF1Metric',
    'AUPredictionDump',
    'au_f1_scores',
    'au_f1_by_yaw',
    'format_yaw_table',
    'load_predictions',
    'yaw_bin_labels',
]
