"""engine/sweep.py: sampling on the course's scales, the spec's errors, refine, trials, executors."""
from __future__ import annotations

import math
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from engine import sweep
from engine.progress import SweepProgress, clock
from engine.sweep import Distribution, SweepError, draw, parse_sweep, sample
from engine.sweep_exec import process_pool

ROOT = Path(__file__).resolve().parents[2]
KS_CRITICAL_1PCT = 1.628  # √n·D above this rejects uniformity at the 1 % level (Kolmogorov's limit law)

TINY = {"data": {"name": "moons", "n": 120, "noise": 0.2, "split": [0.7, 0.3, 0.0]},
        "network": {"hidden": [4], "activation": "tanh"}, "batch_size": 32, "epochs": 8}
# gradient descent with α = 10 on this regression blows up (tests/engine/test_trainer.py)
DIVERGING = {"data": {"name": "reg_plane", "n": 200, "noise": 0.1}, "network": {"hidden": [8, 8]},
             "batch_size": 32, "epochs": 40}


def spec_of(**changes) -> sweep.SweepSpec:
    obj = {"base": TINY, "trials": 6, "seed": 5,
           "space": {"optimizer.learning_rate": {"log_uniform": [1e-3, 0.3]},
                     "optimizer.beta1": {"one_minus_log_uniform": [0.8, 0.99]},
                     "network.hidden.0": {"int_uniform": [2, 6]},
                     "batch_size": {"choice": [16, 32]}}}
    obj.update(changes)
    return parse_sweep(obj)


def without_seconds(result: dict) -> list[dict]:
    return [{k: v for k, v in e.items() if k != "seconds"} for e in result["trials"]]


def ks_statistic(u: np.ndarray) -> float:
    """D = sup |F_n(x) − x| of samples u against the uniform CDF on [0, 1]."""
    u = np.sort(u)
    n = len(u)
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - u), np.max(u - (i - 1) / n)))


def samples(dist: dict, n: int = 2000, seed: int = 0) -> np.ndarray:
    d = {"x": Distribution.model_validate(dist)}
    return np.array([sample(d, seed, 0, t)["x"] for t in range(n)])


# ---------------------------------------------------------------------------- sampling

def test_log_uniform_samples_have_a_uniform_log10():
    x = samples({"log_uniform": [1e-4, 1.0]})
    assert x.min() >= 1e-4 and x.max() <= 1.0
    u = (np.log10(x) + 4) / 4
    assert math.sqrt(len(u)) * ks_statistic(u) < KS_CRITICAL_1PCT
    # a quarter of α between 1e-4 and 1e-3, as many as between 0.1 and 1 (the course's point)
    assert 0.2 < np.mean(x < 1e-3) < 0.3 and 0.2 < np.mean(x > 0.1) < 0.3


def test_the_ks_test_refuses_a_linear_scale():
    """The same test on U(1e-4, 1) samples: its log10 is far from uniform, so the test can fail."""
    x = samples({"uniform": [1e-4, 1.0]})
    u = (np.log10(x) + 4) / 4
    assert math.sqrt(len(u)) * ks_statistic(u) > 10 * KS_CRITICAL_1PCT
    assert math.sqrt(len(x)) * ks_statistic((x - 1e-4) / (1 - 1e-4)) < KS_CRITICAL_1PCT


def test_one_minus_log_uniform_beta_has_a_uniform_log10_of_one_minus_beta():
    beta = samples({"one_minus_log_uniform": [0.9, 0.999]}, seed=7)
    assert beta.min() >= 0.9 and beta.max() <= 0.999
    u = (np.log10(1 - beta) + 3) / 2  # r = log10(1 − β) ∈ [−3, −1]
    assert math.sqrt(len(u)) * ks_statistic(u) < KS_CRITICAL_1PCT
    # as many β in [0.9, 0.99] as in [0.99, 0.999]: the course's "β near 1 is sensitive"
    assert 0.45 < np.mean(beta < 0.99) < 0.55


