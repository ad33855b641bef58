from .au_data_preprocessor import AUDataPreprocessor

__all__ = ['AUDataPreprocessor']
