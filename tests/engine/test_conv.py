"""Convolutional layers (engine/conv.py): hand-worked numbers from the course, shape arithmetic and
its errors, two-sided gradient checks of every layer type, and the Trainer / CLI on images."""
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from engine.config import format_errors, load_config
from engine.conv import ConvNet, conv_forward, out_size, plan_layers, pool_forward

ROOT = Path(__file__).resolve().parents[2]
CONV = {"type": "conv", "filters": 8, "size": 3, "stride": 1, "padding": "same", "activation": "relu"}
POOL = {"type": "pool", "mode": "max", "size": 2, "stride": 2}
FLAT = {"type": "flatten"}
DENSE = {"type": "dense", "units": 32, "activation": "relu"}
ISSUE_NET = {"layers": [CONV, POOL, FLAT, DENSE], "output": "softmax", "init": "he"}


# ------------------------------------------------------------------ the course's numbers

def test_vertical_edge_example():
    """The course's 6×6 image (10s left, 0s right) * the vertical-edge filter = 4×4 of 0, 30, 30, 0."""
    X = np.array([[10, 10, 10, 0, 0, 0]] * 6, dtype=float).reshape(1, 6, 6, 1)
    W = np.array([[1, 0, -1]] * 3, dtype=float).reshape(3, 3, 1, 1)
    Z, _ = conv_forward(np, X, W, None, 1, 0)
    assert Z.shape == (1, 4, 4, 1)
    np.testing.assert_array_equal(Z[0, :, :, 0], [[0, 30, 30, 0]] * 4)
    # the horizontal filter (its transpose) sees no horizontal edge in that image
    Zh, _ = conv_forward(np, X, W.transpose(1, 0, 2, 3).copy(), None, 1, 0)
    np.testing.assert_array_equal(Zh, 0)


def test_max_and_average_pooling_example():
    """The course's 4×4 max-pooling example, f = 2, s = 2: [[9, 2], [6, 3]]."""
    A = np.array([[1, 3, 2, 1], [2, 9, 1, 1], [1, 3, 2, 3], [5, 6, 1, 2]], dtype=float).reshape(1, 4, 4, 1)
    out, _ = pool_forward(np, A, 2, 2, "max")
    np.testing.assert_array_equal(out[0, :, :, 0], [[9, 2], [6, 3]])
    avg, _ = pool_forward(np, A, 2, 2, "average")
    np.testing.assert_array_equal(avg[0, :, :, 0], [[3.75, 1.25], [3.75, 2.0]])


@pytest.mark.parametrize("n, f, s, p, expected", [
    (6, 3, 1, 0, 4),      # valid: n − f + 1
    (6, 3, 1, 1, 6),      # same: p = (f − 1)/2 keeps the size
    (7, 3, 2, 0, 3),      # the course's stride example: 7×7 * 3×3, stride 2 → 3×3
    (8, 3, 2, 0, 3),      # ⌊5/2⌋ + 1: the last column is never a window's start
    (32, 5, 1, 0, 28),    # LeNet-5's first conv
])
def test_output_size_formula(n, f, s, p, expected):
    assert out_size(n, f, s, p) == expected
    X = np.random.default_rng(0).standard_normal((2, n, n, 3))
    Z, _ = conv_forward(np, X, np.ones((f, f, 3, 4)), None, s, p)
    assert Z.shape == (2, expected, expected, 4)


def test_shapes_and_parameter_counts():
    """LeNet-like shapes; a conv layer's parameters are (f·f·n_C[l-1] + 1)·n_C whatever the image
    size (sharing), the dense layer after flatten needs (n + 1)·units."""
    net = ConvNet([{**CONV, "filters": 6, "size": 5, "padding": "valid"}, POOL,
                   {**CONV, "filters": 16, "size": 5, "padding": "valid"}, POOL, FLAT,
                   {**DENSE, "units": 120}, {**DENSE, "units": 84}], (32, 32, 1), 10)
    assert net.shapes == [(32, 32, 1), (28, 28, 6), (14, 14, 6), (10, 10, 16), (5, 5, 16), (400,), (120,), (84,), (10,)]
    assert net.parameter_counts() == [156, 0, 2416, 0, 0, 48120, 10164, 850]
    assert net.size == sum(net.parameter_counts())
    assert net.params["W1"].shape == (5, 5, 1, 6) and net.params["b1"].shape == (1, 1, 1, 6)
    assert net.params["W6"].shape == (120, 400) and net.params["b6"].shape == (120, 1)


