"""Every lesson claims only what its own preset shows (server/presets.py).

Each test runs a lesson's shipped preset headless, through the same Trainer the server uses, on
three (data seed, init seed) pairs (the shipped pair first) and asserts in numbers what the
lesson's text says. Runs are about as long as ~20 s of play at the page's default speed (10
iterations a frame at 30 frames/s: 6,000 iterations), or shorter where the claim is about the start.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from engine.config import load_config
from engine.trainer import Trainer
from server.presets import PRESETS

SEEDS = [(0, 1), (1, 2), (2, 3)]  # (data.seed, seed): the shipped pair first
LN2 = math.log(2.0)


def preset(lesson_id: str, **changes) -> dict:
    """The lesson's config with top-level or dotted-path changes ("optimizer.name": "adam")."""
    config = next(p for p in PRESETS if p["id"] == lesson_id)["config"]
    config = {k: (dict(v) if isinstance(v, dict) else v) for k, v in config.items()}
    for path, value in changes.items():
        *parents, key = path.split(".")
        node = config
        for p in parents:
            node = node[p]
        node[key] = value
    return config


def trained(config: dict, iterations: int, seeds) -> Trainer:
    data_seed, seed = seeds
    config = {**config, "seed": seed, "data": {**config["data"], "seed": data_seed}}
    t = Trainer(load_config(config))
    t.step(iterations, report=False)
    assert t.status in ("running", "done"), t.status  # no lesson run diverges
    return t


def iterations_to(t: Trainer, cost: float):
    """Iterations until the epoch-end full train cost first fell below `cost` (None: never)."""
    for epoch, J in enumerate(t.history["train_cost"], start=1):
        if J is not None and J < cost:
            return epoch * t.batch_count
    return None


def rise(values) -> float:
    """Total upward movement of a curve, Σ max(0, J[k+1] − J[k]): 0 for a curve that only falls."""
    return float(np.maximum(np.diff(np.asarray(values, dtype=float)), 0.0).sum())


def zigzag(t: Trainer, steps: int = 100) -> float:
    """Mean of 1 − cos(Δθ_t, Δθ_{t−1}) over successive updates: 0 straight on, 2 reversing."""
    theta, prev, values = t.network.theta.copy(), None, []
    for _ in range(steps):
        t.step(1, report=False)
        step = t.network.theta - theta
        theta = t.network.theta.copy()
        if prev is not None:
            values.append(1.0 - step @ prev / (np.linalg.norm(step) * np.linalg.norm(prev)))
        prev = step
    return float(np.mean(values))


def test_every_lesson_has_a_claims_test():
    tested = {"init-zeros-vs-he", "activations", "vanishing-gradients", "overfitting-l2", "dropout",
              "batch-vs-minibatch", "input-normalization", "momentum-rmsprop-adam",
              "learning-rate-decay", "batch-norm", "softmax", "gradient-checking"}
    assert {p["id"] for p in PRESETS} == tested


# ----------------------------------------------------------------------------- initialization
@pytest.mark.parametrize("seeds", SEEDS)
def test_zero_init_units_learn_in_lockstep_and_he_learns_the_circle(seeds):
    t = trained(preset("init-zeros-vs-he"), 6000, seeds)
    p = t.network.get_parameters()
    for l in (1, 2):  # every unit of a hidden layer has the same weights, to rounding
        np.testing.assert_allclose(p[f"W{l}"], np.broadcast_to(p[f"W{l}"][:1], p[f"W{l}"].shape), rtol=0, atol=1e-12)
        np.testing.assert_allclose(p[f"b{l}"], np.broadcast_to(p[f"b{l}"][:1], p[f"b{l}"].shape), rtol=0, atol=1e-12)
    assert np.abs(p["W1"]).max() > 1e-2  # ... yet they moved: lockstep, not frozen
    X = t.sets["train"][0]
    for A in t.network.hidden_outputs(X)[:-1]:  # the thumbnails: identical units
        np.testing.assert_allclose(A, np.broadcast_to(A[:1], A.shape), rtol=0, atol=1e-12)
    assert t.snapshot().train.accuracy < 0.75
    he = trained(preset("init-zeros-vs-he", **{"network.init": "he"}), 1000, seeds)
    assert he.snapshot().train.accuracy >= 0.95


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_zero_init_with_tanh_or_relu_freezes_the_hidden_layers(activation):
    t = trained(preset("init-zeros-vs-he", **{"network.activation": activation}), 200, SEEDS[0])
    p = t.network.get_parameters()
    for l in (1, 2):
        assert not p[f"W{l}"].any() and not p[f"b{l}"].any()  # g(0) = 0: not one hidden value moved
        assert not t.network.dparams[f"dW{l}"].any()


