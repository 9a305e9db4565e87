"""Bias/variance diagnosis: the course's table and human-level error; the run-level card
(diagnose_run: no verdict while learning, oscillation, dead and diverged runs, test error)."""
import json
import math

import pytest

from engine.diagnosis import MIN_EPOCHS, STATES, Diagnosis, diagnose, diagnose_run
from engine.trainer import Trainer


@pytest.mark.parametrize("train, dev, verdict", [
    (0.01, 0.11, "high variance"),
    (0.15, 0.16, "high bias"),
    (0.15, 0.30, "high bias and high variance"),
    (0.005, 0.01, "neither"),
])
def test_course_table(train, dev, verdict):
    d = diagnose(train, dev)
    assert d.verdict == verdict
    assert d.avoidable_bias == pytest.approx(train)
    assert d.variance == pytest.approx(dev - train)


def test_advice_follows_the_basic_recipe():
    bias = diagnose(0.15, 0.16).advice
    assert any("bigger network" in a for a in bias) and any("longer" in a for a in bias)
    assert not any("data" in a for a in bias)
    variance = diagnose(0.01, 0.11).advice
    assert any("more training data" in a for a in variance) and any("regularization" in a for a in variance)
    assert not any("bigger" in a for a in variance)
    both = diagnose(0.15, 0.30).advice
    assert any("bigger" in a for a in both) and any("regularization" in a for a in both)
    assert sum("architecture" in a for a in both) == 1


def test_human_level_error_shifts_the_verdict():
    # train 8 %, dev 12 %: against 0 % both gaps are high; against a human-level 7.5 %
    # the avoidable bias is only 0.5 %, so the problem is variance
    assert diagnose(0.08, 0.12).verdict == "high bias and high variance"
    d = diagnose(0.08, 0.12, human_error=0.075)
    assert d.verdict == "high variance"
    assert d.avoidable_bias == pytest.approx(0.005) and d.human_error == 0.075
    # train 15 %, dev 16 %: high bias, unless humans also err 14 %
    assert diagnose(0.15, 0.16, human_error=0.14).verdict == "neither"


def test_focus_is_the_larger_gap():
    # the course's second example: human 7.5 %, train 8 %, dev 10 % -> work on variance
    assert diagnose(0.08, 0.10, human_error=0.075).focus == "variance"
    assert diagnose(0.05, 0.06, human_error=0.01).focus == "bias"
    assert diagnose(0.05, 0.04, human_error=0.05).focus is None


def test_to_dict():
    d = diagnose(0.01, 0.11)
    assert isinstance(d, Diagnosis)
    data = d.to_dict()
    assert data["verdict"] == "high variance" and data["variance"] == pytest.approx(0.10)
    assert set(data) >= {"avoidable_bias", "variance", "verdict", "advice"}


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="dev_error"):
        diagnose(0.1, 11)
    with pytest.raises(ValueError, match="human_error"):
        diagnose(0.1, 0.1, human_error=-0.1)


# ----------------------------------------------------------------------------- whole runs
LN2 = math.log(2)


def run_state(costs, train_acc, dev_acc=None, test_acc=None, grad_norms=(0.3, 0.2), status="running",
              accuracies=None, **kw):
    """diagnose_run on a hand-made history whose last entry is the current train accuracy."""
    history = {"train_cost": list(costs),
               "train_accuracy": list(accuracies) if accuracies is not None else [train_acc] * len(costs)}
    epoch = kw.pop("epoch", len(costs))
    iteration = kw.pop("iteration", epoch * 4)
    metrics = lambda acc: None if acc is None else {"accuracy": acc}
    return diagnose_run(history, status, metrics(train_acc), metrics(dev_acc), metrics(test_acc),
                        list(grad_norms), iteration, epoch, **kw)


def falling(n=40, start=0.69, end=0.1):
    return [start + (end - start) * k / (n - 1) for k in range(n)]


def no_bias_advice(d):
    text = " ".join(d["advice"]) + " " + d["message"]
    return "bigger network (" not in text and "train longer (or" not in text


def test_no_verdict_at_iteration_zero():
    d = run_state([], 0.5, 0.8, grad_norms=(0.0, 0.0), iteration=0, epoch=0)
    assert d["state"] == "learning" and d["verdict"] is None and d["advice"] == []
    assert d["avoidable_bias"] is None and d["variance"] is None
    assert d["headline"] == "Still learning — no verdict yet" and "Press play" in d["message"]


def test_no_verdict_in_the_first_epochs_even_with_a_good_accuracy():
    d = run_state(falling(MIN_EPOCHS - 1), 0.99, 0.6)
    assert d["state"] == "learning" and d["verdict"] is None
    assert run_state(falling(MIN_EPOCHS), 0.99, 0.6)["verdict"] == "high variance"


