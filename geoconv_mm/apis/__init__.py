"""High-level APIs: AU inference on images, folders, videos and webcams, and
the export of a trained model to ONNX."""

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
from .onnx_export import (
    ExportedAUModel,
    export_model_onnx,
    export_onnx,
    verify_onnx,
)

__all__ = [
    'AUCsvWriter',
    'AUFrontEnd',
    'AUInferencer',
    'AUNetworkOutput',
    'AUPrediction',
    'ExportedAUModel',
    'Frame',
    'FrameSource',
    'NETWORK_BACKENDS',
    'ONNXAUNetwork',
    'STATUSES',
    'TorchAUNetwork',
    'au_column_groups',
    'au_csv_columns',
    'export_model_onnx',
    'export_onnx',
    'verify_onnx',
    'write_au_csv',
]
