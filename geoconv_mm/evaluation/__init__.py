"""AU evaluation; importing registers the metrics in mmpretrain's METRICS."""

from .metrics import (
    AUF1Metric,
    AUIntensityMetric,
    AUPredictionDump,
    au_f1_by_yaw,
    au_f1_scores,
    au_intensity_scores,
    format_yaw_table,
    icc_3_1,
    load_predictions,
    pearson_r,
    yaw_bin_labels,
)

__all__ = [
    'AUF1Metric',
    'AUIntensityMetric',
    'AUPredictionDump',
    'au_f1_scores',
    'au_f1_by_yaw',
    'au_intensity_scores',
    'icc_3_1',
    'pearson_r',
    'format_yaw_table',
    'load_predictions',
    'yaw_bin_labels',
]