# ------------------------------------------------------------------ shape errors

def _error(network, data=None):
    with pytest.raises(ValidationError) as exc:
        load_config({"data": data or {"name": "digits"}, "network": network})
    return format_errors(exc.value)


def test_shape_error_names_layer_and_arithmetic():
    errors = _error({"layers": [{**CONV, "padding": "valid", "stride": 2}, {**POOL, "size": 4}, FLAT]})
    assert errors == ["network.layers.1: pool size 4 > input 3×3 "
                      "(after layer 1: conv n_H = ⌊(8 + 0 − 3)/2⌋ + 1 = 3)"]


def test_shape_errors():
    assert _error({"layers": [{**CONV, "size": 9, "padding": "valid"}, FLAT]}) == [
        "network.layers.0: conv size 9 > input 8×8 (the image)"]
    assert _error({"layers": [{**CONV, "size": 4}, FLAT]}) == [
        "network.layers.0: padding 'same' needs an odd size f (p = (f − 1)/2), got f = 4"]
    assert _error({"layers": [POOL, POOL, POOL, POOL, FLAT]}) == [
        "network.layers.3: pool size 2 > input 1×1 (after layer 3: pool n_H = ⌊(2 + 0 − 2)/2⌋ + 1 = 1)"]
    assert _error({"layers": [CONV, DENSE]})[0].startswith(
        "network.layers.1: dense needs flat units: put a flatten layer before it")
    assert _error({"layers": [CONV]})[0].startswith("network.layers.0: the output layer is dense")
    assert _error({"layers": [FLAT, CONV]})[0].startswith("network.layers.1: conv needs an image volume")
    assert _error({"layers": [CONV, {"type": "residual", "size": 2}, FLAT]})[0].startswith(
        "network.layers.1: residual size 2 must be odd")
    assert _error({"layers": [FLAT], "hidden": [3]}) == [
        "network: give network.layers or network.hidden, not both"]
    assert "convolutional layers need image data" in _error({"layers": [FLAT]}, {"name": "moons"})[0]
    with pytest.raises(ValidationError, match="keep_prob has 2 values but network.layers has 4"):
        load_config({"data": {"name": "digits"}, "network": ISSUE_NET, "regularization": {"keep_prob": [1, 0.5]}})
    # the size of a shapes image comes from data.size
    assert _error({"layers": [{**CONV, "size": 11, "padding": "valid"}, FLAT]}, {"name": "shapes", "size": 10}) == [
        "network.layers.0: conv size 11 > input 10×10 (the image)"]


def test_config_of_the_issue_is_valid():
    config = load_config({"data": {"name": "digits"}, "network": ISSUE_NET})
    assert [layer.type for layer in config.network.layers] == ["conv", "pool", "flatten", "dense"]
    assert config.keep_probs() == [1.0, 1.0, 1.0, 1.0]
    dropped = load_config({"data": {"name": "digits"}, "network": ISSUE_NET, "regularization": {"keep_prob": 0.8}})
    assert dropped.keep_probs() == [1.0, 1.0, 1.0, 0.8]  # a number: the dense layers only
    plans = plan_layers(config.network.layers, (8, 8, 1))
    assert [p.out_shape for p in plans] == [(8, 8, 8), (4, 4, 8), (128,), (32,)]


# ------------------------------------------------------------------ gradient checks

