"""Backprop vs two-sided finite differences (float64, relative difference < 1e-7) over the grid
activation × output/loss × L2 on/off × batch norm on/off × 0, 1, 3 hidden layers, plus L1."""
import itertools

import numpy as np
import pytest

from engine.gradcheck import gradient_check
from engine.network import Network

ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu", "linear"]
OUTPUTS = ["sigmoid", "softmax", "linear"]
N_X, UNITS, M = 3, 4, 6
KINK = 1e-5  # ReLU-type nets: no pre-activation this close to 0, so ±ε never crosses the kink


def reference_preactivations(net, X):
    """Z̃[l] of every layer in train mode, recomputed from the formulas with plain NumPy."""
    p, A, Zs = net.get_parameters(), X, []
    g = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0),
         "leaky_relu": lambda z: np.where(z > 0, z, net.leaky_slope * z), "linear": lambda z: z}
    for l in range(1, net.L + 1):
        Z = p[f"W{l}"] @ A
        if f"gamma{l}" in p:
            Z = p[f"gamma{l}"] * (Z - Z.mean(1, keepdims=True)) / np.sqrt(Z.var(1, keepdims=True) + net.bn_epsilon) + p[f"beta{l}"]
        else:
            Z = Z + p[f"b{l}"]
        Zs.append(Z)
        A = g[net.activation](Z)
    return Zs


def make_case(activation, output, batch_norm, hidden, seed0=0):
    """A small net with random θ (non-zero biases, γ around 1) and data, avoiding ReLU kinks."""
    n_y = 3 if output == "softmax" else 1
    for seed in range(seed0, seed0 + 50):
        rng = np.random.default_rng(seed)
        net = Network([N_X] + [UNITS] * hidden + [n_y], activation=activation, output=output,
                      batch_norm=batch_norm, leaky_slope=0.05, seed=seed)
        net.theta[...] = rng.normal(0.0, 0.8, net.theta.shape)
        for name, view in net.params.items():
            if name.startswith("gamma"):
                view += 1.0
        X = rng.standard_normal((N_X, M))
        if output == "softmax":
            Y = np.eye(3)[:, rng.integers(0, 3, M)]
        elif output == "sigmoid":
            Y = (rng.random((1, M)) > 0.5).astype(float)
        else:
            Y = rng.standard_normal((1, M))
        Zs = reference_preactivations(net, X)
        if activation in ("relu", "leaky_relu") and min(np.abs(Z).min() for Z in Zs[:-1] or [1.0]) < KINK:
            continue
        return net, X, Y, Zs
    raise AssertionError("no kink-free seed found")  # pragma: no cover


GRID = list(itertools.product(ACTIVATIONS, OUTPUTS, [0.0, 0.7], [False, True], [0, 1, 3]))


@pytest.mark.parametrize("activation, output, l2, batch_norm, hidden", GRID)
def test_backprop_matches_finite_differences(activation, output, l2, batch_norm, hidden):
    net, X, Y, Zs = make_case(activation, output, batch_norm, hidden)
    AL, _ = net.forward(X, train=True, update_running=False)
    if output == "linear":  # the forward under test agrees with the reference formulas
        np.testing.assert_allclose(AL, Zs[-1], rtol=1e-10, atol=1e-12)
    result = gradient_check(net, X, Y, l2=l2)
    assert result.difference < 1e-7, result.message
    assert result.verdict == "great"


@pytest.mark.parametrize("activation, batch_norm, l2", [("tanh", False, 0.0), ("relu", True, 0.5),
                                                        ("leaky_relu", False, 0.3)])
def test_l1_gradients(activation, batch_norm, l2):
    net, X, Y, _ = make_case(activation, "sigmoid", batch_norm, 2)
    result = gradient_check(net, X, Y, l1=0.9, l2=l2)
    assert result.difference < 1e-7, result.message


def test_a_wrong_gradient_is_caught():
    # the grid above can fail: a backprop that forgets the L2 term is flagged as a bug
    net, X, Y, _ = make_case("tanh", "sigmoid", False, 1)
    original = net.backward
    net.backward = lambda cache, Y, l2=0.0, l1=0.0: original(cache, Y)
    result = gradient_check(net, X, Y, l2=5.0)
    assert result.difference > 1e-3 and result.verdict == "likely a bug"