def test_draw_formulas_by_hand():
    assert draw(Distribution(log_uniform=(1e-4, 1)), 0.5) == pytest.approx(1e-2)
    assert draw(Distribution(log_uniform=(1e-4, 1)), 0.25) == pytest.approx(1e-3)
    assert draw(Distribution(one_minus_log_uniform=(0.9, 0.999)), 0.5) == pytest.approx(0.99)
    assert draw(Distribution(one_minus_log_uniform=(0.9, 0.999)), 0.0) == pytest.approx(0.999)
    assert draw(Distribution(uniform=(0.5, 1.0)), 0.5) == 0.75
    assert draw(Distribution(int_uniform=(2, 5)), 0.0) == 2
    assert draw(Distribution(int_uniform=(2, 5)), 0.999999) == 5
    assert draw(Distribution(choice=[[8], [8, 8], [16, 16]]), 0.5) == [8, 8]


def test_int_uniform_includes_both_bounds_evenly():
    x = samples({"int_uniform": [2, 5]}, n=800)
    values, counts = np.unique(x, return_counts=True)
    assert values.tolist() == [2, 3, 4, 5]
    assert all(isinstance(v, int) for v in sample({"x": Distribution(int_uniform=(2, 5))}, 0, 0, 1).values())
    assert counts.min() > 150 and counts.max() < 250  # 200 expected each, σ ≈ 12


def test_choice_is_uniform_over_its_values():
    x = samples({"choice": [16, 32, 64, 128]}, n=800)
    _, counts = np.unique(x, return_counts=True)
    assert len(counts) == 4 and counts.min() > 150 and counts.max() < 250


def test_sampling_is_deterministic_and_each_dimension_independent_of_the_others():
    a = {"a": Distribution(log_uniform=(1e-4, 1)), "b": Distribution(uniform=(0, 1))}
    assert sample(a, 3, 0, 17) == sample(a, 3, 0, 17)
    assert sample(a, 3, 0, 17) != sample(a, 3, 0, 18) != sample(a, 4, 0, 17)
    assert sample(a, 3, 1, 17) != sample(a, 3, 0, 17)  # another round
    assert sample({"a": a["a"]}, 3, 0, 17)["a"] == sample(a, 3, 0, 17)["a"]


# ---------------------------------------------------------------------------- spec and configs

def test_trial_config_sets_paths_and_the_derived_seed():
    spec = parse_sweep({"base": TINY, "trials": 3, "seed": 2, "space": {
        "network.hidden": {"choice": [[8], [8, 8]]}, "network.hidden.0": {"int_uniform": [2, 16]}}})
    config = sweep.trial_config(spec, {"network.hidden": [8, 8], "network.hidden.0": 3, "optimizer.beta": 0.95}, 7)
    assert config["network"]["hidden"] == [3, 8]  # the parent first, then its element
    assert config["optimizer"]["beta"] == 0.95
    assert config["seed"] == 10_000 * 2 + 7 == sweep.trial_seed(spec, 7)
    assert config["data"] == TINY["data"] and config["epochs"] == 8  # the base as given
    assert TINY["network"]["hidden"] == [4] and "optimizer" not in TINY  # the base is not changed
    assert sweep.trial_config(spec, {"seed": 42}, 7)["seed"] == 42  # a sampled seed wins
    # a path through keys the base leaves to their defaults: the default list is copied, then set
    bare = parse_sweep({"base": {}, "trials": 2, "space": {"network.hidden.1": {"int_uniform": [5, 9]}}})
    assert sweep.trial_config(bare, {"network.hidden.1": 7}, 0) == {"seed": 0, "network": {"hidden": [4, 7]}}


def test_a_convolutional_layer_is_a_dimension_too():
    base = {"data": {"name": "shapes", "n": 60}, "epochs": 1,
            "network": {"layers": [{"type": "conv", "filters": 4}, {"type": "pool"}, {"type": "flatten"}]}}
    spec = parse_sweep({"base": base, "trials": 2, "space": {"network.layers.0.filters": {"int_uniform": [2, 3]}}})
    config = sweep.trial_config(spec, {"network.layers.0.filters": 3}, 1)
    assert config["network"]["layers"][0] == {"type": "conv", "filters": 3} and "hidden" not in config["network"]
    with pytest.raises(SweepError, match=r"^space.network.layers.0.filters: the value 300 is refused: "):
        parse_sweep({**spec.model_dump(), "space": {"network.layers.0.filters": {"int_uniform": [2, 300]}}})