def _gradient_difference(layers, shape, m=3, n_y=3, l2=0.0, l1=0.0, batch_norm=False, seed=0):
    """‖dθapprox − dθ‖/(‖dθapprox‖ + ‖dθ‖) with two-sided differences, ε = 1e-6, float64, in
    train mode (batch norm with the batch's statistics)."""
    net = ConvNet(layers, shape, n_y, batch_norm=batch_norm, seed=seed)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, *shape))
    Y = np.eye(n_y)[:, rng.integers(0, n_y, m)]
    net.theta[net.n_weights:] += 0.1 * rng.standard_normal(net.size - net.n_weights)  # non-zero b, γ ≠ 1

    def J():
        AL, _ = net.forward(X, train=True, update_running=False)
        return sum(net.cost(AL, Y, l2, l1))

    AL, cache = net.forward(X, train=True, update_running=False)
    grads = net.backward(cache, Y, l2, l1).copy()
    approx, eps = np.zeros(net.size), 1e-6
    for i in range(net.size):  # the check itself loops over parameters, as the course's does
        original = net.theta[i]
        net.theta[i] = original + eps
        plus = J()
        net.theta[i] = original - eps
        minus = J()
        net.theta[i] = original
        approx[i] = (plus - minus) / (2 * eps)
    assert np.linalg.norm(grads) > 0
    return np.linalg.norm(approx - grads) / (np.linalg.norm(approx) + np.linalg.norm(grads))


def _conv(**kw):
    return {"type": "conv", "filters": 3, "size": 3, "stride": 1, "padding": "valid", "activation": "tanh", **kw}


GRAD_CASES = {
    "conv valid": ([_conv(), FLAT], (6, 6, 2)),
    "conv same": ([_conv(padding="same"), FLAT], (5, 5, 2)),
    "conv stride 2": ([_conv(stride=2), FLAT], (7, 7, 2)),
    "conv stride 2 same, uneven": ([_conv(stride=2, padding="same"), FLAT], (6, 6, 2)),
    "conv padding 2, f 2": ([_conv(size=2, padding=2, stride=3), FLAT], (5, 5, 1)),
    "conv 1x1": ([_conv(size=1, filters=2), FLAT], (4, 4, 3)),
    "max pool": ([_conv(padding="same"), {"type": "pool", "mode": "max", "size": 2, "stride": 2}, FLAT], (6, 6, 2)),
    "max pool overlapping": ([_conv(padding="same"), {"type": "pool", "mode": "max", "size": 3, "stride": 1}, FLAT], (5, 5, 2)),
    "average pool": ([_conv(padding="same"), {"type": "pool", "mode": "average", "size": 2, "stride": 2}, FLAT], (6, 6, 2)),
    "average pool overlapping, uneven": ([_conv(), {"type": "pool", "mode": "average", "size": 3, "stride": 2}, FLAT], (8, 8, 1)),
    "residual": ([_conv(padding="same"), {"type": "residual", "size": 3, "activation": "tanh"}, FLAT], (5, 5, 2)),
    "dense after flatten": ([_conv(stride=2), FLAT, {"type": "dense", "units": 5, "activation": "tanh"}], (5, 5, 2)),
    "leaky relu and sigmoid": ([_conv(activation="leaky_relu"), FLAT, {"type": "dense", "units": 4, "activation": "sigmoid"}], (4, 4, 2)),
}


@pytest.mark.parametrize("case", list(GRAD_CASES))
def test_gradient_check(case):
    layers, shape = GRAD_CASES[case]
    assert _gradient_difference(layers, shape) < 1e-7


def test_gradient_check_with_l2_and_l1():
    layers, shape = GRAD_CASES["dense after flatten"]
    assert _gradient_difference(layers, shape, l2=0.7) < 1e-7
    assert _gradient_difference(GRAD_CASES["residual"][0], (5, 5, 2), l2=0.7, l1=0.3) < 1e-7


def test_gradient_check_batch_norm_conv_per_channel_and_dense():
    layers = [_conv(padding="same"), {"type": "residual", "size": 3, "activation": "tanh"},
              {"type": "pool", "mode": "max", "size": 2, "stride": 2}, FLAT,
              {"type": "dense", "units": 4, "activation": "tanh"}]
    assert _gradient_difference(layers, (4, 4, 2), m=4, batch_norm=True) < 1e-7
    net = ConvNet(layers, (4, 4, 2), 3, batch_norm=True)
    assert net.params["gamma1"].shape == (1, 1, 1, 3) and "b1" not in net.params
    assert {"gamma2_1", "beta2_2", "gamma5", "beta5", "b6"} <= set(net.params)
    assert "running_var2_1" in net.get_parameters()


