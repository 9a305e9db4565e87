"""Batch normalization: train-mode normalization, running statistics, test mode, parameters."""
import math

import numpy as np
import pytest

from engine import batchnorm
from engine.network import Network


def test_train_mode_normalizes_each_unit_to_mean_0_var_1():
    rng = np.random.default_rng(0)
    Z = rng.normal(5.0, 3.0, size=(4, 64)) * np.array([[1.0], [10.0], [0.1], [2.0]])
    gamma, beta = np.ones((4, 1)), np.zeros((4, 1))
    Zt, Zn, inv_std, mu, var = batchnorm.forward_train(np, Z.copy(), gamma, beta, 1e-8)
    np.testing.assert_allclose(Zn.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(Zn.var(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(Zt, Zn)
    np.testing.assert_allclose(mu, Z.mean(axis=1, keepdims=True))
    np.testing.assert_allclose(var, Z.var(axis=1, keepdims=True))  # biased (1/m) variance


def test_gamma_and_beta_scale_and_shift():
    Z = np.array([[1.0, 2.0, 3.0, 6.0]])  # μ = 3, σ² = 3.5
    Zt, *_ = batchnorm.forward_train(np, Z.copy(), np.array([[2.0]]), np.array([[-1.0]]), 0.0)
    expected = 2.0 * (Z - 3.0) / math.sqrt(3.5) - 1.0
    np.testing.assert_allclose(Zt, expected)


def _one_unit_net(**kw):
    """1 input → 1 BN hidden unit (W1 = 1, linear g) → 1 linear output: A1 = Z̃1."""
    net = Network([1, 1, 1], activation="linear", output="linear", batch_norm=True, **kw)
    net.params["W1"][...] = 1.0
    return net


def test_network_hidden_layer_is_normalized_in_train_mode():
    net = Network([3, 6, 1], activation="linear", output="sigmoid", batch_norm=True, seed=1)
    X = np.random.default_rng(1).normal(2.0, 4.0, size=(3, 32))
    _, cache = net.forward(X, train=True)
    A1 = cache.inputs[1]  # γ = 1, β = 0 at initialization, linear g: A1 = Z_norm
    np.testing.assert_allclose(A1.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(A1.var(axis=1), 1.0, rtol=1e-4)


def test_running_statistics_are_ewma_over_batches_and_used_at_test_time():
    net = _one_unit_net(bn_momentum=0.9, bn_epsilon=1e-5)
    assert net.running["mu1"][0, 0] == 0.0 and net.running["var1"][0, 0] == 1.0
    net.forward(np.array([[1.0, 2.0, 3.0]]), train=True)  # μ = 2, σ² = 2/3
    net.forward(np.array([[4.0, 6.0]]), train=True)       # μ = 5, σ² = 1
    # μ_run = 0.9·(0.9·0 + 0.1·2) + 0.1·5 = 0.68
    # σ²_run = 0.9·(0.9·1 + 0.1·2/3) + 0.1·1 = 0.97
    assert net.running["mu1"][0, 0] == pytest.approx(0.68)
    assert net.running["var1"][0, 0] == pytest.approx(0.97)
    A1 = net.hidden_outputs(np.array([[1.0, 3.0]]))[0]
    np.testing.assert_allclose(A1, [[(1 - 0.68) / math.sqrt(0.97 + 1e-5), (3 - 0.68) / math.sqrt(0.97 + 1e-5)]])


def test_update_running_false_leaves_statistics_alone():
    net = _one_unit_net()
    net.forward(np.array([[1.0, 5.0]]), train=True, update_running=False)
    assert net.running["mu1"][0, 0] == 0.0 and net.running["var1"][0, 0] == 1.0
    net.forward(np.array([[1.0, 5.0]]), train=False)  # prediction never updates them
    assert net.running["mu1"][0, 0] == 0.0


def test_bn_layers_have_gamma_beta_and_no_bias():
    net = Network([2, 3, 4, 1], batch_norm=True)
    assert set(net.params) == {"W1", "gamma1", "beta1", "W2", "gamma2", "beta2", "W3", "b3"}
    assert set(net.dparams) == {"d" + k for k in net.params}
    assert (net.params["gamma2"] == 1).all() and not net.params["beta2"].any()
    assert set(net.running) == {"mu1", "var1", "mu2", "var2"}
    params = net.get_parameters()
    assert params["running_mean2"].shape == (4, 1) and (params["running_var2"] == 1).all()


def test_backward_by_hand_for_one_unit():
    # J = Σ c·Z̃ (so dZ̃ = c): dβ = Σc, dγ = Σ c·Z_norm, dZ = γ/σ · (c - (dβ + Z_norm dγ)/m)
    Z = np.array([[0.0, 1.0, 5.0]])
    gamma = np.array([[2.0]])
    _, Zn, inv_std, _, _ = batchnorm.forward_train(np, Z.copy(), gamma, np.zeros((1, 1)), 0.0)
    c = np.array([[1.0, -1.0, 0.5]])
    dgamma, dbeta = np.zeros((1, 1)), np.zeros((1, 1))
    dZ = batchnorm.backward(c.copy(), Zn, inv_std, gamma, dgamma, dbeta)
    assert dbeta[0, 0] == pytest.approx(0.5)
    assert dgamma[0, 0] == pytest.approx(float((c * Zn).sum()))
    # finite differences of J(Z) = Σ c · (γ (Z - μ)/σ)
    def J(z):
        return float((c * gamma * (z - z.mean()) / z.std()).sum())
    approx = [(J(Z + e) - J(Z - e)) / 2e-6 for e in np.eye(3)[:, None, :] * 1e-6]
    np.testing.assert_allclose(dZ[0], approx, rtol=1e-6)


def test_prediction_on_one_example_uses_running_stats():
    net = _one_unit_net()
    net.forward(np.array([[0.0, 10.0]]), train=True)
    single = net.predict_proba(np.array([[3.0]]))
    batch = net.predict_proba(np.array([[3.0, -50.0, 7.0]]))
    assert single[0, 0] == pytest.approx(batch[0, 0])  # independent of the other examples
