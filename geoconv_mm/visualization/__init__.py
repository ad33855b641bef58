"""Pictures: annotated inference frames, AU probability curves, per-AU F1
charts, and a grid of pipeline samples with geodesic-weight overlays."""

from .au_frames import AnnotatedFrameWriter, draw_au_frame
from .au_timeline import plot_au_timeline
from .dataset_browser import browse_grid, build_browse_dataset

__all__ = [
    'AnnotatedFrameWriter',
    'browse_grid',
    'build_browse_dataset',
    'draw_au_frame',
    'plot_au_timeline',
]
