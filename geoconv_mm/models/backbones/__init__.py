from .geo_branch import GeoBranch
from .geocnn_backbone import GeoCNNBackbone
from .vgg import MultiChannelVGG

__all__ = ['GeoBranch', 'GeoCNNBackbone', 'MultiChannelVGG']
