"""BatchedTrainer (engine/batched.py): S runs of one architecture trained as one computation must
each end exactly where a separate Trainer on the same config ends (1e-12 relative: parameters,
optimizer state, snapshots, histories, grids), a diverging run must not disturb the others,
joining / leaving must leave the others bit-identical, the batched backward must pass gradient
checking, and a tiny case is checked against numbers worked by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

from engine import batched_math as bm
from engine.batched import BatchedTrainer
from engine.config import load_config
from engine.trainer import Trainer

RTOL = 1e-12


# ----------------------------------------------------------------------------- helpers
def close(a, b, rtol=RTOL, path="") -> None:
    """a == b to rtol (relative to the larger magnitude), recursively through dicts / lists."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: keys {set(a) ^ set(b)}"
        for k in a:
            close(a[k], b[k], rtol, f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), f"{path}: lengths {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            close(x, y, rtol, f"{path}[{i}]")
    elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        assert a.shape == b.shape, f"{path}: shapes {a.shape} vs {b.shape}"
        scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)), 1e-300)
        assert float(np.max(np.abs(a - b), initial=0.0)) <= rtol * scale, f"{path}: {a} vs {b}"
    elif isinstance(a, float) and isinstance(b, float) and not isinstance(a, bool):
        assert abs(a - b) <= rtol * max(abs(a), abs(b)), f"{path}: {a!r} vs {b!r}"
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"


def state(bt: BatchedTrainer, run_id: int) -> dict:
    """Everything a run carries, from the batch (as a Trainer would hold it)."""
    t = bt.to_trainer(run_id)
    return trainer_state(t)


def trainer_state(t: Trainer) -> dict:
    opt = t.optimizer.state
    return {"params": t.network.get_parameters(), "grads": t.network.grads.copy(),
            "optimizer": {k: (v.copy() if hasattr(v, "copy") else v) for k, v in opt.items()},
            "iteration": t.iteration, "epoch": t.epoch, "status": t.status, "history": t.history,
            "rng": t.rng.bit_generator.state["state"], "k": t._k}


def same_as_trainers(bt, ids, trainers, rtol=RTOL) -> None:
    snaps = bt.snapshots()
    for run_id, t in zip(ids, trainers):
        close(state(bt, run_id), trainer_state(t), rtol, f"run {run_id}")
        close(snaps[run_id].to_dict(), t.snapshot().to_dict(), rtol, f"snapshot {run_id}")


def config(**overrides) -> dict:
    """moons, 125 points -> 100 training, 25 dev; batch 32: 3 batches of 32 and a leftover of 4."""
    base = {"data": {"name": "moons", "n": 125, "noise": 0.2, "seed": 0, "split": [0.8, 0.2, 0.0]},
            "network": {"hidden": [5, 3], "activation": "tanh"}, "batch_size": 32, "epochs": 1000,
            "optimizer": {"name": "gd", "learning_rate": 0.1}, "seed": 1}
    for key, value in overrides.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return base


def variants(n: int, **overrides) -> list[dict]:
    """n configs of one architecture with different seeds, data, α, λ, keep_prob, β's, optimizers."""
    kinds = ["gd", "momentum", "rmsprop", "adam"]
    out = []
    for i in range(n):
        opt = {"name": kinds[i % 4], "learning_rate": [0.1, 0.05, 0.003, 0.01][i % 4] * (1 + 0.1 * i),
               "beta": 0.8 + 0.01 * i, "beta1": 0.85 + 0.01 * i, "beta2": 0.99 + 0.001 * i,
               "bias_correction": True}  # switched off live in test_live_changes...
        cfg = config(seed=10 + i, data={"seed": i, "noise": 0.1 + 0.05 * i}, optimizer=opt,
                     regularization={"l2": [0.0, 0.3, 0.0, 1.0][i % 4]})
        out.append(load_config(_merge(cfg, overrides)).model_dump())
    return out


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def batch_and_trainers(configs):
    bt = BatchedTrainer()
    ids = [bt.add(c) for c in configs]
    return bt, ids, [Trainer(c) for c in configs]


