"""The temperature extension against Eq. 4 recomputed from the ratios
(float64).
"""

import numpy as np
import pytest
import torch

from geoconv_mm.ops import GeoConv2d, GeodesicContext
from geoconv_mm.ops.geo_temperature import apply_temperature


def _eq4(ratio: np.ndarray, tau: float) -> np.ndarray:
    """(K-1) softmax(-r / tau) over the non-centre taps, centre 1; plain
    loops.
    """
    n, k, h, w = ratio.shape
    c = k // 2
    out = np.ones_like(ratio)
    for b in range(n):
        for y in range(h):
            for x in range(w):
                logits = [-ratio[b, j, y, x] / tau for j in range(k) if j != c]
                m = max(logits)
                e = [np.exp(v - m) for v in logits]
                s = sum(e)
                j2 = 0
                for j in range(k):
                    if j != c:
                        out[b, j, y, x] = (k - 1) * e[j2] / s
                        j2 += 1
    return out


@pytest.mark.parametrize('tau', [1.0, 0.5, 2.0, 7.3])
def test_matches_eq4_from_ratios(tau):
    rng = np.random.default_rng(0)
    ratio = 1.0 + rng.gamma(1.0, 0.4, (2, 9, 3, 4))
    delivered = torch.from_numpy(_eq4(ratio, 1.0))
    got = apply_temperature(delivered, torch.tensor(tau, dtype=torch.float64))
    np.testing.assert_allclose(
        got.numpy(), _eq4(ratio, tau), rtol=1e-12, atol=1e-12
    )


def test_zero_taps_and_plain_cells_are_kept():
    g = torch.ones(1, 9, 1, 2, dtype=torch.float64)
    g[0, :, 0, 1] = torch.tensor(
        [0, 2, 2, 2, 1, 2, 0, 0, 0], dtype=torch.float64
    )
    out = apply_temperature(g, torch.tensor(0.3, dtype=torch.float64))
    np.testing.assert_allclose(
        out[0, :, 0, 0].numpy(), 1.0
    )  # plain convolution cell
    col = out[0, :, 0, 1].numpy()
    np.testing.assert_array_equal(col[[0, 6, 7, 8]], 0.0)
    np.testing.assert_allclose(col[[1, 2, 3, 5]], 2.0)
    assert col[4] == 1.0


def test_gradient_in_tau_float64():
    rng = np.random.default_rng(1)
    g = torch.from_numpy(_eq4(1.0 + rng.gamma(1.0, 0.4, (1, 9, 2, 2)), 1.0))
    log_tau = torch.tensor(0.2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda t: apply_temperature(g, t.exp()), (log_tau,)
    )


def test_layer_option_is_the_paper_at_init_and_learns():
    torch.manual_seed(0)
    plain = GeoConv2d(3, 4, 3, padding=1).double()
    temp = GeoConv2d(3, 4, 3, padding=1, temperature=True).double()
    temp.weight.data.copy_(plain.weight.data)
    temp.bias.data.copy_(plain.bias.data)
    assert [n for n, _ in temp.named_parameters()] == [
        'weight',
        'bias',
        'log_tau',
    ]
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    rng = np.random.default_rng(2)
    geo = torch.from_numpy(_eq4(1.0 + rng.gamma(1.0, 0.4, (2, 9, 5, 5)), 1.0))

    def run(layer):
        from geoconv_mm.ops import collect_geo_specs

        specs = collect_geo_specs(layer, image_size=(5, 5))
        with GeodesicContext({specs[0].key: geo}, image_size=(5, 5)).bind(
            layer
        ):
            return layer(x)

    torch.testing.assert_close(run(temp), run(plain))
    run(temp).square().sum().backward()
    assert temp.log_tau.grad is not None and temp.log_tau.grad.abs() > 0
    with pytest.raises(ValueError, match='odd kernel'):
        apply_temperature(torch.ones(1, 4, 2, 2), torch.tensor(1.0))
