from .au_head import AUHead

__all__ = ['AUHead']