@pytest.mark.parametrize("change, message", [
    ({"space": {"optimizer.beta": {"one_minus_log_uniform": [0.9, 1.0]}}},
     "space.optimizer.beta: one_minus_log_uniform needs 0 < lo < hi < 1"),
    ({"space": {"optimizer.learning_rate": {"log_uniform": [0, 1]}}},
     "space.optimizer.learning_rate: log_uniform needs 0 < lo < hi"),
    ({"space": {"optimizer.learning_rate": {"log_uniform": [1e-4, 1], "uniform": [0, 1]}}},
     "space.optimizer.learning_rate: give exactly one of"),
    ({"space": {"optimizer.lr": {"log_uniform": [1e-4, 1]}}}, "space.optimizer.lr: no key 'lr' in optimizer"),
    ({"space": {"network.hidden.2": {"int_uniform": [2, 8]}}},
     "space.network.hidden.2: network.hidden has 1 items in the base config (no index 2)"),
    ({"space": {"early_stopping.patience": {"int_uniform": [2, 8]}}},
     "space.early_stopping.patience: early_stopping is null in the base config"),
    ({"space": {"batch_size": {"uniform": [16, 128]}}}, "space.batch_size: batch_size is an integer"),
    ({"space": {"human_error": {"uniform": [0, 0.1]}}}, "space.human_error: human_error is null in the base config"),
    ({"space": {"network.hidden": {"uniform": [1, 2]}}}, "space.network.hidden: network.hidden is list, not a number"),
    ({"space": {"optimizer.learning_rate": {"log_uniform": [1e-4, 1000]}}},
     "space.optimizer.learning_rate: the value 1000.0 is refused: optimizer.learning_rate: Input should be less than or equal to 100"),
    ({"space": {"network.hidden": {"choice": [[4], [4, 4]]}}, "base": {**TINY, "regularization": {"keep_prob": [0.9]}}},
     "space.network.hidden: the value [4, 4] is refused"),
    ({"base": {"optimizer": {"learning_rate": -1}}}, "base.optimizer.learning_rate: Input should be greater than 0"),
    ({"trials": 1001}, "trials: Input should be less than or equal to 1000"),
    ({"metric": "test.accuracy"}, "metric: Input should be"),
    ({"refine": {"rounds": 6}}, "refine.rounds: Input should be less than or equal to 5"),
    ({"spaces": {}}, "spaces: Extra inputs are not permitted"),
])
def test_parse_sweep_errors_name_the_field(change, message):
    obj = {"base": TINY, "trials": 4, **change}
    with pytest.raises(SweepError) as e:
        parse_sweep(obj)
    assert str(e.value).startswith(message), str(e.value)
    assert isinstance(e.value, ValueError)


def test_check_sweep_needs_the_metric_in_the_data():
    no_dev = parse_sweep({"base": {**TINY, "data": {"name": "moons", "split": [1, 0, 0]}}, "trials": 2})
    with pytest.raises(SweepError, match=r"^metric: dev.accuracy needs a dev set"):
        sweep.check_sweep(no_dev)
    sweep.check_sweep(no_dev.model_copy(update={"metric": "train.accuracy"}))
    regression = parse_sweep({"base": {"data": {"name": "reg_plane"}}, "trials": 2})
    with pytest.raises(SweepError, match=r"^metric: dev.accuracy: regression has no accuracy; use dev.cost"):
        sweep.check_sweep(regression)
    sweep.check_sweep(regression.model_copy(update={"metric": "dev.cost"}))
    with pytest.raises(SweepError, match="csv"):
        sweep.check_sweep(parse_sweep({"base": {"data": {"name": "csv"}}, "trials": 2}))


# ---------------------------------------------------------------------------- refine

