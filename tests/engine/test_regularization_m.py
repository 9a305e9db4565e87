"""L2 / L1 mean the same at every batch size: a mini-batch step descends an unbiased estimate of
the displayed J, whose penalty divides by the TRAINING-set size m (engine/regularization.py)."""
from __future__ import annotations

import numpy as np
import pytest

from engine.config import load_config
from engine.network import Network
from engine.trainer import Trainer


def linear_net(w=2.0):
    """ŷ = w·x + b with w = 2, b = 0 (linear output, J = (1/2m)Σ(ŷ - y)² + (λ/2m_reg) w²)."""
    net = Network([1, 1], output="linear", seed=0)
    net.params["W1"][...] = w
    net.params["b1"][...] = 0.0
    return net


def test_minibatch_gradient_by_hand_uses_the_training_set_size():
    # batch x = [1, 2], y = [1, 3]: ŷ = [2, 4], ŷ - y = [1, 1]
    # data:  dW = (1·1 + 1·2)/2 = 1.5, db = (1 + 1)/2 = 1, J_data = (1² + 1²)/(2·2) = 0.5
    # L2 λ = 0.5 with m_train = 10: dW += (0.5/10)·2 = 0.1; penalty (0.5/20)·2² = 0.1
    net = linear_net()
    X, Y = np.array([[1.0, 2.0]]), np.array([[1.0, 3.0]])
    AL, cache = net.forward(X, train=True)
    net.backward(cache, Y, l2=0.5, reg_m=10)
    assert net.dparams["dW1"][0, 0] == pytest.approx(1.6, rel=1e-15)
    assert net.dparams["db1"][0, 0] == pytest.approx(1.0, rel=1e-15)
    assert net.cost(AL, Y, l2=0.5, reg_m=10) == pytest.approx((0.5, 0.1), rel=1e-15)
    # L1 λ = 0.4: dW += (0.4/10)·sign(2) = 0.04; penalty (0.4/10)·|2| = 0.08
    net.backward(cache, Y, l1=0.4, reg_m=10)
    assert net.dparams["dW1"][0, 0] == pytest.approx(1.54, rel=1e-15)
    assert net.cost(AL, Y, l1=0.4, reg_m=10)[1] == pytest.approx(0.08, rel=1e-15)
    # without reg_m: the course's per-batch formula, m = 2: dW = 1.5 + (0.5/2)·2, penalty (0.5/4)·4
    net.backward(cache, Y, l2=0.5)
    assert net.dparams["dW1"][0, 0] == pytest.approx(2.0, rel=1e-15)
    assert net.cost(AL, Y, l2=0.5)[1] == pytest.approx(0.5, rel=1e-15)
    assert net.loss_and_grads(X, Y, l2=0.5, reg_m=10) == pytest.approx((0.5, 0.1), rel=1e-15)
    assert net.dparams["dW1"][0, 0] == pytest.approx(1.6, rel=1e-15)


def small_trainer(**overrides):
    base = {"data": {"name": "circle", "n": 10, "noise": 0.1, "seed": 0, "split": [1.0, 0.0, 0.0]},
            "network": {"hidden": [3], "activation": "tanh"}, "optimizer": {"name": "gd", "learning_rate": 0.1},
            "regularization": {"l2": 0.7, "l1": 0.3}, "batch_size": 3, "epochs": 5, "seed": 7}
    base.update(overrides)
    return Trainer(load_config(base))


@pytest.mark.parametrize("batch_size", [3, 4, 1])  # 3,3,3,1 / 4,4,2 / ten of 1
def test_one_epoch_of_minibatch_gradients_averages_to_the_full_batch_gradient(batch_size):
    """At fixed θ, Σ_t (b_t/m)·dθ{t} over one epoch (leftover batch included) = ∇J of the full set."""
    t = small_trainer(batch_size=batch_size)
    grads = []
    t.optimizer.update = lambda theta, g, lr: grads.append(g.copy())  # record, keep θ fixed
    seen = []
    forward = t.network.forward
    t.network.forward = lambda X, train=False, **kw: (seen.append(X.shape[1]) if train else None,
                                                      forward(X, train=train, **kw))[1]
    t.step(t.batch_count)
    assert sum(seen) == t.m == 10 and len(grads) == t.batch_count
    weighted = sum(b / t.m * g for b, g in zip(seen, grads))
    X, Y = t.sets["train"]
    full = Network(t.layer_dims, activation="tanh", seed=7)
    full.theta[...] = t.network.theta
    full.loss_and_grads(X, Y, l2=0.7, l1=0.3)  # full batch: the per-batch m is m_train
    np.testing.assert_allclose(weighted, full.grads, rtol=1e-12, atol=1e-15)
    if batch_size < t.m:  # the old per-batch penalty is biased (the test can fail)
        n_w = t.network.n_weights
        assert not np.allclose(weighted[:n_w] + sum(
            b / t.m * ((0.7 / b - 0.7 / t.m) * full.theta[:n_w] + (0.3 / b - 0.3 / t.m) * np.sign(full.theta[:n_w]))
            for b in seen), full.grads[:n_w], rtol=1e-6)


def test_reported_costs_use_the_training_set_size_on_every_set():
    t = Trainer(load_config({"data": {"name": "circle", "n": 50, "seed": 0, "split": [0.6, 0.2, 0.2]},
                             "network": {"hidden": []}, "regularization": {"l2": 3.0, "l1": 0.6},
                             "batch_size": 8, "epochs": 5}))
    assert t.m == 30 and [t.sets[s][0].shape[1] for s in ("dev", "test")] == [10, 10]
    t.network.params["W1"][...] = [[1.0, -2.0]]  # L2 (3/60)·5 = 0.25, L1 (0.6/30)·3 = 0.06
    snap = t.snapshot()
    for s in (snap.train, snap.dev, snap.test):
        assert s.reg_cost == pytest.approx(0.31, rel=1e-14)
        assert s.cost == pytest.approx(s.data_cost + 0.31, rel=1e-14)
    # the mini-batch cost (batch of 8) carries the same penalty
    t.optimizer.update = lambda theta, g, lr: None  # keep θ
    snap = t.step(1)
    Xb, Yb = t._batches[0]
    data, reg = t.network.cost(t.network.forward(Xb)[0], Yb)
    assert snap.minibatch_cost == pytest.approx(data + 0.31, rel=1e-14)