# ----------------------------------------------------------------------------- activations
@pytest.mark.parametrize("seeds", SEEDS)
def test_tanh_learns_the_flower_several_times_faster_than_sigmoid_and_beats_relu_here(seeds):
    sigmoid = trained(preset("activations"), 3000, seeds)
    tanh = trained(preset("activations", **{"network.activation": "tanh"}), 6000, seeds)
    relu = trained(preset("activations", **{"network.activation": "relu", "network.init": "he"}), 6000, seeds)
    target = 0.25
    assert iterations_to(tanh, target) is not None and iterations_to(sigmoid, target) is not None
    assert iterations_to(sigmoid, target) >= 3 * iterations_to(tanh, target)
    assert relu.snapshot().train.cost > tanh.snapshot().train.cost


# ----------------------------------------------------------------------------- vanishing gradients
@pytest.mark.parametrize("seeds", SEEDS)
def test_deep_sigmoid_gradients_vanish_and_relu_with_he_learns(seeds):
    sigmoid = trained(preset("vanishing-gradients"), 100, seeds)
    g = sigmoid.snapshot().grad_norms
    assert g[0] < 1e-3 * g[-1]  # ‖dW[1]‖ thousands of times below ‖dW[L]‖
    sigmoid.step(5900, report=False)
    snap = sigmoid.snapshot()
    assert snap.grad_norms[0] < 2e-3 * snap.grad_norms[-1]  # still, after ~20 s of play
    assert abs(snap.train.cost - LN2) < 0.01  # stuck at ln 2
    relu_config = preset("vanishing-gradients", **{"network.activation": "relu", "network.init": "he"})
    relu = trained(relu_config, 100, seeds)
    g = relu.snapshot().grad_norms
    assert g[0] > 0.1 * g[-1]  # the first layer's gradient is of the output layer's size
    relu.step(5900, report=False)
    assert relu.snapshot().train.accuracy >= 0.9


# ----------------------------------------------------------------------------- regularization
def _fit(config, seeds):
    t = trained(config, 6000, seeds)
    s = t.snapshot()
    dev_costs = [c for c in t.history["dev_cost"]]
    return s, min(dev_costs)


@pytest.mark.parametrize("seeds", SEEDS)
def test_overfitting_then_l2_keeps_the_dev_cost_low_and_lifts_dev_accuracy(seeds):
    plain, plain_best_dev = _fit(preset("overfitting-l2"), seeds)
    assert plain.train.accuracy >= 0.9
    assert plain.dev.data_cost >= 2.5 * plain_best_dev  # the dev cost turns up: high variance
    l2, _ = _fit(preset("overfitting-l2", **{"regularization.l2": 1.0}), seeds)
    assert l2.dev.data_cost < 0.5 * plain.dev.data_cost
    assert l2.dev.accuracy > plain.dev.accuracy
    assert 0.83 <= l2.train.accuracy <= 0.93  # "near 90 %": no collapse
    assert l2.train.accuracy - l2.dev.accuracy < plain.train.accuracy - plain.dev.accuracy
    huge, _ = _fit(preset("overfitting-l2", **{"regularization.l2": 30.0}), seeds)
    assert huge.train.accuracy < l2.train.accuracy - 0.02  # underfits


@pytest.mark.parametrize("seeds", SEEDS)
def test_dropout_stops_memorizing_keeps_the_dev_cost_low_and_lifts_dev_accuracy(seeds):
    dropout, _ = _fit(preset("dropout"), seeds)
    plain, _ = _fit(preset("dropout", **{"regularization.keep_prob": 1.0}), seeds)
    assert dropout.train.accuracy < plain.train.accuracy and dropout.train.accuracy < 0.95
    assert dropout.dev.data_cost < 0.6 * plain.dev.data_cost
    assert dropout.dev.accuracy > plain.dev.accuracy


# ----------------------------------------------------------------------------- mini-batches
def _minibatch_noise(config, seeds, iterations=400):
    """Standard deviation of successive differences of the per-iteration mini-batch cost."""
    t = trained(config, 200, seeds)
    costs = []
    for _ in range(iterations):
        t.step(1, report=False)
        costs.append(t.minibatch_cost)
    return float(np.std(np.diff(costs))), rise(costs)


@pytest.mark.parametrize("seeds", SEEDS)
def test_batch_sizes_noise_and_epochs(seeds):
    mini = trained(preset("batch-vs-minibatch"), 3000, seeds)
    batch = trained(preset("batch-vs-minibatch", batch_size=512), 3000, seeds)
    assert mini.batch_count == 40 and batch.batch_count == 1
    epochs_mini = iterations_to(mini, 0.15) / mini.batch_count
    epochs_batch = iterations_to(batch, 0.15) / batch.batch_count
    assert 20 <= epochs_batch / epochs_mini <= 80  # "about 40 times more epochs"
    assert mini.history["train_cost"][-1] < mini.history["train_cost"][0]  # trends down
    noise_8, _ = _minibatch_noise(preset("batch-vs-minibatch"), seeds)
    noise_1, _ = _minibatch_noise(preset("batch-vs-minibatch", batch_size=1), seeds)
    noise_batch, rise_batch = _minibatch_noise(preset("batch-vs-minibatch", batch_size=512), seeds)
    assert rise_batch == 0.0  # batch GD: a smooth curve, the cost falls at every step
    assert noise_1 > 2 * noise_8 > 4 * noise_batch


