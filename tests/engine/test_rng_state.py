"""get_rng_state / set_rng_state: every generator continues exactly where
it was, and the state survives torch's weights-only loading."""

import io
import random

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from geoconv_mm.engine import get_rng_state, set_rng_state


def draws():
    """Some of everything: Python, numpy (uniform and the cached normal),
    torch."""
    return (
        [random.random() for _ in range(3)],
        np.random.rand(3).tolist(),
        np.random.normal(size=1).tolist(),  # leaves a cached gaussian
        torch.rand(3).tolist(),
        torch.randn(2).tolist(),
    )


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), warm=st.integers(0, 5))
def test_a_restored_state_repeats_every_draw(seed, warm):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    for _ in range(warm):
        draws()
    state = get_rng_state()
    first = draws()
    draws()  # move on
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    set_rng_state(torch.load(buf, weights_only=True))
    assert draws() == first


def test_the_state_is_a_copy():
    state = get_rng_state()
    first = draws()
    set_rng_state(state)
    set_rng_state(state)  # restoring twice does not consume it
    assert draws() == first
