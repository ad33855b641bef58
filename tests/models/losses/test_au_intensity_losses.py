"""AUIntensityMSELoss and AUOrdinalLoss against loops over the known labels,
float64 gradcheck, and unknown labels kept out of value and gradient."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from geoconv_mm.models.losses import AUIntensityMSELoss, AUOrdinalLoss

PRED = [[0.5, 4.0, 2.0], [3.0, -1.0, 5.5]]
TARGET = [[0, 5, 2], [3, 0, 9]]
KNOWN = [[True, True, False], [True, True, False]]


def hand_mse():
    terms = [
        (p - t) ** 2
        for pr, tr, kr in zip(PRED, TARGET, KNOWN)
        for p, t, k in zip(pr, tr, kr)
        if k
    ]
    return sum(terms) / len(terms)


def test_mse_is_the_mean_over_known_labels():
    loss = AUIntensityMSELoss(loss_weight=2.0)
    value = loss(
        torch.tensor(PRED),
        torch.tensor(TARGET, dtype=torch.float32),
        torch.tensor(KNOWN),
    )
    # (0.25 + 1 + 0 + 1) / 4 = 0.5625, times 2
    assert hand_mse() == pytest.approx(0.5625)
    assert value.item() == pytest.approx(2 * 0.5625)


def hand_ordinal(logits, target, known):
    total, count = 0.0, 0
    for n in range(len(target)):
        for a in range(len(target[0])):
            if not known[n][a]:
                continue
            levels = len(logits[n][a])
            bce = 0.0
            for k in range(levels):
                q = 1 / (1 + math.exp(-logits[n][a][k]))
                above = target[n][a] > k
                bce -= math.log(q) if above else math.log(1 - q)
            total += bce / levels
            count += 1
    return total / count


def test_ordinal_matches_a_loop():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, 5, generator=g, dtype=torch.float64)
    value = AUOrdinalLoss()(
        logits, torch.tensor(TARGET, dtype=torch.float64), torch.tensor(KNOWN)
    )
    assert value.item() == pytest.approx(
        hand_ordinal(logits.tolist(), TARGET, KNOWN)
    )


@pytest.mark.parametrize('ordinal', [False, True])
def test_gradcheck_float64(ordinal):
    g = torch.Generator().manual_seed(1)
    shape = (3, 2, 5) if ordinal else (3, 2)
    pred = torch.randn(*shape, generator=g, dtype=torch.float64)
    pred.requires_grad_(True)
    target = torch.tensor([[0, 3], [5, 9], [2, 1]], dtype=torch.float64)
    known = target != 9
    loss = AUOrdinalLoss() if ordinal else AUIntensityMSELoss()
    assert torch.autograd.gradcheck(lambda x: loss(x, target, known), (pred,))


@settings(max_examples=50, deadline=None)
@given(
    ordinal=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
    garbage=st.sampled_from([9.0, 1e30, float('inf'), float('nan'), -7.0]),
)
def test_unknown_labels_reach_neither_value_nor_gradient(
    ordinal, seed, garbage
):
    g = torch.Generator().manual_seed(seed)
    n, a = 6, 4
    target = torch.randint(0, 6, (n, a), generator=g).double()
    known = torch.rand(n, a, generator=g) > 0.4
    shape = (n, a, 5) if ordinal else (n, a)
    pred = torch.randn(*shape, generator=g, dtype=torch.float64)
    loss = AUOrdinalLoss() if ordinal else AUIntensityMSELoss()

    def run(t, p):
        p = p.clone().requires_grad_(True)
        value = loss(p, t, known)
        value.backward()
        return value.detach(), p.grad

    value, grad = run(target, pred)
    moved = pred.clone()
    moved[~known] = 123.0
    value2, grad2 = run(torch.where(known, target, garbage), moved)
    assert torch.isfinite(value2)
    torch.testing.assert_close(value2, value)
    torch.testing.assert_close(grad2[known], grad[known])
    assert (grad2[~known] == 0).all() and (grad[~known] == 0).all()


@pytest.mark.parametrize('ordinal', [False, True])
def test_batch_without_known_label_gives_zero(ordinal):
    shape = (2, 3, 5) if ordinal else (2, 3)
    pred = torch.randn(*shape, requires_grad=True)
    loss = AUOrdinalLoss() if ordinal else AUIntensityMSELoss()
    value = loss(pred, torch.full((2, 3), 9.0), torch.zeros(2, 3, dtype=bool))
    value.backward()
    assert value.item() == 0 and (pred.grad == 0).all()


def test_shape_errors():
    with pytest.raises(ValueError, match=r'must both start with \(N, A\)'):
        AUIntensityMSELoss()(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match='mask'):
        AUIntensityMSELoss()(
            torch.zeros(2, 3), torch.zeros(2, 3), torch.ones(3, 2, dtype=bool)
        )
    with pytest.raises(ValueError, match=r'must be \(N, A\)'):
        AUIntensityMSELoss()(torch.zeros(2, 3, 5), torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r'\(N, A, K\)'):
        AUOrdinalLoss()(torch.zeros(2, 3), torch.zeros(2, 3))
