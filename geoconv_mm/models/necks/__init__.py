from .concat_fusion_neck import ConcatFusionNeck

__all__ = ['ConcatFusionNeck']
