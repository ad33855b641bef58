from .geo_au_classifier import GeoAUClassifier

__all__ = ['GeoAUClassifier']
