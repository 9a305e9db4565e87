"""engine.losses and Network.cost: hand-computed values, stability from Z[L], L1/L2 terms."""
import math
import warnings

import numpy as np
import pytest

from engine.losses import (bce_from_logits, bce_from_output, cce_from_logits, cce_from_output,
                           loss_for_output, mse)
from engine.network import Network


def test_bce_at_given_values():
    # y = [1, 0], ŷ = [0.8, 0.3]: J = -(log 0.8 + log 0.7)/2
    expected = -(math.log(0.8) + math.log(0.7)) / 2  # 0.289909...
    Y = np.array([[1.0, 0.0]])
    logits = np.array([[math.log(0.8 / 0.2), math.log(0.3 / 0.7)]])
    assert bce_from_logits(np, logits, Y) == pytest.approx(expected, rel=1e-12)
    assert bce_from_output(np, np.array([[0.8, 0.3]]), Y) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.2899092476264711)


def test_cce_at_given_values():
    # two examples, three classes: -(log 0.7 + log 0.5)/2
    A = np.array([[0.7, 0.2], [0.2, 0.5], [0.1, 0.3]])
    Y = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    expected = -(math.log(0.7) + math.log(0.5)) / 2
    assert cce_from_output(np, A, Y) == pytest.approx(expected, rel=1e-12)
    assert cce_from_logits(np, np.log(A) + 5.0, Y) == pytest.approx(expected, rel=1e-12)  # shift-invariant


def test_mse_uses_one_over_2m():
    # (1 + 0 + 4) / (2·3)
    assert mse(np, np.array([[1.0, 2.0, 3.0]]), np.array([[0.0, 2.0, 5.0]])) == pytest.approx(5 / 6)


def test_saturated_outputs_give_finite_costs():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # softmax of z = [1000, 0]: true class 0 costs log(1 + e^-1000) ≈ 0, class 1 costs 1000
        Z = np.array([[1000.0, 1000.0], [0.0, 0.0]])
        assert cce_from_logits(np, Z, np.array([[1.0, 0.0], [0.0, 1.0]])) == pytest.approx(500.0)
        # saturated sigmoid σ(±800) rounds to exactly 1/0, yet the cost from Z is exact: 800 each
        assert bce_from_logits(np, np.array([[800.0, -800.0]]), np.array([[0.0, 1.0]])) == pytest.approx(800.0)
        # from probabilities only, clipping keeps it finite
        assert math.isfinite(bce_from_output(np, np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])))
        assert math.isfinite(cce_from_output(np, np.array([[1.0], [0.0]]), np.array([[0.0], [1.0]])))


def test_loss_pairs():
    assert loss_for_output("sigmoid").name == "binary_cross_entropy"
    assert loss_for_output("softmax").name == "categorical_cross_entropy"
    assert loss_for_output("linear").name == "mean_squared_error"
    with pytest.raises(ValueError, match="unknown output 'tanh'"):
        loss_for_output("tanh")


def test_network_cost_of_a_saturated_sigmoid_uses_the_logits():
    net = Network([1, 1], output="sigmoid", init="zeros")
    net.params["W1"][...] = 900.0
    X, Y = np.array([[1.0]]), np.array([[0.0]])
    AL = net.predict_proba(X)
    assert AL[0, 0] == 1.0  # σ(900) is 1 in float64
    data, reg = net.cost(AL, Y)
    assert data == pytest.approx(900.0) and reg == 0.0
    # an A[L] that is not the latest forward's output falls back to clipped probabilities
    data_clip, _ = net.cost(AL.copy(), Y)
    assert data_clip == pytest.approx(-math.log(1e-15), rel=1e-3)


def test_network_cost_with_l2_and_l1_by_hand():
    net = Network([2, 1], output="linear", init="zeros")
    net.params["W1"][...] = [[3.0, -4.0]]
    net.params["b1"][...] = 100.0  # biases are not penalized
    X, Y = np.zeros((2, 4)), np.full((1, 4), 100.0)
    AL = net.predict_proba(X)
    data, reg = net.cost(AL, Y, l2=0.8)
    assert data == 0.0 and reg == pytest.approx(0.8 / (2 * 4) * 25.0)
    _, reg1 = net.cost(AL, Y, l1=0.8)
    assert reg1 == pytest.approx(0.8 / 4 * 7.0)
    _, both = net.cost(AL, Y, l2=0.8, l1=0.8)
    assert both == pytest.approx(2.5 + 1.4)


def test_cost_errors():
    net = Network([2, 1])
    AL = net.predict_proba(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="Y must have shape"):
        net.cost(AL, np.zeros((1, 4)))
    with pytest.raises(ValueError, match="empty"):
        net.cost(net.predict_proba(np.zeros((2, 0))), np.zeros((1, 0)))