def test_gradient_check_catches_a_wrong_gradient(monkeypatch):
    """The check can fail: dW off by 1 % in the conv's backward is reported."""
    import engine.conv as conv

    right = conv.conv_backward

    def wrong(xp, dZ, cols, W, dW, *args, **kwargs):
        dA = right(xp, dZ, cols, W, dW, *args, **kwargs)
        dW *= 1.01
        return dA
    monkeypatch.setattr(conv, "conv_backward", wrong)
    layers, shape = GRAD_CASES["conv stride 2"]
    assert _gradient_difference(layers, shape) > 1e-4


# ------------------------------------------------------------------ parameters, prediction

def test_set_parameters_and_hidden_outputs():
    net = ConvNet([_conv(padding="same"), POOL, FLAT], (4, 4, 2), 3)
    params = net.get_parameters()
    other = ConvNet([_conv(padding="same"), POOL, FLAT], (4, 4, 2), 3, seed=7)
    other.set_parameters(params)
    np.testing.assert_array_equal(other.theta, net.theta)
    with pytest.raises(ValueError, match="parameter 'W1' has shape"):
        other.set_parameters({**params, "W1": np.zeros((3, 3, 2, 2))})
    X = np.random.default_rng(1).standard_normal((5, 4, 4, 2))
    outs = net.hidden_outputs(X)
    assert [o.shape for o in outs] == [(5, 4, 4, 3), (5, 2, 2, 3), (12, 5), (3, 5)]
    assert net.predict(X).shape == (1, 5)
    with pytest.raises(ValueError, match=r"X must have shape \(m, 4, 4, 2\)"):
        net.forward(X[:, :3])


def test_dropout_masks_dense_outputs_only_for_a_number():
    net = ConvNet([_conv(padding="same", activation="relu"), FLAT, {"type": "dense", "units": 50, "activation": "relu"}], (4, 4, 1), 2)
    X = np.random.default_rng(2).standard_normal((8, 4, 4, 1))
    _, cache = net.forward(X, train=True, keep_probs=0.5, rng=np.random.default_rng(0))
    assert cache.masks[0] is None and cache.masks[1] is None and cache.masks[2] is not None
    _, cache = net.forward(X, train=True, keep_probs=[0.5, 1.0, 1.0], rng=np.random.default_rng(0))
    assert cache.masks[0] is not None and cache.masks[0].shape == (8, 4, 4, 3)


# ------------------------------------------------------------------ the Trainer and the CLI

def _config(**over):
    base = {"data": {"name": "shapes", "n": 240, "size": 12, "noise": 0.1, "classes": 3, "split": [0.7, 0.15, 0.15]},
            "network": {"layers": [{**CONV, "filters": 4}, POOL, FLAT, {**DENSE, "units": 16}], "output": "softmax"},
            "optimizer": {"name": "adam", "learning_rate": 0.005}, "batch_size": 32, "epochs": 3}
    base.update(over)
    return base


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "rmsprop", "adam"])
def test_trainer_runs_every_optimizer(optimizer):
    from engine.trainer import Trainer

    trainer = Trainer(_config(optimizer={"name": optimizer, "learning_rate": 0.01},
                              schedule={"name": "inverse_time", "decay_rate": 0.5}))
    snap = trainer.run()
    assert trainer.status == "done" and trainer.iteration == 3 * 6
    assert snap.train.cost < trainer.history["train_cost"][0] * 1.5
    assert len(snap.weight_norms) == 3  # conv, dense, output
    assert trainer.learning_rate == pytest.approx(0.01 / (1 + 0.5 * 3))


def test_trainer_with_dropout_batch_norm_l2_and_residual():
    from engine.trainer import Trainer

    network = {"layers": [{**CONV, "filters": 4}, {"type": "residual", "size": 3}, POOL, FLAT, {**DENSE, "units": 16}],
               "batch_norm": True}
    trainer = Trainer(_config(network=network, regularization={"l2": 0.1, "keep_prob": 0.8}, epochs=2))
    snap = trainer.run()
    assert trainer.status == "done"
    assert snap.train.reg_cost > 0
    result = trainer.result()
    assert result["network"]["shapes"] == [[12, 12, 1], [12, 12, 4], [12, 12, 4], [6, 6, 4], [144], [16], [3]]
    assert "running_mean2_1" in result["parameters"] and np.shape(result["parameters"]["W2_1"]) == (3, 3, 4, 4)
    assert result["examples"] == {"train": 168, "dev": 36, "test": 36}