def entry(trial, acc, lr, beta, units, batch, status="done"):
    return {"trial": trial, "round": 0, "status": status, "dev": {"accuracy": acc, "cost": 1 - acc},
            "params": {"lr": lr, "beta": beta, "units": units, "batch": batch}}


def test_refine_narrows_to_the_best_quarter_by_hand():
    space = {"lr": Distribution(log_uniform=(1e-4, 1)), "beta": Distribution(one_minus_log_uniform=(0.9, 0.999)),
             "units": Distribution(int_uniform=(2, 16)), "batch": Distribution(choice=[16, 32, 64, 128])}
    entries = [entry(0, 0.80, 1e-3, 0.95, 4, 16), entry(1, 0.95, 3e-3, 0.99, 9, 64),
               entry(2, 0.60, 0.5, 0.9, 2, 128), entry(3, 0.97, 1e-2, 0.98, 12, 32),
               entry(4, 0.99, 0.9, 0.9, 16, 16, status="diverged"),  # never ranked
               entry(5, 0.90, 2e-4, 0.997, 3, 16), entry(6, 0.70, 0.2, 0.92, 8, 64),
               entry(7, 0.96, 5e-3, 0.995, 10, 64), entry(8, 0.50, 1e-4, 0.999, 16, 128)]
    # 8 ranked trials, keep_top 0.25 → the best ⌈2⌉: trials 3 (0.97) and 7 (0.96)
    narrowed = sweep.refine_space(space, entries, "dev.accuracy", 0.25)
    assert narrowed["lr"].to_json() == {"log_uniform": [5e-3, 1e-2]}
    assert narrowed["beta"].to_json() == {"one_minus_log_uniform": [0.98, 0.995]}
    assert narrowed["units"].to_json() == {"int_uniform": [10, 12]}
    assert narrowed["batch"].to_json() == {"choice": [32, 64]}  # in the original order
    # keep_top 0.5 → best 4: trials 3, 7, 1 (0.95), 5 (0.90)
    half = sweep.refine_space(space, entries, "dev.accuracy", 0.5)
    assert half["lr"].args == [2e-4, 1e-2] and half["units"].args == [3, 12] and half["batch"].args == [16, 32, 64]
    # by cost (minimized): the lowest 1 − acc is the same best trial
    assert sweep.refine_space(space, entries, "dev.cost", 0.1)["lr"].args == [1e-2, 1e-2]
    # the narrowed space samples inside its range, on its scale
    lr = samples(narrowed["lr"].to_json(), n=200)
    assert lr.min() >= 5e-3 and lr.max() <= 1e-2
    # nothing ranked: unchanged
    assert sweep.refine_space(space, [entries[4]], "dev.accuracy", 0.25) == space


def test_run_sweep_refines_each_round_inside_the_last():
    spec = spec_of(trials=8, refine={"rounds": 2, "keep_top": 0.25})
    with ThreadPoolExecutor(2) as ex:
        result = sweep.run_sweep(spec, ex)
    assert result["status"] == "done" and len(result["trials"]) == 24
    assert [e["trial"] for e in result["trials"]] == list(range(24))
    assert [e["round"] for e in result["trials"]] == [0] * 8 + [1] * 8 + [2] * 8
    spaces = [r["space"] for r in result["rounds"]]
    assert spaces[0]["optimizer.learning_rate"] == {"log_uniform": [1e-3, 0.3]}
    for r in (1, 2):
        lo, hi = spaces[r]["optimizer.learning_rate"]["log_uniform"]
        plo, phi = spaces[r - 1]["optimizer.learning_rate"]["log_uniform"]
        assert plo <= lo <= hi <= phi and (hi - lo) < (phi - plo)
        best = sweep.ranked([e for e in result["trials"] if e["round"] == r - 1], spec.metric)[:2]
        assert [lo, hi] == sorted(e["params"]["optimizer.learning_rate"] for e in best)
        for e in result["trials"]:
            if e["round"] == r:
                assert lo <= e["params"]["optimizer.learning_rate"] <= hi
    assert result["best"] == sweep.ranked(result["trials"], spec.metric)[0]


