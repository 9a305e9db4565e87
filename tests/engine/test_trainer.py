"""Trainer: mini-batches, epochs, schedules, live changes, early stopping, divergence, reporting."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from pydantic import ValidationError

from engine.config import format_errors, load_config
from engine.network import Network
from engine.optimizers import make_optimizer
from engine.trainer import Trainer


def make_config(**overrides):
    """A small config: 10 training points (circle, everything in train) unless overridden."""
    base = {
        "data": {"name": "circle", "n": 10, "noise": 0.1, "seed": 0, "split": [1.0, 0.0, 0.0]},
        "network": {"hidden": [3], "activation": "tanh"},
        "optimizer": {"name": "gd", "learning_rate": 0.1},
        "batch_size": 3,
        "epochs": 5,
        "seed": 7,
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return load_config(base)


def record_forward(trainer):
    """Spy on the training-mode forward: returns the list of copied mini-batches X{t} it saw."""
    seen = []
    original = trainer.network.forward

    def forward(X, train=False, **kw):
        if train:
            seen.append(np.array(X, copy=True))
        return original(X, train=train, **kw)

    trainer.network.forward = forward
    return seen


def column_set(X):
    return sorted(map(tuple, np.round(X.T, 12)))


# ----------------------------------------------------------------------------- mini-batches
def test_minibatch_counts_and_last_smaller_batch():
    t = Trainer(make_config())
    assert t.m == 10 and t.batch_count == 4  # ⌈10 / 3⌉
    seen = record_forward(t)
    snap = t.step(4)
    assert (snap.iteration, snap.epoch) == (4, 1)
    assert [X.shape[1] for X in seen] == [3, 3, 3, 1]
    t.step(3)
    assert (t.iteration, t.epoch) == (7, 1)
    t.step(1)
    assert (t.iteration, t.epoch) == (8, 2)
    assert [X.shape[1] for X in seen] == [3, 3, 3, 1] * 2


def test_each_epoch_is_a_fresh_permutation_of_the_training_set():
    t = Trainer(make_config(batch_size=2))
    seen = record_forward(t)
    t.step(15)  # 3 epochs of 5 batches
    X_train = np.asarray(t.sets["train"][0])
    epochs = [np.concatenate(seen[5 * e:5 * e + 5], axis=1) for e in range(3)]
    for E in epochs:  # every example exactly once per epoch
        assert column_set(E) == column_set(X_train)
    assert not np.array_equal(epochs[0], epochs[1])
    assert not np.array_equal(epochs[1], epochs[2])


def test_batch_gradient_descent_is_reproducible_bit_for_bit():
    cfg = make_config(batch_size=1000, optimizer={"name": "adam", "learning_rate": 0.05},
                      regularization={"keep_prob": 1.0}, epochs=30)
    runs = []
    for _ in range(2):
        t = Trainer(cfg)
        seen = record_forward(t)
        t.run()
        X_train = np.asarray(t.sets["train"][0])
        assert len(seen) == 30 and all(np.array_equal(X, X_train) for X in seen)  # unshuffled
        runs.append((t.network.theta.copy(), t.history["train_cost"]))
    assert np.array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]


def test_training_stops_at_config_epochs():
    t = Trainer(make_config(epochs=2))
    snap = t.step(100)
    assert (snap.iteration, snap.epoch, snap.status) == (8, 2, "done")
    assert t.step(5).iteration == 8  # a finished run does not train further
    assert len(t.history["train_cost"]) == 2


def test_zero_epochs_only_evaluates():
    t = Trainer(make_config(epochs=0))
    theta = t.network.theta.copy()
    snap = t.run()
    assert snap.status == "done" and snap.iteration == 0
    assert np.array_equal(theta, t.network.theta)


@pytest.mark.parametrize("overrides", [
    {"batch_size": 1000},  # the train cost is taken from the next iteration's forward
    {"batch_size": 1000, "regularization": {"l2": 0.5}},
    {"batch_size": 1000, "network": {"hidden": [3], "batch_norm": True}},  # evaluated in test mode
    {"batch_size": 3},
])
def test_history_holds_full_set_test_mode_costs_at_each_epoch_end(overrides):
    cfg = make_config(**overrides, epochs=6)
    t = Trainer(cfg)
    t.run()
    ref = Trainer(cfg)
    X, Y = ref.sets["train"]
    expected = []
    for _ in range(6):
        ref._train(ref.batch_count, until_epoch_end=True)
        data, reg = ref.network.cost(ref.network.predict_proba(X), Y, ref.l2)
        expected.append(data + reg)
    assert t.history["train_cost"] == pytest.approx(expected, rel=1e-12)
    assert len(t.history["train_accuracy"]) == 6 and None not in t.history["train_accuracy"]


# ----------------------------------------------------------------------------- learning rate
def test_schedule_is_applied_after_each_epoch():
    # inverse_time: α = α₀ / (1 + 1·epoch) -> 0.1, 0.05, 0.0333...
    t = Trainer(make_config(schedule={"name": "inverse_time", "decay_rate": 1.0}))
    used = []
    original = t.optimizer.update
    t.optimizer.update = lambda theta, grads, lr: (used.append(lr), original(theta, grads, lr))
    t.step(12)
    assert used[:4] == [0.1] * 4
    assert used[4:8] == [0.05] * 4
    assert used[8:] == pytest.approx([0.1 / 3] * 4, rel=1e-15)
    assert t.learning_rate == pytest.approx(0.025)


# ----------------------------------------------------------------------------- live changes
def manual_run(cfg, phases):
    """Reference: the same network/optimizer driven by hand on the full batch (no shuffling).
    phases: list of (iterations, lr, l2, optimizer.configure kwargs)."""
    t = Trainer(cfg)  # only for its prepared data and layer sizes
    X, Y = t.sets["train"]
    net = Network(t.layer_dims, activation="tanh", output="sigmoid", init="he", seed=cfg.seed)
    opt = make_optimizer(cfg.optimizer, net.theta.size)
    for iterations, lr, l2, hyper in phases:
        if hyper:
            opt.configure(**hyper)
        for _ in range(iterations):
            net.loss_and_grads(X, Y, l2=l2)
            opt.update(net.theta, net.grads, lr)
    return net.theta


def test_live_set_keeps_weights_and_optimizer_state():
    cfg = make_config(batch_size=1000, optimizer={"name": "adam", "learning_rate": 0.01}, epochs=100)
    t = Trainer(cfg)
    t.step(5)
    t.set(learning_rate=0.05, beta1=0.8, l2=0.3)
    t.step(5)
    expected = manual_run(cfg, [(5, 0.01, 0.0, {}), (5, 0.05, 0.3, {"beta1": 0.8})])
    np.testing.assert_allclose(t.network.theta, expected, rtol=1e-12, atol=1e-15)
    # the change had an effect (a run without it ends elsewhere)
    unchanged = manual_run(cfg, [(10, 0.01, 0.0, {})])
    assert np.max(np.abs(unchanged - expected)) > 1e-4
    assert t.optimizer.state["t"] == 10 and t.optimizer.beta1 == 0.8
    assert t.config.optimizer.learning_rate == 0.05 and t.config.regularization.l2 == 0.3


def test_live_set_of_schedule_and_keep_prob():
    t = Trainer(make_config(network={"hidden": [3, 2]}))
    t.step(4)
    t.set(schedule={"name": "exponential", "base": 0.5}, keep_prob=[0.5, 1.0])
    # switched on at epoch 1: it counts from there, α = 0.5^0 · 0.1 now, 0.5^1 · 0.1 one epoch on
    assert t.schedule_start_epoch == 1 and t.learning_rate == 0.1
    t.step(4)
    assert t.learning_rate == pytest.approx(0.05)
    assert t.keep_probs == [0.5, 1.0]
    t.set(keep_prob=1.0)
    assert t.keep_probs is None


@pytest.mark.parametrize("change, path", [
    ({"learning_rate": -1.0}, "optimizer.learning_rate"),
    ({"beta2": 1.0}, "optimizer.beta2"),
    ({"keep_prob": [0.5, 0.5]}, "keep_prob"),
    ({"schedule": {"name": "cosine"}}, "schedule.name"),
    ({"momentum": 0.9}, "momentum"),
])
def test_invalid_live_change_names_the_field_and_changes_nothing(change, path):
    t = Trainer(make_config())
    before = t.config
    with pytest.raises(ValidationError) as err:
        t.set(**change)
    assert any(path in line for line in format_errors(err.value))
    assert t.config is before and t.learning_rate == 0.1


# ----------------------------------------------------------------------------- early stopping
def test_early_stopping_restores_the_best_parameters():
    cfg = load_config({
        "data": {"name": "moons", "n": 200, "noise": 0.4, "seed": 0, "split": [0.5, 0.5, 0.0]},
        "network": {"hidden": [64, 64]}, "optimizer": {"learning_rate": 0.01},
        "batch_size": 1000, "epochs": 2000, "seed": 10,
        "early_stopping": {"patience": 20},
    })
    t = Trainer(cfg)
    snap = t.run()
    dev_history = t.history["dev_cost"]
    assert snap.status == "stopped_early"
    assert t.epoch == t.best_epoch + 20 < 2000
    assert dev_history[t.best_epoch - 1] == pytest.approx(min(dev_history), rel=1e-12)
    assert snap.dev.cost == pytest.approx(min(dev_history), rel=1e-12)  # best θ restored
    assert dev_history[-1] > min(dev_history) + 1e-3


def test_early_stopping_needs_a_dev_set():
    with pytest.raises(ValueError, match="dev set"):
        Trainer(make_config(early_stopping={"patience": 3}))


# ----------------------------------------------------------------------------- divergence
def diverging_config():
    return load_config({
        "data": {"name": "reg_plane", "n": 200, "noise": 0.1},
        "network": {"hidden": [8, 8]}, "optimizer": {"name": "gd", "learning_rate": 10.0},
        "batch_size": 32, "epochs": 200,
    })


def test_divergence_stops_with_finite_parameters():
    t = Trainer(diverging_config())
    snap = t.run()
    assert snap.status == "diverged"
    assert snap.diverged_at is not None and snap.diverged_at == t.iteration
    assert snap.restored_iteration < snap.diverged_at
    assert np.all(np.isfinite(t.network.theta))
    assert all(np.all(np.isfinite(v)) for v in t.network.get_parameters().values())
    json.dumps(snap.to_dict(), allow_nan=False)
    json.dumps(t.result(), allow_nan=False)
    assert t.step(10).iteration == snap.diverged_at  # no more training


def test_divergence_in_batch_mode_keeps_the_previous_iteration():
    cfg = diverging_config().model_copy(update={"batch_size": 1000})
    t = Trainer(cfg)
    thetas = []
    while t.status in ("ready", "running"):
        thetas.append(t.network.theta.copy())
        t.step(1)
    assert t.status == "diverged"
    assert t.restored_iteration == t.diverged_at - 1
    assert np.array_equal(t.network.theta, thetas[-1])


# ----------------------------------------------------------------------------- reporting
def test_snapshot_costs_and_accuracy_by_hand():
    # logistic regression with W = 0, b = 0: ŷ = 0.5 everywhere, J = log 2, nothing is > 0.5
    t = Trainer(make_config(network={"hidden": []}, regularization={"l2": 2.0}))
    t.network.theta[...] = 0.0
    snap = t.snapshot()
    Y = np.asarray(t.sets["train"][1])
    assert snap.train.data_cost == pytest.approx(math.log(2))
    assert snap.train.reg_cost == 0.0
    assert snap.train.accuracy == pytest.approx(np.mean(Y == 0))
    t.network.params["W1"][...] = [[1.0, -2.0]]  # L2: (λ/2m)‖W‖² = (2/20)·5
    assert t.snapshot().train.reg_cost == pytest.approx(0.5)


@pytest.mark.parametrize("overrides", [
    {},
    {"network": {"hidden": [6, 4], "batch_norm": True}},
    {"data": {"name": "multi_blobs", "classes": 3}},
])
def test_snapshot_metrics_of_the_joined_pass_equal_each_set_on_its_own(overrides):
    """One forward over [train | dev | test] gives every set the same metrics as its own pass,
    costs included where the output saturates (they come from Z[L], not from a clipped ŷ)."""
    base = {"data": {"n": 60, "split": [0.5, 0.3, 0.2]}, "batch_size": 8}
    for key, value in overrides.items():
        base[key] = {**base.get(key, {}), **value}
    t = Trainer(make_config(**base))
    t.step(12)
    t.network.theta[: t.network.n_weights] *= 40.0  # saturated outputs: ŷ rounds to 0 or 1
    snap = t.snapshot()
    for name in ("train", "dev", "test"):
        alone = t._metrics(name)
        joined = getattr(snap, name)
        assert joined.cost == pytest.approx(alone.cost, rel=1e-12)
        assert joined.data_cost == pytest.approx(alone.data_cost, rel=1e-12)
        assert joined.accuracy == alone.accuracy


def test_snapshot_of_an_empty_set_is_none():
    snap = Trainer(make_config(data={"split": [0.8, 0.2, 0.0]})).snapshot()
    assert snap.test is None and snap.dev is not None


def test_snapshot_is_test_mode_and_json_safe():
    t = Trainer(make_config(network={"hidden": [8, 4]}, regularization={"keep_prob": 0.5},
                            data={"split": [0.6, 0.2, 0.2], "n": 50}))
    a = t.step(7)
    b = t.snapshot()
    assert a.train == b.train and a.dev == b.dev  # no dropout randomness in full-set costs
    d = json.loads(json.dumps(a.to_dict(), allow_nan=False))
    assert set(d) >= {"iteration", "epoch", "status", "learning_rate", "minibatch_cost", "train", "dev",
                      "test", "grad_norms", "weight_norms", "diverged_at", "diagnosis"}
    assert len(d["grad_norms"]) == len(d["weight_norms"]) == 3
    assert d["diagnosis"]["state"] == "learning" and d["diagnosis"]["verdict"] is None  # epoch 0: no verdict yet
    assert isinstance(d["minibatch_cost"], float)


def test_multiclass_and_regression_reporting():
    t = Trainer(make_config(data={"name": "multi_blobs", "n": 60, "classes": 4, "split": [0.8, 0.2, 0.0]}))
    snap = t.step(3)
    X, Y = t.sets["train"]
    labels = np.argmax(t.network.predict_proba(X), axis=0)
    assert snap.train.accuracy == pytest.approx(np.mean(labels == np.argmax(Y, axis=0)))
    xs, ys, values = t.grid(12)
    assert values.shape == (12, 12) and set(np.unique(values)) <= {0, 1, 2, 3}
    r = Trainer(make_config(data={"name": "reg_gauss", "n": 40, "split": [0.8, 0.2, 0.0]})).step(2)
    assert r.train.accuracy is None and r.dev.accuracy is None and r.diagnosis is None


def test_grid_is_in_raw_input_space():
    # no normalization, logistic regression with W = [1, 0], b = 0: P(y=1 | x) = σ(x1)
    t = Trainer(make_config(network={"hidden": []}, normalize=False))
    t.network.params["W1"][...] = [[1.0, 0.0]]
    t.network.params["b1"][...] = 0.0
    xs, ys, values = t.grid(5)
    assert xs[0] == -6.0 and xs[-1] == 6.0 and ys[0] == -6.0
    np.testing.assert_allclose(values, np.tile(1 / (1 + np.exp(-xs)), (5, 1)))
    # with normalization and features: the grid goes through prepared.transform
    t = Trainer(make_config(features=["x1", "x2", "x1x2"], network={"hidden": [3]}))
    xs, ys, values = t.grid(4)
    point = np.array([[xs[2]], [ys[1]]])  # row 1 is x2 = ys[1], column 2 is x1 = xs[2]
    expected = t.network.predict_proba(t.prepared.transform(point))[0, 0]
    assert values[1, 2] == pytest.approx(expected)


def test_grids_are_cached_and_neuron_grids_match_hidden_outputs():
    t = Trainer(make_config(network={"hidden": [3, 2]}))
    calls = []
    transform = t.prepared.transform
    t.prepared.transform = lambda X: (calls.append(1), transform(X))[1]
    t.grid(30), t.grid(30), t.neuron_grids(), t.neuron_grids()
    assert len(calls) == 2  # once per resolution
    grids = t.neuron_grids(20)
    assert [g.shape for g in grids] == [(3, 20, 20), (2, 20, 20)]
    xs = np.linspace(-6, 6, 20)
    point = t.prepared.transform(np.array([[xs[5]], [xs[11]]]))
    hidden = t.network.hidden_outputs(point)
    assert grids[0][:, 11, 5] == pytest.approx(hidden[0][:, 0])
    assert grids[1][:, 11, 5] == pytest.approx(hidden[1][:, 0])


def test_result_shape_with_batch_norm():
    t = Trainer(make_config(network={"hidden": [4], "batch_norm": True}, data={"split": [0.8, 0.2, 0.0], "n": 20}))
    t.run()
    r = json.loads(json.dumps(t.result(), allow_nan=False))
    assert r["status"] == "done" and r["epochs_run"] == 5
    assert set(r["parameters"]) == {"W1", "gamma1", "beta1", "running_mean1", "running_var1", "W2", "b2"}
    assert np.array(r["parameters"]["W1"]).shape == (4, 2)
    assert len(r["history"]["train_cost"]) == len(r["history"]["dev_cost"]) == 5
    assert r["test"] is None and set(r["dev"]) >= {"cost", "accuracy"}
    assert r["config"]["network"]["batch_norm"] is True


# ----------------------------------------------------------------------------- cheap reporting options
@pytest.mark.parametrize("overrides", [
    {"network": {"hidden": [4, 3]}, "regularization": {"keep_prob": 0.7}},  # shuffling + dropout masks
    {"batch_size": 1000},  # batch GD: the epoch-end train cost is filled from the next forward
])
def test_step_without_report_trains_exactly_the_same(overrides):
    reported, silent = Trainer(make_config(**overrides, epochs=50)), Trainer(make_config(**overrides, epochs=50))
    for n in (1, 3, 7, 2, 11):
        assert reported.step(n) is not None and silent.step(n, report=False) is None
    assert reported.run_epoch() is not None and silent.run_epoch(report=False) is None
    assert np.array_equal(reported.network.theta, silent.network.theta)
    assert (silent.iteration, silent.epoch, silent.minibatch_cost) == \
        (reported.iteration, reported.epoch, reported.minibatch_cost)
    for key, values in reported.history.items():  # None where a value is unknown (pytest.approx refuses None)
        got = silent.history[key]
        assert [v is None for v in got] == [v is None for v in values]
        assert [v for v in got if v is not None] == pytest.approx([v for v in values if v is not None], rel=1e-12)
    assert silent.snapshot().to_dict() == reported.snapshot().to_dict()


@pytest.mark.parametrize("overrides", [
    {"network": {"hidden": [6, 4], "activation": "tanh"}},
    {"network": {"hidden": [5], "batch_norm": True}},  # the copy needs the running statistics too
    {"data": {"name": "reg_gauss", "n": 40}, "network": {"hidden": [5]}},
])
def test_float32_grids_match_float64_within_1e_5(overrides):
    t = Trainer(make_config(**overrides, optimizer={"name": "adam", "learning_rate": 0.05}, epochs=100))
    for _ in range(2):  # the copy follows training: it is refreshed on every call
        t.step(40, report=False)
        xs, ys, exact = t.grid(40)
        xs32, ys32, fast = t.grid(40, dtype="float32")
        assert fast.dtype == np.float32 and exact.dtype == np.float64
        assert np.array_equal(xs, xs32) and np.array_equal(ys, ys32)
        np.testing.assert_allclose(fast, exact, rtol=1e-5, atol=1e-5)
        for a, b in zip(t.neuron_grids(10, dtype="float32"), t.neuron_grids(10), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert t.grid(40, dtype="float64")[2].dtype == np.float64


def test_multiclass_float32_grid_and_float64_grid_of_a_float32_run():
    t = Trainer(make_config(data={"name": "multi_blobs", "n": 60, "classes": 4}, network={"hidden": [6]}))
    t.step(30)
    assert np.mean(t.grid(30, dtype="float32")[2] == t.grid(30)[2]) > 0.99  # argmax: ties may flip
    t32 = Trainer(make_config(dtype="float32", network={"hidden": [4]}))
    t32.step(10)
    wide = t32.grid(20, dtype="float64")[2]
    assert wide.dtype == np.float64
    np.testing.assert_allclose(wide, t32.grid(20)[2], rtol=1e-5, atol=1e-6)


def test_grids_draw_boundary_and_thumbnails_in_one_pass():
    t = Trainer(make_config(network={"hidden": [3, 2]}))
    t.step(9)
    forwards = []
    hidden_outputs = t.network.hidden_outputs
    t.network.hidden_outputs = lambda X: (forwards.append(X.shape[1]), hidden_outputs(X))[1]
    boundary, neurons = t.grids(30, 7)
    assert forwards == [30 * 30 + 7 * 7]
    np.testing.assert_allclose(boundary, t.grid(30)[2], rtol=1e-12, atol=1e-15)
    for a, b in zip(neurons, t.neuron_grids(7), strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_float32_grid_falls_back_to_float64_beyond_float32_range():
    t = Trainer(make_config(network={"hidden": [3]}))
    t.network.params["W1"][0, 0] = 1e39  # finite in float64, inf in float32
    values = t.grid(10, dtype="float32")[2]
    assert values.dtype == np.float64 and np.array_equal(values, t.grid(10)[2])
    with pytest.raises(ValueError, match="dtype"):
        t.grid(10, dtype="float16")


def test_continue_from_a_saved_run_carries_on_its_count_and_schedule():
    saved = Trainer(make_config(schedule={"name": "inverse_time", "decay_rate": 1.0}))
    saved.step(8)  # 4 mini-batches an epoch (m = 10, batch 3): epoch 2, iteration 8
    t = Trainer(make_config(schedule={"name": "inverse_time", "decay_rate": 1.0}),
                init_parameters=saved.network.get_parameters())
    t.continue_from(saved.iteration, saved.epoch)
    assert (t.iteration, t.epoch, t.status) == (8, 2, "ready")
    assert t.learning_rate == pytest.approx(0.1 / (1 + 2))   # α₀ / (1 + rate·epoch) at epoch 2
    t.step(4)
    assert (t.iteration, t.epoch) == (12, 3) and t.learning_rate == pytest.approx(0.1 / 4)
    ended = Trainer(make_config(epochs=5))
    ended.continue_from(20, 5)                               # saved after its 5 epochs
    assert ended.status == "done"
    with pytest.raises(ValueError, match="≥ 0"):
        ended.continue_from(-1, 0)
