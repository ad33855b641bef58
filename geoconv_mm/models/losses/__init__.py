from .au_balanced_bce_loss import AUBalancedBCELoss, balanced_au_weights

__all__ = ['AUBalancedBCELoss', 'balanced_au_weights']
