"""The course's lessons, reproduced end to end through the Trainer (shared/curriculum.md)."""
from __future__ import annotations

import numpy as np
import pytest

from engine.config import load_config
from engine.trainer import Trainer


def train(config: dict) -> Trainer:
    t = Trainer(load_config(config))
    t.run()
    assert t.status == "done"
    return t


# ----------------------------------------------------------------------------- initialization
@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_zero_initialization_keeps_hidden_units_identical(activation):
    """Symmetry: with W = 0 every hidden unit gets the same gradient, so they stay identical."""
    config = {
        "data": {"name": "circle", "n": 200, "noise": 0.1},
        "network": {"hidden": [5, 3], "activation": activation, "init": "zeros"},
        "optimizer": {"name": "adam", "learning_rate": 0.05}, "batch_size": 32, "epochs": 30,
    }
    net = train(config).network
    p = net.get_parameters()
    same = lambda a, ref: np.testing.assert_allclose(a, np.broadcast_to(ref, a.shape), rtol=1e-9, atol=1e-12)
    for l in (1, 2, 3):  # identical up to rounding (BLAS may sum rows in different orders)
        W, b = p[f"W{l}"], p[f"b{l}"]
        same(W, W[:1])  # every unit of layer l has the same incoming weights
        if l > 1:
            same(W, W[:, :1])  # ... and the identical units below get the same outgoing weight
        same(b, b[:1])
    if activation == "sigmoid":  # σ(0) = 0.5 ≠ 0, so the weights did move — just all together
        assert np.abs(p["W1"]).max() > 1e-3 and np.abs(p["W3"]).max() > 1e-3
    X = net.be.asarray(np.random.default_rng(0).uniform(-2, 2, (2, 50)))
    for A in net.hidden_outputs(X)[:-1]:
        same(A, A[:1])
    # random initialization breaks the symmetry
    config["network"]["init"] = "xavier"
    W1 = train(config).network.get_parameters()["W1"]
    assert np.min(np.abs(W1[0] - W1[1])) > 1e-6


# ----------------------------------------------------------------------------- shallow network
FLOWER = {"name": "flower", "n": 400, "noise": 0.2, "split": [0.8, 0.2, 0.0]}


@pytest.mark.parametrize("seed", [1, 2])
def test_one_hidden_layer_separates_the_flower_where_logistic_regression_cannot(seed):
    """The planar-data lesson: 4 tanh units ≥ 85 %, logistic regression < 60 %."""
    common = {"data": {**FLOWER, "seed": seed}, "optimizer": {"name": "gd", "learning_rate": 1.2},
              "batch_size": 400, "epochs": 3000, "seed": seed}
    shallow = train({**common, "network": {"hidden": [4], "activation": "tanh", "init": "random"}})
    logistic = train({**common, "network": {"hidden": []}})
    s, lr = shallow.snapshot(), logistic.snapshot()
    assert s.train.accuracy >= 0.85 and s.dev.accuracy >= 0.85
    assert lr.train.accuracy < 0.60 and lr.dev.accuracy < 0.60


# ----------------------------------------------------------------------------- regularization
def gaps(regularization: dict, data_seed: int):
    """(train − dev accuracy, dev − train cost) of a 64-64 ReLU net on 100 noisy moons points."""
    t = train({
        "data": {"name": "moons", "n": 200, "noise": 0.4, "seed": data_seed, "split": [0.5, 0.5, 0.0]},
        "network": {"hidden": [64, 64], "activation": "relu"}, "regularization": regularization,
        "optimizer": {"name": "adam", "learning_rate": 0.01}, "batch_size": 1000, "epochs": 1000,
        "seed": data_seed + 10,
    })
    s = t.snapshot()
    return s.train.accuracy - s.dev.accuracy, s.dev.data_cost - s.train.data_cost, s.train.accuracy


@pytest.mark.parametrize("data_seed", [0, 5])
def test_l2_and_dropout_narrow_the_train_dev_gap(data_seed):
    """An unregularized big net memorizes noisy moons; L2 and dropout both shrink the gap."""
    acc_gap, cost_gap, train_acc = gaps({}, data_seed)
    assert train_acc >= 0.98 and acc_gap >= 0.15  # it overfits
    for reg in ({"l2": 1.0}, {"keep_prob": 0.5}):
        reg_acc_gap, reg_cost_gap, _ = gaps(reg, data_seed)
        assert reg_acc_gap < acc_gap - 0.04, reg
        assert reg_cost_gap < cost_gap / 2, reg
