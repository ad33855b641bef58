from .au_balanced_bce_loss import AUBalancedBCELoss, balanced_au_weights
from .au_intensity_losses import AUIntensityMSELoss, AUOrdinalLoss

__all__ = [
    'AUBalancedBCELoss',
    'balanced_au_weights',
    'AUIntensityMSELoss',
    'AUOrdinalLoss',
]
