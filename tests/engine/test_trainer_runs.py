"""Trainer runs that a lesson shows: a decay schedule switched on mid-run, why early stopping
stopped and what continuing does, and a divergence whose costs stay visible up to the blow-up."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from engine.config import load_config
from engine.epochs import early_stopping_message
from engine.trainer import Trainer


def make_config(**overrides):
    """10 training points (circle), batch 3: 4 iterations per epoch, α₀ = 0.1."""
    base = {"data": {"name": "circle", "n": 10, "noise": 0.1, "seed": 0, "split": [1.0, 0.0, 0.0]},
            "network": {"hidden": [3], "activation": "tanh"}, "optimizer": {"name": "gd", "learning_rate": 0.1},
            "batch_size": 3, "epochs": 50, "seed": 7}
    base.update(overrides)
    return load_config(base)


def spy_rates(t):
    used = []
    original = t.optimizer.update
    t.optimizer.update = lambda theta, grads, lr: (used.append(lr), original(theta, grads, lr))
    return used


# ----------------------------------------------------------------------------- schedule switched on mid-run
def test_a_schedule_switched_on_mid_run_counts_epochs_from_the_switch():
    t = Trainer(make_config())
    t.step(8)  # 2 epochs at the constant α₀ = 0.1
    t.set(schedule={"name": "inverse_time", "decay_rate": 1.0})
    # α = 0.1/(1 + 1·(epoch - 2)): not 0.1/(1 + 2) = 0.0333 right away
    assert t.schedule_start_epoch == 2 and t.snapshot().schedule_start_epoch == 2
    used = spy_rates(t)
    t.step(12)
    assert used == pytest.approx([0.1] * 4 + [0.05] * 4 + [0.1 / 3] * 4, rel=1e-15)
    assert t.learning_rate == pytest.approx(0.025, rel=1e-15)  # epoch 5: 0.1/(1 + 3)
    # re-sending the same schedule changes nothing; changing a value restarts the count
    t.set(schedule={"name": "inverse_time", "decay_rate": 1.0})
    assert t.schedule_start_epoch == 2
    t.set(schedule={"name": "inverse_time", "decay_rate": 0.5})
    assert t.schedule_start_epoch == 5 and t.learning_rate == 0.1
    t.step(4)
    assert t.learning_rate == pytest.approx(0.1 / 1.5, rel=1e-15)
    # switching it off: constant α₀ again
    t.set(schedule={"name": "constant"})
    assert t.learning_rate == 0.1 and t.snapshot().to_dict()["schedule_start_epoch"] == 6


def test_a_schedule_switched_on_mid_epoch_starts_at_alpha0_and_decays_at_the_next_epoch_end():
    t = Trainer(make_config())
    t.step(5)  # epoch 1, one mini-batch into it
    t.set(schedule={"name": "exponential", "base": 0.5}, learning_rate=0.2)
    used = spy_rates(t)
    t.step(7)  # the 3 left of epoch 1 at 0.2, then epoch 2 at 0.5¹·0.2
    assert used == pytest.approx([0.2] * 3 + [0.1] * 4, rel=1e-15)


def test_a_schedule_of_the_initial_config_starts_at_epoch_0():
    t = Trainer(make_config(schedule={"name": "exponential", "base": 0.5}))
    t.step(8)
    assert t.schedule_start_epoch == 0 and t.learning_rate == pytest.approx(0.025, rel=1e-15)


# ----------------------------------------------------------------------------- early stopping
def early_config(**overrides):
    base = {"data": {"name": "moons", "n": 200, "noise": 0.4, "seed": 0, "split": [0.5, 0.5, 0.0]},
            "network": {"hidden": [64, 64]}, "optimizer": {"learning_rate": 0.01},
            "batch_size": 1000, "epochs": 2000, "seed": 10, "early_stopping": {"patience": 20}}
    base.update(overrides)
    return load_config(base)


def test_early_stopping_says_why_it_stopped_and_which_weights_it_kept():
    t = Trainer(early_config())
    snap = t.run()
    dev = t.history["dev_cost"]
    best = int(np.argmin(dev)) + 1
    assert snap.status == "stopped_early" and snap.epoch == best + 20
    info = snap.to_dict()["early_stopping"]
    assert info == {"patience": 20, "min_delta": 0.0, "best_epoch": best, "best_dev_cost": min(dev),
                    "epochs_without_improvement": 20, "stopped_epoch": best + 20}
    assert snap.dev.cost == pytest.approx(min(dev), rel=1e-12)  # the weights of best_epoch
    assert early_stopping_message(info) == (
        f"Stopped early at epoch {best + 20}: the dev cost has not improved for 20 epochs since its best, "
        f"{min(dev):.3g} at epoch {best}; the weights of epoch {best} are kept.")
    assert snap.continue_epochs == 2000 - (best + 20) and snap.epochs == 2000
    result = json.loads(json.dumps(t.result(), allow_nan=False))
    assert result["early_stopping"] == info and result["early_stopping_message"] == early_stopping_message(info)


def test_a_stopped_run_trains_nothing_until_extended_then_goes_on_from_the_kept_weights():
    t = Trainer(early_config())
    t.run()
    stopped, iteration, theta = t.epoch, t.iteration, t.network.theta.copy()
    assert t.step(5).iteration == iteration and np.array_equal(t.network.theta, theta)  # nothing trains
    assert t.run().epoch == stopped
    t.extend(5)  # 5 more epochs; patience restarts, so it cannot stop early within them
    snap = t.snapshot()
    assert (snap.status, snap.epochs, snap.continue_epochs) == ("running", stopped + 5, None)
    assert snap.early_stopping["epochs_without_improvement"] == 0 and snap.early_stopping["stopped_epoch"] is None
    used = []
    forward = t.network.forward
    t.network.forward = lambda X, train=False, **kw: (used.append(np.array(t.network.theta)) if train else None,
                                                      forward(X, train=train, **kw))[1]
    snap = t.run()
    assert np.array_equal(used[0], theta)  # the first step starts from the kept weights
    assert (snap.status, snap.epoch, snap.iteration) == ("done", stopped + 5, iteration + 5)
    assert len(t.history["dev_cost"]) == stopped + 5


def test_a_done_run_continues_for_as_many_epochs_again():
    t = Trainer(make_config(epochs=3))
    t.run()
    assert t.status == "done" and t.continue_epochs == 3
    assert t.step(4).iteration == 12  # nothing trains
    t.extend()
    assert t.config.epochs == 6 and t.status == "running"
    assert t.run().epoch == 6 and t.status == "done"


def test_extend_refuses_a_diverged_run_and_nonsense():
    t = Trainer(make_config())
    assert t.continue_epochs is None  # still active
    with pytest.raises(ValueError, match="nothing to continue"):
        t.extend()
    with pytest.raises(ValueError, match="epochs"):
        t.extend(0)
    t.status = "diverged"
    with pytest.raises(ValueError, match="diverged"):
        t.extend(5)


# ----------------------------------------------------------------------------- divergence
def diverging_config(**overrides):
    base = {"data": {"name": "reg_plane", "n": 200, "noise": 0.1},
            "network": {"hidden": [8, 8]}, "optimizer": {"name": "gd", "learning_rate": 10.0},
            "batch_size": 32, "epochs": 200}
    base.update(overrides)
    return load_config(base)


@pytest.mark.parametrize("batch_size, learning_rate", [(32, 10.0), (1000, 10.0), (32, 3.0)])
def test_divergence_keeps_the_costs_up_to_the_last_finite_one(batch_size, learning_rate):
    t = Trainer(diverging_config(batch_size=batch_size, optimizer={"name": "gd", "learning_rate": learning_rate}))
    snap = t.run()
    assert snap.status == "diverged" and snap.minibatch_cost is None
    d = json.loads(json.dumps(snap.to_dict(), allow_nan=False))  # never NaN/inf
    assert d["last_finite_minibatch_cost"] > 1e100  # the blow-up is visible, not None
    assert 0 < d["last_finite_minibatch_iteration"] <= snap.diverged_at
    history = t.history["train_cost"]
    json.dumps(t.result(), allow_nan=False)
    assert len(history) == len(t.history["dev_cost"]) == snap.diverged_epoch  # one entry per epoch run
    finite = [c for c in history if c is not None]
    assert all(math.isfinite(c) for c in finite) and max(finite) > 1e100 * finite[0]  # it shows the rise
    assert history.index(max(finite)) >= len(history) - 2  # up to the last finite epoch


def test_the_cost_of_the_iteration_that_blew_up_is_kept_with_its_penalty():
    # linear regression with W = 1e153: the first update overflows θ·θ, while that iteration's
    # forward (W finite) still has a finite cost, J = data + (λ/2m)·‖W‖² with m = m_train = 160
    cfg = load_config({"data": {"name": "reg_plane", "n": 200, "noise": 0.1}, "network": {"hidden": []},
                       "optimizer": {"name": "gd", "learning_rate": 10.0}, "regularization": {"l2": 0.5},
                       "batch_size": 32, "epochs": 5})

    def trainer():
        t = Trainer(cfg)
        t.network.params["W1"][...] = 1e153
        return t

    unobserved, observed = trainer(), trainer()
    a = unobserved.step(3)  # iteration 1 is neither the last of the call nor of an epoch
    b = observed.step(1)    # iteration 1 computes its cost as usual
    assert a.diverged_at == b.diverged_at == 1 and a.status == "diverged"
    assert a.last_finite_minibatch_iteration == b.last_finite_minibatch_iteration == 1
    assert a.last_finite_minibatch_cost == pytest.approx(b.last_finite_minibatch_cost, rel=1e-12)
    penalty = 0.5 / (2 * 160) * 2 * 1e306
    assert b.last_finite_minibatch_cost > penalty and math.isfinite(b.last_finite_minibatch_cost)
    assert np.all(np.isfinite(unobserved.network.theta))


def test_a_healthy_run_reports_its_last_minibatch_cost_as_the_last_finite_one():
    t = Trainer(make_config())
    snap = t.step(6)
    assert snap.last_finite_minibatch_cost == snap.minibatch_cost and snap.last_finite_minibatch_iteration == 6