# ---------------------------------------------------------------------------- trials and executors

def test_run_trial_is_the_train_command_and_diverges_without_raising():
    from engine.trainer import Trainer

    spec = spec_of()
    config = sweep.trial_config(spec, sample(spec.space, spec.seed, 0, 3), 3)
    out = sweep.run_trial(config)
    trainer = Trainer(config)
    trainer.run()
    expected = trainer.result()
    assert out["status"] == expected["status"] == "done" and out["epochs_run"] == 8
    for name in ("train", "dev"):
        assert out[name] == {k: expected[name][k] for k in ("cost", "accuracy")}
    assert out["seconds"] > 0
    blown = sweep.run_trial({**DIVERGING, "optimizer": {"name": "gd", "learning_rate": 10.0}})
    assert blown["status"] == "diverged"
    assert blown["train"]["cost"] is not None  # the last finite parameters are evaluated


def test_diverged_trials_are_kept_and_never_best():
    base = {**DIVERGING, "optimizer": {"name": "gd"}}
    spec = parse_sweep({"base": base, "trials": 6, "seed": 1, "metric": "dev.cost",
                        "space": {"optimizer.learning_rate": {"log_uniform": [1e-3, 30]}}})
    with ThreadPoolExecutor(2) as ex:
        result = sweep.run_sweep(spec, ex)
    statuses = [e["status"] for e in result["trials"]]
    assert "diverged" in statuses and len(statuses) == 6
    assert result["best"] is not None and result["best"]["status"] != "diverged"
    high = parse_sweep({"base": base, "trials": 3, "metric": "dev.cost",
                        "space": {"optimizer.learning_rate": {"log_uniform": [10, 50]}}})
    with ThreadPoolExecutor(2) as ex:
        all_diverged = sweep.run_sweep(high, ex)
    assert [e["status"] for e in all_diverged["trials"]] == ["diverged"] * 3 and all_diverged["best"] is None


def test_the_same_trials_inline_in_threads_and_in_processes():
    spec = spec_of(trials=6, refine={"rounds": 1, "keep_top": 0.5})
    seen = []
    with ThreadPoolExecutor(1) as ex:
        inline = sweep.run_sweep(spec, ex, on_trial=lambda e, p: seen.append((e["trial"], p)))
    with ThreadPoolExecutor(3) as ex:
        threads = sweep.run_sweep(spec, ex)
    with process_pool(2) as pool:
        processes = sweep.run_sweep(spec, pool)
    assert without_seconds(inline) == without_seconds(threads) == without_seconds(processes)
    assert inline["best"]["trial"] == processes["best"]["trial"]
    assert inline["rounds"] == processes["rounds"]
    for e in inline["trials"][:3] + inline["trials"][-2:]:
        alone = sweep.run_trial(sweep.trial_config(spec, e["params"], e["trial"]))
        assert {k: v for k, v in alone.items() if k != "seconds"} == {
            k: e[k] for k in ("status", "epochs_run", "train", "dev")}
    assert [t for t, _ in seen] == list(range(12))  # one executor thread: in order
    assert [p["done"] for _, p in seen] == list(range(1, 13)) and seen[-1][1]["total"] == 12
    assert [p["round"] for _, p in seen] == [0] * 6 + [1] * 6


def _blas_threads() -> tuple:
    """In a pool worker: its BLAS variable and its threads after a matmul (OpenBLAS starts its own)."""
    import os

    a = np.ones((300, 300))
    a @ a
    tasks = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else None
    return os.environ.get("OPENBLAS_NUM_THREADS"), tasks


