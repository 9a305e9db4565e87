"""engine.gradcheck: the course's difference and verdicts, side effects, refusals."""
import numpy as np
import pytest

from engine.backend import get_backend
from engine.gradcheck import GradCheck, gradient_check, verdict_for
from engine.network import Network


def _data(n_x=2, m=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_x, m)), (rng.random((1, m)) > 0.5).astype(float)


@pytest.mark.parametrize("difference, verdict", [
    (3e-9, "great"), (9.9e-8, "great"), (1e-7, "look closer"), (1e-5, "look closer"),
    (9.9e-4, "look closer"), (1e-3, "likely a bug"), (0.5, "likely a bug"),
])
def test_verdicts_follow_the_course_thresholds(difference, verdict):
    assert verdict_for(difference) == verdict


def test_difference_is_the_course_formula():
    # Gradients scaled by 1.5 in one layer: diff = ‖a - g‖/(‖a‖ + ‖g‖) with g = a except that layer
    net = Network([2, 3, 1], activation="tanh", seed=1)
    X, Y = _data()
    exact = gradient_check(net, X, Y)
    assert isinstance(exact, GradCheck) and exact.difference < 1e-7
    AL, cache = net.forward(X, train=True)
    a = net.backward(cache, Y).copy()
    g = a.copy()
    start, stop, _ = net.layout["W2"]
    g[start:stop] *= 1.5
    expected = np.linalg.norm(a - g) / (np.linalg.norm(a) + np.linalg.norm(g))

    original = net.backward

    def scaled(cache, Y, l2=0.0, l1=0.0):
        out = original(cache, Y, l2, l1)
        net.dparams["dW2"][...] *= 1.5
        return out

    net.backward = scaled
    result = gradient_check(net, X, Y)
    assert result.difference == pytest.approx(expected, rel=1e-5)
    assert result.verdict == "likely a bug"
    assert "dW2[" in result.message  # names where the largest mismatch is


def test_theta_and_running_statistics_are_left_unchanged():
    net = Network([2, 4, 3, 1], activation="tanh", batch_norm=True, seed=2)
    X, Y = _data(m=8)
    net.forward(X * 2 + 1, train=True)  # running stats away from their start
    theta = net.theta.copy()
    running = {k: v.copy() for k, v in net.running.items()}
    result = gradient_check(net, X, Y, l2=0.2)
    assert result.difference < 1e-7
    np.testing.assert_array_equal(net.theta, theta)
    for k, v in running.items():
        np.testing.assert_array_equal(net.running[k], v)


def test_float32_network_is_checked_in_float64():
    net = Network([2, 4, 1], activation="tanh", seed=3, backend=get_backend("numpy", "float32"))
    X, Y = _data()
    theta = net.theta.copy()
    result = gradient_check(net, X, Y)
    assert result.difference < 1e-6 and "float64" in result.message
    np.testing.assert_array_equal(net.theta, theta)


def test_refusals():
    net = Network([2, 3, 3, 1])
    X, Y = _data()
    with pytest.raises(ValueError, match="does not work with dropout"):
        gradient_check(net, X, Y, keep_probs=0.8)
    with pytest.raises(ValueError, match="does not work with dropout"):
        gradient_check(net, X, Y, keep_probs=[1.0, 0.5])
    with pytest.raises(ValueError, match="epsilon"):
        gradient_check(net, X, Y, epsilon=0.0)


def test_zero_gradients_give_zero_difference():
    net = Network([2, 1], init="zeros", output="linear")
    X = np.ones((2, 3))
    result = gradient_check(net, X, np.zeros((1, 3)))  # ŷ = y = 0: every gradient is 0
    assert result.difference == 0.0 and result.verdict == "great"


def test_a_float32_convnet_is_checked_in_float64_and_names_a_filter_by_its_four_indices():
    """A ConvNet's W[l] is (f, f, n_C[l-1], n_C): the report names a component by four indices,
    and a float32 net is checked on a float64 twin built from its layers (engine/conv.py)."""
    from engine.conv import ConvNet
    from engine.gradcheck import _component_name

    layers = [{"type": "conv", "filters": 2, "size": 3, "stride": 1, "padding": "same", "activation": "tanh"},
              {"type": "pool", "mode": "max", "size": 2, "stride": 2}, {"type": "flatten"},
              {"type": "dense", "units": 3, "activation": "tanh"}]
    net = ConvNet(layers, (6, 6, 1), 3, backend=get_backend("numpy", "float32"))
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(4, 6, 6, 1)), np.eye(3)[:, rng.integers(0, 3, 4)]
    result = gradient_check(net, X, Y)
    assert result.difference < 1e-7 and "checked in float64" in result.message
    # dW1 is (3, 3, 1, 2): flat index 5 = [0, 2, 0, 1]; the first entry after dW1's 18 is W2's
    assert _component_name(net, 5) == "dW1[0, 2, 0, 1]"
    assert _component_name(net, 17) == "dW1[2, 2, 0, 1]"
