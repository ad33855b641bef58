"""AUBalancedBCELoss against a hand computation of Eq. 5-6."""

import math

import pytest
import torch

from geoconv_mm.models.losses import AUBalancedBCELoss, balanced_au_weights


def logit(p):
    return math.log(p / (1 - p))


# Statistics: n = (10, 8, 6), npos = (2, 4, 3) -> n/npos = (5, 2, 2), sum 9,
# w = (5/9, 2/9, 2/9), p = ((10-2)/2, (8-4)/4, (6-3)/3) = (4, 1, 1).
N_KNOWN, N_POS = [10, 8, 6], [2, 4, 3]
W, P = [5 / 9, 2 / 9, 2 / 9], [4.0, 1.0, 1.0]
PROBS = [[0.8, 0.25, 0.5], [0.1, 0.6, 0.9]]
LABELS = [[1, 0, 1], [0, 1, 0]]


def hand_loss(mask):
    """Eq. 5 per sample, summed over known AUs, averaged over the batch."""
    total = 0.0
    for probs, labels, known in zip(PROBS, LABELS, mask):
        l_n = 0.0
        for i, (q, y, k) in enumerate(zip(probs, labels, known)):
            if k:
                l_n -= W[i] * (
                    P[i] * y * math.log(q) + (1 - y) * math.log(1 - q)
                )
        total += l_n
    return total / len(PROBS)


def test_weights_match_eq6():
    w, p = balanced_au_weights(N_KNOWN, N_POS)
    assert torch.allclose(w, torch.tensor(W, dtype=torch.float64))
    assert torch.allclose(p, torch.tensor(P, dtype=torch.float64))


@pytest.mark.parametrize(
    'mask', [[[1, 1, 1], [1, 1, 1]], [[1, 0, 1], [0, 1, 1]]]
)
def test_loss_matches_hand_computation(mask):
    loss = AUBalancedBCELoss(num_known=N_KNOWN, num_positive=N_POS)
    logits = torch.tensor(
        [[logit(q) for q in row] for row in PROBS], dtype=torch.float64
    )
    out = loss(
        logits,
        torch.tensor(LABELS, dtype=torch.float64),
        torch.tensor(mask, dtype=torch.bool),
    )
    assert out.item() == pytest.approx(hand_loss(mask), rel=1e-10)


def test_unknown_labels_contribute_nothing():
    loss = AUBalancedBCELoss(num_known=N_KNOWN, num_positive=N_POS)
    logits = torch.tensor([[0.3, -1.0, 2.0]], requires_grad=True)
    mask = torch.tensor([[True, False, True]])
    a = loss(logits, torch.tensor([[1.0, 0.0, 1.0]]), mask)
    b = loss(
        logits, torch.tensor([[1.0, 1.0, 1.0]]), mask
    )  # only the unknown label differs
    assert a.item() == b.item()
    a.backward()
    assert logits.grad[0, 1] == 0 and logits.grad[0, 0] != 0


def test_unbalanced_is_bce_averaged_over_aus():
    logits = torch.randn(4, 5, dtype=torch.float64)
    target = torch.randint(0, 2, (4, 5)).double()
    ref = torch.nn.functional.binary_cross_entropy(
        torch.sigmoid(logits), target
    )
    out = AUBalancedBCELoss(use_balanced_weights=False)(logits, target)
    assert out.item() == pytest.approx(ref.item(), rel=1e-10)


def test_stable_for_extreme_logits():
    loss = AUBalancedBCELoss(num_known=N_KNOWN, num_positive=N_POS)
    out = loss(
        torch.tensor([[200.0, -200.0, 50.0]]), torch.tensor([[1.0, 0.0, 1.0]])
    )
    assert torch.isfinite(out) and out.item() == pytest.approx(0.0, abs=1e-12)


def test_errors():
    with pytest.raises(RuntimeError, match='AUStatisticsHook'):
        AUBalancedBCELoss()(torch.zeros(1, 3), torch.zeros(1, 3))
    with pytest.raises(ValueError, match=r'AU index \[1\] has no positive'):
        balanced_au_weights([5, 5], [1, 0])
    with pytest.raises(ValueError, match='num_positive <= num_known'):
        balanced_au_weights([5, 5], [1, 6])
    with pytest.raises(ValueError, match='statistics are for 3 AUs'):
        AUBalancedBCELoss(num_known=N_KNOWN, num_positive=N_POS)(
            torch.zeros(1, 4), torch.zeros(1, 4)
        )