def test_no_verdict_while_still_near_chance_and_the_cost_falls():
    d = run_state(falling(30, 0.69, 0.6), 0.55, 0.55)
    assert d["state"] == "learning" and d["verdict"] is None and "near chance" in d["message"]
    # learned something once: the verdict stays even if the error is high again now
    accs = [0.55] * 10 + [0.9] * 10 + [0.55] * 10
    assert run_state(falling(30, 0.69, 0.6), 0.55, 0.55, accuracies=accs)["state"] == "diagnosed"


def test_stuck_at_chance_gets_no_verdict():
    d = run_state([0.6931] * 40, 0.5, 0.5, grad_norms=(1e-3, 2e-2))
    assert d["state"] == "stuck" and d["verdict"] is None
    assert d["avoidable_bias"] is None and "learned nothing" in d["message"]


@pytest.mark.parametrize("train, dev, verdict", [
    (0.01, 0.11, "high variance"),
    (0.15, 0.16, "high bias"),
    (0.15, 0.30, "high bias and high variance"),
    (0.005, 0.01, "neither"),
])
def test_course_table_through_a_healthy_run(train, dev, verdict):
    d = run_state(falling(), 1 - train, 1 - dev)
    assert d["state"] == "diagnosed" and d["verdict"] == verdict and d["headline"].lower().startswith(verdict)
    assert d["avoidable_bias"] == pytest.approx(train) and d["variance"] == pytest.approx(dev - train)
    assert d["advice"] == diagnose(train, dev).advice


def test_dev_better_than_train_is_explained_not_shown_as_variance():
    d = run_state(falling(), 0.62, 1 - 0.013, dev_size=30)  # train error 38 %, dev error 1.3 %
    assert d["state"] == "diagnosed"
    assert d["variance"] is None  # never a negative variance
    assert d["dev_train_gap"] == pytest.approx(0.013 - 0.38)
    msg = d["message"]
    assert "LOWER than train" in msg and "not a negative variance" in msg and "36.7 points" in msg
    assert "-36.7" not in msg and "−36.7" not in msg
    assert "30 examples" in msg and ("dev set is small" in msg and "regularization" in msg)
    # a tiny negative gap is just "no variance", shown as 0
    d = run_state(falling(), 0.90, 0.905)
    assert d["variance"] == 0.0 and d["dev_train_gap"] < 0 and "no variance problem" in d["message"]


def test_a_cost_swinging_between_5_and_40_is_a_too_large_learning_rate():
    swing = [5.0, 40.0] * 15
    d = run_state(swing, 0.5, 0.5, grad_norms=(0.0, 0.0, 0.7))
    assert d["state"] == "oscillating" and d["verdict"] is None
    assert d["headline"] == "Learning rate too large: lower α" and "swings up and down" in d["message"]
    assert any("lower the learning rate" in a for a in d["advice"])
    assert no_bias_advice(d) and "converged" not in d["message"]
    assert d["trend"]["oscillating"] and d["trend"]["sign_changes"] == 1.0
    # even when the run had learned something (a verdict would have been "high bias")
    d = run_state([0.3, 0.9] * 15, 0.8, 0.8)
    assert d["state"] == "oscillating" and no_bias_advice(d)


def test_a_rising_cost_is_a_too_large_learning_rate():
    d = run_state(falling(20, 0.69, 0.3) + [0.3 * 1.15 ** k for k in range(12)], 0.85, 0.8)
    assert d["state"] == "oscillating" and d["trend"]["rising"] and "keeps rising" in d["message"]


def test_a_noisy_descent_is_not_an_oscillation():
    # mini-batch noise around a falling cost: still a normal run
    noisy = [0.6 * 0.97 ** k * (1.15 if k % 2 else 0.87) for k in range(40)]
    d = run_state(noisy, 0.9, 0.88)
    assert d["state"] == "diagnosed" and not d["trend"]["oscillating"]
    # small wiggles of a converged cost are not an oscillation either
    d = run_state([0.02 + (0.004 if k % 2 else 0.0) for k in range(40)], 0.99, 0.98)
    assert d["state"] == "diagnosed"


def test_divergence_is_flagged_for_classification():
    d = run_state(falling(10), 0.6, 0.55, status="diverged", diverged_at=42, restored_iteration=41)
    assert d["state"] == "diverged" and d["verdict"] is None and no_bias_advice(d)
    assert "diverged at iteration 42" in d["message"] and "iteration 41" in d["message"]
    assert any("lower the learning rate" in a for a in d["advice"])
    # right at the start too (before MIN_EPOCHS)
    assert run_state([], 0.5, 0.5, status="diverged", epoch=0, iteration=1)["state"] == "diverged"