def test_trainer_batch_gradient_descent_is_reproducible():
    from engine.trainer import Trainer

    a = Trainer(_config(batch_size=1000, epochs=2))
    b = Trainer(_config(batch_size=1000, epochs=2))
    a.run(), b.run()
    np.testing.assert_array_equal(a.network.theta, b.network.theta)
    assert a.history["train_cost"][1] < a.history["train_cost"][0]


def test_hidden_form_on_digits_is_a_dense_net_on_the_pixels():
    from engine.trainer import Trainer

    trainer = Trainer({"data": {"name": "digits"}, "network": {"hidden": [16]}, "epochs": 2})
    assert trainer.layer_dims == [64, 16, 10]
    assert trainer.sets["train"][0].shape == (64, 1438)
    trainer.run()
    assert trainer.snapshot().dev.accuracy > 0.5


def test_digits_convnet_reaches_97_percent():
    """The issue's ConvNet on scikit-learn's digits: ≥ 97 % test accuracy in a few seconds."""
    from engine.trainer import Trainer

    config = {"data": {"name": "digits", "split": [0.7, 0.15, 0.15]}, "network": ISSUE_NET,
              "optimizer": {"name": "adam", "learning_rate": 0.003}, "batch_size": 32, "epochs": 12}
    start = time.perf_counter()
    trainer = Trainer(config)
    snap = trainer.run()
    seconds = time.perf_counter() - start
    assert snap.test.accuracy >= 0.97, snap.test
    assert seconds < 60, seconds


def test_cli_trains_a_convnet(tmp_path):
    config = tmp_path / "cnn.json"
    config.write_text(json.dumps(_config(epochs=1)))
    out = tmp_path / "result.json"
    proc = subprocess.run([sys.executable, "-m", "engine", "train", str(config), "--out", str(out), "--quiet"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result["status"] == "done" and result["network"]["layers"] == [144, 576, 144, 144, 16, 3]
    assert np.shape(result["parameters"]["W1"]) == (3, 3, 1, 4)
    # --init-from reads the 4-D filters back
    again = tmp_path / "again.json"
    config.write_text(json.dumps(_config(epochs=0)))
    proc = subprocess.run([sys.executable, "-m", "engine", "train", str(config), "--init-from", str(out),
                           "--out", str(again), "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(again.read_text())["test"] == result["test"]


def test_cli_reports_a_shape_error(tmp_path):
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"data": {"name": "digits"}, "network": {"layers": [{**CONV, "size": 9, "padding": "valid"}, FLAT]}}))
    proc = subprocess.run([sys.executable, "-m", "engine", "train", str(config)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "network.layers.0: conv size 9 > input 8×8 (the image)" in proc.stderr


def test_a_layers_config_round_trips_and_changes_live():
    """A dump of a config with network.layers leaves out hidden's default, so it validates again:
    a live change (engine/live.py re-validates the dump) and a page sending back its state's config."""
    from engine.config import TrainConfig
    from engine.live import apply_live_change

    config = TrainConfig.model_validate({
        "data": {"name": "shapes", "size": 8, "n": 60},
        "network": {"layers": [{"type": "conv", "filters": 2, "size": 3}, {"type": "flatten"}]}})
    dump = config.model_dump()
    assert "hidden" not in dump["network"] and TrainConfig.model_validate(dump) == config
    changed, given = apply_live_change(config, {"learning_rate": 0.05, "l2": 0.1})
    assert changed.optimizer.learning_rate == 0.05 and changed.regularization.l2 == 0.1
    with pytest.raises(ValidationError, match="not both"):  # hidden given with layers is still refused
        TrainConfig.model_validate({**dump, "network": {**dump["network"], "hidden": [4]}})
    assert "hidden" in TrainConfig().model_dump()["network"]  # the dense form dumps as before
