"""Pictures: annotated inference frames, AU probability curves, per-AU F1 charts."""

from .au_frames import (
    PANEL_WIDTH,
    AnnotatedFrameWriter,
    draw_au_faces,
    draw_au_frame,
    face_colour,
)
from .au_timeline import plot_au_timeline, plot_au_timeline_faces

__all__ = [
    'PANEL_WIDTH',
    'AnnotatedFrameWriter',
    'draw_au_faces',
    'draw_au_frame',
    'face_colour',
    'plot_au_timeline',
    'plot_au_timeline_faces',
]
