"""engine.activations: g and g' at hand-computed points, stability, in-place contracts."""
import math
import warnings

import numpy as np
import pytest

from engine.activations import make_activation

Z = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])


def act(name, slope=0.01):
    return make_activation(name, np, slope)


def sig(z):
    return 1.0 / (1.0 + math.exp(-z))


# (name, g(Z), g'(Z)) worked from the definitions at Z = [-2, -0.5, 0, 0.5, 2]
CASES = [
    ("sigmoid", [0.11920292202211755, 0.3775406687981454, 0.5, 0.6224593312018546, 0.8807970779778823],
     [0.10499358540350652, 0.2350037122015945, 0.25, 0.2350037122015945, 0.10499358540350652]),
    ("tanh", [-0.9640275800758169, -0.46211715726000974, 0.0, 0.46211715726000974, 0.9640275800758169],
     [0.07065082485316443, 0.7864477329659274, 1.0, 0.7864477329659274, 0.07065082485316443]),
    ("relu", [0.0, 0.0, 0.0, 0.5, 2.0], [0.0, 0.0, 0.0, 1.0, 1.0]),
    ("leaky_relu", [-0.02, -0.005, 0.0, 0.5, 2.0], [0.01, 0.01, 0.01, 1.0, 1.0]),
    ("linear", [-2.0, -0.5, 0.0, 0.5, 2.0], [1.0, 1.0, 1.0, 1.0, 1.0]),
]


@pytest.mark.parametrize("name, g, dg", CASES)
def test_values_and_derivatives_at_given_points(name, g, dg):
    a = act(name)
    np.testing.assert_allclose(a.forward(Z.copy()), [g], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(a.derivative(Z.copy()), [dg], rtol=1e-12, atol=1e-15)


def test_hand_points_match_the_definitions():
    # the table above, recomputed from the textbook formulas
    for z, g in zip(Z[0], CASES[0][1]):
        assert g == pytest.approx(sig(z), rel=1e-14)
        assert CASES[0][2][list(Z[0]).index(z)] == pytest.approx(sig(z) * (1 - sig(z)), rel=1e-13)
    for z, dg in zip(Z[0], CASES[1][2]):
        assert dg == pytest.approx(1 - math.tanh(z) ** 2, rel=1e-13)


def test_leaky_slope_is_configurable():
    a = act("leaky_relu", slope=0.2)
    np.testing.assert_allclose(a.forward(np.array([[-3.0, 4.0]])), [[-0.6, 4.0]])
    np.testing.assert_allclose(a.derivative(np.array([[-3.0, 4.0]])), [[0.2, 1.0]])


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "leaky_relu", "linear"])
def test_backward_is_dA_times_derivative_in_place(name):
    a = act(name)
    Zr = np.array([[-1.5, -0.2, 0.3, 2.5]])
    dA = np.array([[0.5, -2.0, 3.0, 1.5]])
    expected = dA * a.derivative(Zr.copy())
    dZ = a.backward(dA, a.forward(Zr.copy()))
    np.testing.assert_allclose(dZ, expected, rtol=1e-12)
    if name != "linear":
        assert dZ is dA  # computed in place: no new array in backprop


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax"])
def test_forward_out_computes_in_place(name):
    Zr = np.array([[-1.0, 0.5], [2.0, -3.0]])
    expected = act(name).forward(Zr.copy())
    buf = Zr.copy()
    A = act(name).forward(buf, out=buf)
    assert A is buf
    np.testing.assert_allclose(A, expected)


def test_softmax_hand_values_and_columns_sum_to_one():
    A = act("softmax").forward(np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]]))
    np.testing.assert_allclose(A[:, 0], [0.09003057317038046, 0.24472847105479764, 0.6652409557748219])
    np.testing.assert_allclose(A[:, 1], [1 / 3, 1 / 3, 1 / 3])


def test_softmax_backward_is_the_jacobian_product():
    Zr = np.array([[0.2], [-1.0], [0.7]])
    a = act("softmax")
    A = a.forward(Zr)
    s = A[:, 0]
    J = np.diag(s) - np.outer(s, s)  # ∂a_i/∂z_j
    dA = np.array([[1.0], [-2.0], [0.5]])
    np.testing.assert_allclose(a.backward(dA.copy(), A), J.T @ dA)


def test_stable_for_huge_inputs():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning either
        A = act("softmax").forward(np.array([[1000.0], [0.0]]))
        S = act("sigmoid").forward(np.array([[1000.0, -1000.0]]))
    np.testing.assert_array_equal(A, [[1.0], [0.0]])
    np.testing.assert_array_equal(S, [[1.0, 0.0]])


def test_unknown_activation_and_bad_slope_are_errors():
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        make_activation("swish", np)
    with pytest.raises(ValueError, match="leaky_slope"):
        make_activation("leaky_relu", np, leaky_slope=-0.1)