def test_zero_gradients_and_a_flat_ln2_cost_is_a_dead_net():
    d = run_state([LN2] * 3 + [0.6915] * 20, 0.53, 0.5, grad_norms=(0.0, 0.0, 0.0))
    assert d["state"] == "dead" and d["verdict"] is None and no_bias_advice(d)
    assert d["headline"].startswith("Dead network") and "ln 2 = 0.693" in d["message"]
    assert any("He" in a for a in d["advice"])
    # tiny but non-zero gradients at chance: stuck, not dead
    assert run_state([LN2] * 20, 0.5, 0.5, grad_norms=(1e-4, 1e-3))["state"] == "stuck"


def test_zero_gradients_after_learning_are_not_a_dead_net():
    d = run_state(falling(), 0.995, 0.99, grad_norms=(0.0, 0.0))
    assert d["state"] == "diagnosed" and d["verdict"] == "neither"


def test_test_split_is_reported_with_what_it_is_for():
    d = run_state(falling(), 0.9, 0.88, test_acc=0.87)
    assert d["test_error"] == pytest.approx(0.13)
    assert "unbiased" in d["test_note"] and "tune" in d["test_note"]
    d = run_state(falling(), 0.9, 0.88)
    assert d["test_error"] is None and d["test_note"] is None


def test_no_dev_set_and_regression():
    d = run_state(falling(), 0.9, None)
    assert d["state"] == "needs_dev" and d["verdict"] is None and "dev set" in d["message"]
    assert run_state(falling(), None, None) is None  # regression: no bias/variance card
    assert run_state(falling(), None, None, status="diverged")["state"] == "diverged"


def test_every_state_is_json_safe_and_listed():
    cases = [run_state([], 0.5, 0.5, iteration=0, epoch=0), run_state([5.0, 40.0] * 10, 0.5, 0.5),
             run_state([LN2] * 20, 0.5, 0.5, grad_norms=(0.0,)), run_state([LN2] * 20, 0.5, 0.5),
             run_state(falling(), 0.9, None), run_state(falling(), 0.9, 0.8),
             run_state([1.0] * 10, 0.9, 0.8, status="diverged")]
    assert [d["state"] for d in cases] == ["learning", "oscillating", "dead", "stuck", "needs_dev",
                                           "diagnosed", "diverged"]
    for d in cases:
        assert d["state"] in STATES and d["message"] and d["headline"]
        assert not d["message"].startswith(d["headline"])  # the why, not the headline again
        json.dumps(d, allow_nan=False)


# ----------------------------------------------------------------------------- through the Trainer
def circle_config(**overrides):
    cfg = {"data": {"name": "circle", "n": 200, "noise": 0.1, "seed": 1, "split": [0.5, 0.5, 0.0]},
           "network": {"hidden": [4, 2], "activation": "tanh"},
           "optimizer": {"name": "gd", "learning_rate": 100.0}, "batch_size": 10000, "epochs": 60}
    for key, value in overrides.items():
        cfg[key] = {**cfg[key], **value} if isinstance(value, dict) else value
    return cfg


def test_trainer_gives_no_verdict_at_iteration_zero():
    d = Trainer(circle_config()).snapshot().diagnosis
    assert d["state"] == "learning" and d["verdict"] is None


def test_trainer_gd_with_alpha_100_on_the_circle_is_oscillating():
    t = Trainer(circle_config())
    d = t.run().diagnosis
    assert t.status == "done" and d["state"] == "oscillating"
    assert no_bias_advice(d) and "lower α" in d["headline"]


def test_trainer_zero_init_tanh_is_dead():
    t = Trainer(circle_config(network={"init": "zeros"}, optimizer={"learning_rate": 0.5}, epochs=20))
    snap = t.run()
    assert snap.diagnosis["state"] == "dead" and no_bias_advice(snap.diagnosis)
    assert all(g == 0 for g in snap.grad_norms)


def test_trainer_divergence_of_a_classifier_is_flagged():
    cfg = circle_config(data={"split": [0.6, 0.2, 0.2]}, optimizer={"learning_rate": 10.0},
                        network={"hidden": [8, 8], "activation": "leaky_relu", "init": "random", "init_scale": 10})
    t = Trainer(cfg)
    snap = t.run()
    assert snap.status == "diverged" and snap.diagnosis["state"] == "diverged"
    assert f"iteration {snap.diverged_at}" in snap.diagnosis["message"]


def test_trainer_healthy_run_gets_a_verdict_and_the_test_error():
    cfg = circle_config(data={"split": [0.6, 0.2, 0.2]}, network={"hidden": [8]},
                        optimizer={"name": "adam", "learning_rate": 0.02}, epochs=300)
    snap = Trainer(cfg).run()
    d = snap.diagnosis
    assert d["state"] == "diagnosed" and d["verdict"] in {"high bias", "high variance",
                                                          "high bias and high variance", "neither"}
    assert d["test_error"] == pytest.approx(1 - snap.test.accuracy) and d["test_note"]
    assert d["variance"] is None or d["variance"] >= 0
