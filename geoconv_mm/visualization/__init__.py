"""Pictures: annotated inference frames, AU probability curves, per-AU F1 charts."""

from .au_frames import AnnotatedFrameWriter, draw_au_frame
from .au_timeline import plot_au_timeline

__all__ = ['AnnotatedFrameWriter', 'draw_au_frame', 'plot_au_timeline']
