"""Pictures: annotated inference frames, AU probability curves, per-AU F1
charts, and a grid of pipeline samples with geodesic-weight overlays."""

from .au_frames import (
    PANEL_WIDTH,
    AnnotatedFrameWriter,
    draw_au_faces,
    draw_au_frame,
    face_colour,
)
from .au_timeline import plot_au_timeline, plot_au_timeline_faces
from .dataset_browser import browse_grid, build_browse_dataset

__all__ = [
    'PANEL_WIDTH',
    'AnnotatedFrameWriter',
    'browse_grid',
    'build_browse_dataset',
    'draw_au_faces',
    'draw_au_frame',
    'face_colour',
    'plot_au_timeline',
    'plot_au_timeline_faces',
]
