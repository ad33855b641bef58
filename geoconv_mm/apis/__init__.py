"""High-level APIs: AU inference on images, folders, videos and webcams."""
from .au_csv import au_csv_columns, write_au_csv
from .au_inferencer import AUInferencer, AUPrediction
from .frame_sources import Frame, FrameSource

__all__ = ['AUInferencer', 'AUPrediction', 'Frame', 'FrameSource', 'au_csv_columns',
           'write_au_csv']