# ----------------------------------------------------------------------------- normalization
@pytest.mark.parametrize("seeds", SEEDS)
def test_normalized_inputs_converge_where_raw_stretched_inputs_stall(seeds):
    raw = trained(preset("input-normalization"), 6000, seeds)
    normalized = trained(preset("input-normalization", normalize=True), 1000, seeds)
    assert iterations_to(normalized, 0.15) <= 1000
    assert iterations_to(raw, 0.15) is None  # not in 6 times as many iterations (~20 s of play)
    late = raw.history["train_cost"][100:]
    assert min(late) > 0.2 and 0.25 <= np.median(late) <= 0.45  # "stalls around 0.3-0.4"
    X = raw.sets["train"][0]
    assert X[0].std() > 50 * X[1].std()  # the stretched picture of the course


# ----------------------------------------------------------------------------- optimizers
@pytest.mark.parametrize("seeds", SEEDS)
def test_momentum_smooths_gd_and_rmsprop_adam_converge_fast_at_a_small_alpha(seeds):
    gd = trained(preset("momentum-rmsprop-adam"), 3000, seeds)
    momentum = trained(preset("momentum-rmsprop-adam", **{"optimizer.name": "momentum"}), 3000, seeds)
    assert rise(momentum.history["train_cost"]) < 0.5 * rise(gd.history["train_cost"])
    gd_zig = zigzag(trained(preset("momentum-rmsprop-adam"), 100, seeds))
    momentum_zig = zigzag(trained(preset("momentum-rmsprop-adam", **{"optimizer.name": "momentum"}), 100, seeds))
    assert gd_zig > 1.0  # successive GD steps point in nearly opposite directions
    assert momentum_zig < 0.4 * gd_zig
    small = {"optimizer.learning_rate": 0.01}
    rmsprop = trained(preset("momentum-rmsprop-adam", **{"optimizer.name": "rmsprop"}, **small), 3000, seeds)
    adam = trained(preset("momentum-rmsprop-adam", **{"optimizer.name": "adam"}, **small), 3000, seeds)
    for t in (rmsprop, adam):
        assert iterations_to(t, 0.1) <= 700  # "within a few hundred iterations"
    assert rise(adam.history["train_cost"]) < min(rise(rmsprop.history["train_cost"]),
                                                  rise(momentum.history["train_cost"]))


# ----------------------------------------------------------------------------- decay
@pytest.mark.parametrize("seeds", SEEDS)
def test_decay_settles_the_noisy_path(seeds):
    decayed = trained(preset("learning-rate-decay"), 6000, seeds)
    constant = trained(preset("learning-rate-decay", **{"schedule.name": "constant"}), 6000, seeds)
    assert decayed.learning_rate == pytest.approx(0.5 / (1 + decayed.epoch // 100))
    assert decayed.epoch >= 300
    wobble = lambda t: float(np.std(t.history["train_cost"][-100:]))
    assert wobble(decayed) < wobble(constant) / 2.5


# ----------------------------------------------------------------------------- batch norm
@pytest.mark.parametrize("seeds", SEEDS)
def test_batch_norm_trains_the_deep_net_three_times_faster_or_more(seeds):
    bn = trained(preset("batch-norm"), 1000, seeds)
    plain = trained(preset("batch-norm", **{"network.batch_norm": False}), 3000, seeds)
    assert iterations_to(bn, 0.3) <= 400
    assert iterations_to(plain, 0.3) is None or iterations_to(plain, 0.3) >= 3 * iterations_to(bn, 0.3)


# ----------------------------------------------------------------------------- softmax
@pytest.mark.parametrize("classes", [3, 6])
def test_softmax_has_one_output_unit_per_class_and_learns_the_spirals(classes):
    t = trained(preset("softmax", **{"data.classes": classes}), 3000, SEEDS[0])
    assert t.layer_dims[-1] == classes and t.output == "softmax"
    assert t.snapshot().train.accuracy >= 0.9


# ----------------------------------------------------------------------------- gradient checking
def test_gradient_check_is_great_includes_l2_and_refuses_dropout():
    from server.sessions import Session

    config = load_config(preset("gradient-checking"))
    session = Session(config)
    session.trainer.step(200, report=False)
    reply = session.gradcheck()
    assert reply["difference"] < 1e-7 and reply["verdict"] == "great"
    assert config.regularization.l2 > 0  # the check ran with the L2 term in J
    with pytest.raises(ValueError, match="dropout"):
        Session(load_config(preset("gradient-checking", **{"regularization.keep_prob": 0.5}))).gradcheck()
