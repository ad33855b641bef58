"""High-level APIs: AU inference on images, folders, videos and webcams."""

from geoconv_mm.utils.frame_io import Frame, FrameSource

from .au_csv import (
    AUCsvWriter,
    au_column_groups,
    au_csv_columns,
    write_au_csv,
)
from .au_front_end import AUFrontEnd
from .au_inferencer import AUInferencer
from .au_network import NETWORK_BACKENDS, TorchAUNetwork
from .au_onnx_network import ONNXAUNetwork
from .au_prediction import STATUSES, AUNetworkOutput, AUPrediction

__all__ = [
    'AUCsvWriter',
    'AUFrontEnd',
    'AUInferencer',
    'AUNetworkOutput',
    'AUPrediction',
    'Frame',
    'FrameSource',
    'NETWORK_BACKENDS',
    'ONNXAUNetwork',
    'STATUSES',
    'TorchAUNetwork',
    'au_column_groups',
    'au_csv_columns',
    'write_au_csv',
]
