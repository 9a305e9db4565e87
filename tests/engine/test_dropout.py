"""Inverted dropout: mask statistics, scaling, same mask in backprop, off at prediction."""
import numpy as np
import pytest

from engine.gradcheck import gradient_check
from engine.network import Network
from engine.regularization import check_keep_probs, dropout_mask


def test_mask_keeps_the_mean_within_one_percent_over_1e5_units():
    rng = np.random.default_rng(0)
    A = rng.uniform(0.5, 1.5, size=(100_000, 1))
    for keep_prob in (0.5, 0.8):
        mask = dropout_mask(np, np.random.default_rng(1), A.shape, keep_prob, np.float64)
        kept = mask > 0
        assert kept.mean() == pytest.approx(keep_prob, abs=0.01)
        np.testing.assert_allclose(mask[kept], 1.0 / keep_prob)  # survivors scaled by 1/p
        assert (A * mask).mean() == pytest.approx(A.mean(), rel=0.01)


def test_mask_dtype_follows_the_network():
    mask = dropout_mask(np, np.random.default_rng(0), (3, 4), 0.5, np.float32)
    assert mask.dtype == np.float32


def _net():
    net = Network([3, 200, 1], activation="relu", output="sigmoid", seed=0)
    net.params["b1"][...] = 1.0  # every hidden unit active, so A1 > 0 everywhere
    return net


def test_train_forward_drops_and_scales_hidden_units():
    net = _net()
    X = np.random.default_rng(2).standard_normal((3, 50)) * 0.1
    _, plain = net.forward(X, train=True)
    _, dropped = net.forward(X, train=True, keep_probs=[0.5], rng=np.random.default_rng(3))
    A_plain, A_drop = plain.inputs[1], dropped.inputs[1]
    zero = A_drop == 0
    assert 0.4 < zero.mean() < 0.6
    np.testing.assert_allclose(A_drop[~zero], 2.0 * A_plain[~zero])
    np.testing.assert_allclose(dropped.acts[0], A_plain)  # g(Z) itself kept for g'


def test_no_dropout_at_prediction_time():
    net = _net()
    X = np.random.default_rng(2).standard_normal((3, 20))
    expected = net.forward(X)[0]
    np.testing.assert_array_equal(net.predict_proba(X), expected)
    np.testing.assert_array_equal(net.forward(X, train=False, keep_probs=[0.3])[0], expected)


class FixedMaskRng:
    """A Generator stand-in returning the same uniforms every call, so the mask is fixed."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.cache = {}

    def random(self, shape, dtype=np.float64):
        if shape not in self.cache:
            self.cache[shape] = self.rng.random(shape)
        return self.cache[shape].astype(dtype)


def test_backprop_applies_the_same_mask_as_forward():
    # With the mask held fixed the cost is a smooth function of θ again: finite differences of
    # it must match backprop, which is only true if dA is multiplied by the forward's mask.
    net = Network([2, 5, 4, 1], activation="tanh", output="sigmoid", seed=4)
    rng = np.random.default_rng(5)
    net.theta[...] = rng.normal(0, 0.8, net.theta.shape)
    X, Y = rng.standard_normal((2, 6)), (rng.random((1, 6)) > 0.5) * 1.0
    fixed, kp = FixedMaskRng(9), [0.6, 0.7]

    def J():
        AL, _ = net.forward(X, train=True, keep_probs=kp, rng=fixed)
        return sum(net.cost(AL, Y))

    AL, cache = net.forward(X, train=True, keep_probs=kp, rng=fixed)
    assert any((m == 0).any() for m in cache.masks)
    grads = net.backward(cache, Y).copy()
    approx = np.empty_like(grads)
    for i in range(net.size):
        old = net.theta[i]
        net.theta[i] = old + 1e-7
        plus = J()
        net.theta[i] = old - 1e-7
        minus = J()
        net.theta[i] = old
        approx[i] = (plus - minus) / 2e-7
    diff = np.linalg.norm(approx - grads) / (np.linalg.norm(approx) + np.linalg.norm(grads))
    assert diff < 1e-7


def test_gradient_check_refuses_dropout():
    net = Network([2, 3, 1])
    with pytest.raises(ValueError, match="dropout"):
        gradient_check(net, np.ones((2, 3)), np.ones((1, 3)), keep_probs=[0.9])
    gradient_check(net, np.ones((2, 3)), np.ones((1, 3)), keep_probs=[1.0])  # keep_prob 1 is fine


def test_keep_probs_validation():
    assert check_keep_probs(None, 2) is None
    assert check_keep_probs(1.0, 2) is None
    assert check_keep_probs(0.8, 2) == [0.8, 0.8]
    assert check_keep_probs([1.0, 0.5], 2) == [1.0, 0.5]
    with pytest.raises(ValueError, match="1 values but the network has 2 hidden layers"):
        check_keep_probs([0.5], 2)
    with pytest.raises(ValueError, match=r"keep_probs\[1\] = 0.0 must be in \(0, 1\]"):
        check_keep_probs([0.5, 0.0], 2)
