"""engine.initializers and the network's use of them: std of each scheme, zeros, seeding."""
import math

import numpy as np
import pytest

from engine.backend import host_rng
from engine.initializers import init_std, init_weights
from engine.network import Network

N_PREV, N = 1000, 500  # 500 000 draws: the sample std is within ~0.3% of the true one


@pytest.mark.parametrize("init, std", [
    ("he", math.sqrt(2 / 1000)),            # 0.0447
    ("xavier", math.sqrt(1 / 1000)),        # 0.0316
    ("glorot", math.sqrt(2 / 1500)),        # 0.0365
    ("random", 0.01),
])
def test_weight_std_of_each_scheme(init, std):
    (W,) = init_weights(init, [N_PREV, N], host_rng(0))
    assert W.shape == (N, N_PREV)
    assert W.std() == pytest.approx(std, rel=0.01)
    assert abs(W.mean()) < 4 * std / math.sqrt(W.size)


def test_random_uses_init_scale():
    (W,) = init_weights("random", [N_PREV, N], host_rng(0), init_scale=10.0)
    assert W.std() == pytest.approx(10.0, rel=0.01)


def test_init_std_formulas_by_hand():
    assert init_std("he", 8, 3) == pytest.approx(0.5)
    assert init_std("xavier", 4, 3) == pytest.approx(0.5)
    assert init_std("glorot", 6, 2) == pytest.approx(0.5)
    assert init_std("zeros", 6, 2) == 0.0
    with pytest.raises(ValueError, match="unknown init 'ones'"):
        init_std("ones", 2, 2)


def test_zeros_init_gives_all_zero_weights():
    net = Network([3, 4, 2, 1], init="zeros")
    assert not net.theta.any()


@pytest.mark.parametrize("init", ["he", "xavier", "glorot", "random"])
def test_network_weights_follow_the_scheme_and_biases_are_zero(init):
    net = Network([N_PREV, N, 1], init=init, init_scale=0.05, activation="tanh")
    expected = init_std(init, N_PREV, N, 0.05)
    assert net.params["W1"].std() == pytest.approx(expected, rel=0.01)
    assert not net.params["b1"].any() and not net.params["b2"].any()


def test_seed_fixes_the_weights():
    a, b, c = (Network([2, 5, 1], seed=s).theta for s in (7, 7, 8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_same_seed_same_weights_in_float32():
    a = Network([2, 5, 1], seed=3).theta
    from engine.backend import get_backend
    b = Network([2, 5, 1], seed=3, backend=get_backend("numpy", "float32")).theta
    assert b.dtype == np.float32
    np.testing.assert_allclose(b, a, rtol=1e-6)
