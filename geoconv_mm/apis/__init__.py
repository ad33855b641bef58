"""High-level APIs: AU inference on images, folders, videos and webcams."""

from geoconv_mm.utils.frame_io import Frame, FrameSource

from .au_csv import AUCsvWriter, au_csv_columns, write_au_csv
from .au_inferencer import AUInferencer, AUPrediction

__all__ = [
    'AUCsvWriter',
    'AUInferencer',
    'AUPrediction',
    'Frame',
    'FrameSource',
    'au_csv_columns',
    'write_au_csv',
]