def step_both(bt, trainers, n, times=1, runs=None):
    for _ in range(times):
        bt.step(n, runs=runs)
        for t in trainers:
            t.step(n, report=False)


# ----------------------------------------------------------------------------- equality with separate Trainers
CASES = {
    "optimizers + L2 + leftover batch": {},
    "dropout": {"regularization": {"keep_prob": [0.7, 0.9]}},
    "batch norm": {"network": {"batch_norm": True, "activation": "relu"}},
    "softmax": {"data": {"name": "multi_blobs", "classes": 3}, "network": {"output": "softmax"}},
    "full batch + schedule + L1": {"batch_size": 1000, "schedule": {"name": "inverse_time", "decay_rate": 0.5},
                                   "regularization": {"l1": 0.05}},
    "regression": {"data": {"name": "reg_plane"}, "network": {"activation": "relu"}},
    "sigmoid hidden, dev + test sets": {"data": {"split": [0.6, 0.2, 0.2], "n": 150},
                                        "network": {"activation": "sigmoid"}},
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_run_ends_where_its_own_trainer_ends(case):
    configs = variants(5, **CASES[case])
    if case == "dropout":  # dropout on in some runs only, with different keep_probs
        configs[1]["regularization"]["keep_prob"] = 1.0
        configs[3]["regularization"]["keep_prob"] = [1.0, 0.5]
    bt, ids, trainers = batch_and_trainers(configs)
    # 3 + 4 + 7 iterations: step() calls that end inside epochs and across their ends
    for n in (3, 4, 7, 1, 5):
        step_both(bt, trainers, n)
    same_as_trainers(bt, ids, trainers)
    assert all(bt.iteration(i) == 20 for i in ids)
    # and they moved: the check is not vacuous
    assert all(s.train.cost < 5 for s in bt.snapshots().values())
    first = Trainer(configs[0]).network.get_parameters()
    assert not np.allclose(bt.parameters(ids[0])["W1"], first["W1"])


def test_float32_runs_match_their_trainers():
    configs = variants(4, dtype="float32", regularization={"keep_prob": 0.8})
    bt, ids, trainers = batch_and_trainers(configs)
    step_both(bt, trainers, 6, times=3)
    same_as_trainers(bt, ids, trainers, rtol=1e-6)


def test_run_epoch_and_an_epoch_budget_end_runs_one_by_one():
    configs = variants(3, epochs=3)
    configs[1]["epochs"] = 1
    configs[2]["early_stopping"] = {"patience": 1, "min_delta": 10.0}  # stops at its 2nd epoch
    bt, ids, trainers = batch_and_trainers(configs)
    for _ in range(4):
        bt.run_epoch()
        for t in trainers:
            t.run_epoch(report=False)
    same_as_trainers(bt, ids, trainers)
    assert [bt.status(i) for i in ids] == ["done", "done", "stopped_early"]
    assert bt.snapshot(ids[2]).early_stopping["stopped_epoch"] == 2
    bt.extend(ids[1], 2)
    trainers[1].extend(2)
    step_both(bt, trainers, 9)  # 2 epochs of 4 iterations, then nothing: done again
    same_as_trainers(bt, ids, trainers)
    assert bt.epoch(ids[1]) == trainers[1].epoch == 3 and bt.status(ids[1]) == "done"


def test_stepping_some_runs_leaves_the_others_untouched():
    configs = variants(4)
    bt, ids, trainers = batch_and_trainers(configs)
    step_both(bt, trainers, 5)
    before = {i: state(bt, i) for i in ids}
    for _ in range(3):
        bt.step(2, runs=[ids[1], ids[3]])
        trainers[1].step(2, report=False)
        trainers[3].step(2, report=False)
    for i in (0, 2):
        close(state(bt, ids[i]), before[ids[i]], rtol=0.0)
    same_as_trainers(bt, ids, trainers)
    # runs now at different positions in their epochs are stepped in groups, still exactly
    step_both(bt, trainers, 3, times=2)
    same_as_trainers(bt, ids, trainers)


def test_live_changes_per_run_match_trainer_set():
    configs = variants(4, regularization={"keep_prob": 0.9})
    bt, ids, trainers = batch_and_trainers(configs)
    step_both(bt, trainers, 6)
    changes = [{"learning_rate": 0.02, "l2": 0.5},
               {"beta": 0.5, "keep_prob": 1.0},
               {"schedule": {"name": "exponential", "base": 0.9}, "beta2": 0.9, "epsilon": 1e-4},
               {"beta1": 0.7, "bias_correction": False, "keep_prob": [0.5, 1.0], "l1": 0.01}]
    for run_id, t, change in zip(ids, trainers, changes):
        bt.set(run_id, **change)
        t.set(**change)
    step_both(bt, trainers, 7, times=3)
    same_as_trainers(bt, ids, trainers)


# ----------------------------------------------------------------------------- divergence
@pytest.mark.parametrize("batch_size", [32, 1000])
def test_a_diverging_run_is_restored_and_stopped_without_disturbing_the_others(batch_size):
    configs = variants(4, data={"name": "reg_plane"}, network={"activation": "relu"}, batch_size=batch_size)
    configs[2]["optimizer"] = {**configs[2]["optimizer"], "name": "gd", "learning_rate": 100.0}
    bt, ids, trainers = batch_and_trainers(configs)
    for _ in range(6):
        step_both(bt, trainers, 10)  # it blows up at iteration ~55, inside a step() call
    assert trainers[2].status == "diverged", "the setup must diverge"
    assert bt.status(ids[2]) == "diverged"
    assert [bt.status(i) for i in ids if i != ids[2]] == ["running"] * 3
    same_as_trainers(bt, ids, trainers)
    snap = bt.snapshot(ids[2])
    assert snap.diverged_at == trainers[2].diverged_at and snap.restored_iteration == trainers[2].restored_iteration
    assert np.isfinite(bt._arrays["theta"]).all()
    # the other runs go on as their Trainers do
    step_both(bt, trainers, 9)
    same_as_trainers(bt, ids, trainers)


# ----------------------------------------------------------------------------- joining and leaving
def test_joining_and_leaving_keep_the_others_bit_identical():
    configs = variants(5)
    ref = BatchedTrainer()  # runs 0, 2, 3 alone, never disturbed
    ref_ids = [ref.add(configs[i]) for i in (0, 2, 3)]
    bt = BatchedTrainer()
    ids = [bt.add(c) for c in configs[:4]]
    t2 = Trainer(configs[4])  # a Trainer mid-epoch: iteration 6 = 1 epoch + 2 of 4 batches
    t2.step(6, report=False)
    bt.step(5)
    ref.step(5)
    joined_cfg = bt.add(variants(7)[6])  # a fresh run from a config
    joined_trainer = bt.add(t2)  # a Trainer's exact state, at another place in its epoch
    bt.remove(ids[1])
    for n in (3, 4, 6):
        bt.step(n)
        ref.step(n)
        t2.step(n, report=False)
    for i, r in zip((ids[0], ids[2], ids[3]), ref_ids):
        close(state(bt, i), state(ref, r), rtol=0.0)
        close(bt.snapshot(i).to_dict(), ref.snapshot(r).to_dict(), rtol=0.0)
    # the run that joined from a Trainer continues exactly as that Trainer
    close(state(bt, joined_trainer), trainer_state(t2))
    close(bt.snapshot(joined_trainer).to_dict(), t2.snapshot().to_dict())
    # the run that joined from a config is that config's Trainer, stepped 13 times
    t = Trainer(variants(7)[6])
    t.step(3, report=False), t.step(4, report=False), t.step(6, report=False)
    close(state(bt, joined_cfg), trainer_state(t))
    assert joined_trainer in bt and ids[1] not in bt and len(bt) == 5


def test_a_run_leaves_as_a_trainer_that_continues_exactly():
    configs = variants(3, regularization={"keep_prob": 0.8})
    bt, ids, trainers = batch_and_trainers(configs)
    step_both(bt, trainers, 7)
    left = bt.to_trainer(ids[1])
    bt.remove(ids[1])
    left.step(11, report=False)
    trainers[1].step(11, report=False)
    close(trainer_state(left), trainer_state(trainers[1]))


def test_a_run_of_another_architecture_is_refused_naming_the_key():
    bt = BatchedTrainer()
    bt.add(config())
    for over, key in [({"network": {"hidden": [5, 4]}}, "network.layer_dims"),
                      ({"network": {"activation": "relu"}}, "network.activation"),
                      ({"network": {"batch_norm": True}}, "network.batch_norm"),
                      ({"batch_size": 16}, "batch_size"),
                      ({"data": {"n": 150}}, "data.m_train"),
                      ({"dtype": "float32"}, "dtype"),
                      ({"data": {"name": "multi_blobs"}, "network": {"output": "softmax"}}, "network.layer_dims")]:
        with pytest.raises(ValueError, match=key.replace(".", r"\.")):
            bt.add(_merge(config(), over))
    assert len(bt) == 1


# ----------------------------------------------------------------------------- grids
def test_grids_are_each_runs_trainer_grids():
    configs = variants(3, network={"batch_norm": True})
    configs[1]["data"] = {**configs[1]["data"], "scale": [3.0, 0.5]}  # another domain and normalization
    bt, ids, trainers = batch_and_trainers(configs)
    step_both(bt, trainers, 9)
    grids = bt.grids(12, 5)
    grids32 = bt.grids(12, 5, dtype="float32")
    for run_id, t in zip(ids, trainers):
        values, neurons = t.grids(12, 5)
        close(grids[run_id][0], values)
        close(grids[run_id][1], neurons)
        values32, neurons32 = t.grids(12, 5, dtype="float32")
        assert grids32[run_id][0].dtype == np.float32
        close(grids32[run_id][0], values32, rtol=1e-6)
        close(grids32[run_id][1], neurons32, rtol=1e-6)
    values, neurons, order = bt.stacked_grids(12, 5, runs=[ids[2], ids[0]])
    assert order == [ids[2], ids[0]] and values.shape == (2, 12, 12) and neurons[0].shape == (2, 5, 5, 5)
    close(values[0], grids[ids[2]][0])


# ----------------------------------------------------------------------------- gradient check
def _batched_cost(lay, act, theta, running, X, Y, l2):
    """J per run: train-mode forward (batch statistics, no running update), the data cost and
    (λ/2m)Σ‖W‖² with m = the batch's m."""
    layers = bm.stacked_layers(lay, theta, None, running)
    AL, cache = bm.forward(np, lay, layers, act, X, train=True, update_running=False)
    ww = bm.row_dots(np, theta[:, :lay.n_weights])
    return bm.data_cost(np, lay.output, cache.ZL, AL, Y) + bm.penalty(np, l2, l2 * 0, ww, None, X.shape[-1])


@pytest.mark.parametrize("over", [{}, {"network": {"batch_norm": True}},
                                  {"data": {"name": "multi_blobs", "classes": 3}, "network": {"output": "softmax"}}])
def test_batched_backward_passes_gradient_checking(over):
    S, m = 3, 7
    bt = BatchedTrainer()
    for c in variants(S, **over):
        bt.add(c)
    lay, act = bt.lay, bt.act
    rng = np.random.default_rng(0)
    theta = bt._arrays["theta"] + 0.3 * rng.standard_normal(bt._arrays["theta"].shape)  # off the init
    running = bt._arrays["running"].copy()
    X, Y = bt._arrays["X"][:, :, :m].copy(), bt._arrays["Y"][:, :, :m].copy()
    l2 = np.array([[0.0], [0.7], [2.0]])
    grads = np.zeros_like(theta)
    layers = bm.stacked_layers(lay, theta, grads, running)
    AL, cache = bm.forward(np, lay, layers, act, X, train=True, update_running=False)
    bm.backward(np, lay, layers, act, cache, Y, theta[:, :lay.n_weights], grads[:, :lay.n_weights], l2, None)
    eps = 1e-7
    numeric = np.zeros_like(theta)
    for p in range(theta.shape[1]):  # one parameter of every run at once: costs are per run
        plus, minus = theta.copy(), theta.copy()
        plus[:, p] += eps
        minus[:, p] -= eps
        numeric[:, p] = (_batched_cost(lay, act, plus, running, X, Y, l2)
                         - _batched_cost(lay, act, minus, running, X, Y, l2)) / (2 * eps)
    diff = np.linalg.norm(grads - numeric, axis=1) / (np.linalg.norm(grads, axis=1) + np.linalg.norm(numeric, axis=1))
    assert diff.shape == (S,) and (diff < 1e-7).all(), diff


# ----------------------------------------------------------------------------- worked by hand
def test_a_tiny_case_worked_by_hand():
    """Two runs of logistic regression [2, 1] on the same two examples x⁽¹⁾ = (1, 2), y = 1 and
    x⁽²⁾ = (2, 1), y = 0:
      run 0: W = [1, -1], b = 0.5:  z = (-0.5, 1.5), a = σ(z) = (0.377541, 0.817574)
             J = -(1/2)[log 0.377541 + log(1 - 0.817574)] = 1.337745
             dz = (a - y)/2 = (-0.311230, 0.408787), dW = dz Xᵀ = (0.506345, -0.213672), db = 0.097558
             GD, α = 0.1: W = (0.949366, -0.978633), b = 0.490244
      run 1: W = [0, 0], b = 0: a = (0.5, 0.5), J = log 2, dz = (-0.25, 0.25), dW = (0.25, -0.25),
             db = 0; momentum β = 0.9, α = 0.1: VdW = 0.1 dW = (0.025, -0.025), W = (-0.0025, 0.0025)."""
    bt = BatchedTrainer()
    for name in ("gd", "momentum"):
        bt.add({"data": {"name": "circle", "n": 10}, "network": {"hidden": []},
                "optimizer": {"name": name, "learning_rate": 0.1, "beta": 0.9}})
    lay, act, xp = bt.lay, bt.act, np
    theta = np.array([[1.0, -1.0, 0.5], [0.0, 0.0, 0.0]])  # rows: [W11, W12, b1]
    grads, V, S = np.zeros_like(theta), np.zeros_like(theta), np.zeros_like(theta)
    X = np.array([[[1.0, 2.0], [2.0, 1.0]]] * 2)
    Y = np.array([[[1.0, 0.0]]] * 2)
    layers = bm.stacked_layers(lay, theta, grads, np.zeros((2, 0)))
    AL, cache = bm.forward(xp, lay, layers, act, X, train=True)
    np.testing.assert_allclose(AL[:, 0], [[0.3775406687981454, 0.8175744761936437], [0.5, 0.5]], rtol=1e-15)
    J = bm.data_cost(xp, "sigmoid", cache.ZL, AL, Y)
    np.testing.assert_allclose(J, [1.3377451310814297, math.log(2)], rtol=1e-15)
    bm.backward(xp, lay, layers, act, cache, Y, theta[:, :2], grads[:, :2])
    np.testing.assert_allclose(grads, [[0.5063448105927164, -0.21367209310503277, 0.09755757249589453],
                                       [0.25, -0.25, 0.0]], rtol=1e-14, atol=1e-17)
    lr, beta = np.array([[0.1]]), np.array([[0.9]])
    bm.update(xp, "gd", theta[:1], grads[:1], lr)
    bm.update(xp, "momentum", theta[1:], grads[1:], lr, V=V[1:], beta=beta)
    np.testing.assert_allclose(theta, [[0.9493655189407284, -0.9786327906894967, 0.49024424275041056],
                                       [-0.0025, 0.0025, 0.0]], rtol=1e-14, atol=1e-17)
    np.testing.assert_allclose(V[1], [0.025, -0.025, 0.0], rtol=1e-14, atol=1e-17)
