from .au_f1_metric import (
    AUF1Metric,
    au_f1_by_yaw,
    au_f1_scores,
    format_yaw_table,
    yaw_bin_labels,
)
from .au_intensity_metric import (
    AUIntensityMetric,
    au_intensity_scores,
    icc_3_1,
    pearson_r,
)
from .au_prediction_dump import AUPredictionDump, load_predictions

__all__ = [
    'AUF1Metric',
    'au_f1_scores',
    'au_f1_by_yaw',
    'format_yaw_table',
    'yaw_bin_labels',
    'AUIntensityMetric',
    'au_intensity_scores',
    'icc_3_1',
    'pearson_r',
    'AUPredictionDump',
    'load_predictions',
]