def test_pool_workers_run_blas_on_one_thread(monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    with process_pool(2) as pool:
        assert pool._max_workers == 2
        env, tasks = pool.submit(_blas_threads).result()
    assert env == "1" and tasks in (1, None)
    default = process_pool()  # one per usable core; no process starts before a submit
    assert default._max_workers == len(__import__("os").sched_getaffinity(0))
    default.shutdown()


def test_cancel_after_the_first_trial_keeps_it_and_does_not_hang():
    spec = spec_of(trials=40, base={**TINY, "epochs": 60})
    cancel = threading.Event()
    start = time.monotonic()
    with process_pool(2) as pool:
        result = sweep.run_sweep(spec, pool, on_trial=lambda e, p: cancel.set(), cancel=cancel)
        pool.abandon()
    assert time.monotonic() - start < 30
    assert result["status"] == "cancelled"
    assert 1 <= len(result["trials"]) < 40
    assert result["best"] is not None and result["best"] in result["trials"]
    # with a thread pool the running trials finish; the pending ones are cancelled
    cancel = threading.Event()
    with ThreadPoolExecutor(1) as ex:
        threads = sweep.run_sweep(spec, ex, on_trial=lambda e, p: cancel.set(), cancel=cancel)
    assert threads["status"] == "cancelled" and 1 <= len(threads["trials"]) <= 3


def test_a_csv_text_replaces_the_dataset():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    rows = [f"{a:.4f},{b:.4f},{int(a + b > 0)}" for a, b in X]
    text = "x1,x2,label\n" + "\n".join(rows) + "\n"
    spec = parse_sweep({"base": {**TINY, "data": {"name": "csv", "split": [0.5, 0.5, 0.0]}}, "trials": 2,
                        "space": {"optimizer.learning_rate": {"log_uniform": [1e-2, 0.1]}}})
    with ThreadPoolExecutor(2) as ex:
        result = sweep.run_sweep(spec, ex, csv_text=text)
    assert result["status"] == "done" and all(e["dev"]["accuracy"] > 0.5 for e in result["trials"])
    with pytest.raises(SweepError, match="line 3"):
        sweep.check_sweep(spec, "x1,x2,label\n1,2,0\n1,2\n")
    # a corner of the space the data refuses (only the data knows these labels are binary)
    outputs = parse_sweep({"base": {**TINY, "data": {"name": "csv"}}, "trials": 4,
                           "space": {"network.output": {"choice": ["sigmoid", "linear"]}}})
    assert sample(outputs.space, 0, 0, 0) == {"network.output": "sigmoid"}  # check_sweep's trial 0 passes
    with ThreadPoolExecutor(2) as ex, pytest.raises(SweepError, match=r'^trial 1 \{"network.output": "linear"\}: '
                                                                     r"network.output: 'linear' does not fit binary data"):
        sweep.run_sweep(outputs, ex, csv_text=text)


def test_results_json_is_strict_with_one_trial_per_line():
    import json

    spec = spec_of(trials=3)
    with ThreadPoolExecutor(2) as ex:
        result = sweep.run_sweep(spec, ex)
    text = sweep.dumps(result)
    assert json.loads(text) == result
    assert sum(line.startswith('  {"trial"') for line in text.splitlines()) == 3


# ---------------------------------------------------------------------------- progress

class _Stream:
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s

    def flush(self):
        pass

    def isatty(self):
        return False


def test_progress_plain_lines_and_bar():
    best = {"trial": 2, "dev": {"accuracy": 0.93}, "status": "done", "seconds": 0.5}
    plain = _Stream()
    show = SweepProgress("dev.accuracy", plain)
    show(best, {"done": 1, "total": 4, "best": best, "round": 0})
    assert plain.text.startswith("trial 2 (round 0): done, dev.accuracy 0.93, 0.50 s; 1/4  best dev.accuracy 0.93 (trial 2)  ETA ")
    assert plain.text.endswith("\n")
    bar = _Stream()
    show = SweepProgress("dev.accuracy", bar, tty=True)
    show(best, {"done": 4, "total": 4, "best": best, "round": 1})
    show.close()
    assert bar.text.startswith("\r[" + "#" * 24 + "] 4/4  best dev.accuracy 0.93 (trial 2)  ETA 0:00")
    assert bar.text.endswith("\n")
    assert clock(42) == "0:42" and clock(3725) == "1:02:05"


def test_the_engine_sweep_never_imports_the_server():
    code = ("import sys, engine.sweep, engine.sweep_exec, engine.progress, engine.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'server'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
