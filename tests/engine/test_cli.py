"""`python -m engine ...` run as a user would: subprocess, files in tmp_path, exit codes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def engine(*args):
    """Run the CLI; stdout/stderr decoded without newline translation (the progress line uses \\r)."""
    proc = subprocess.run([sys.executable, "-m", "engine", *map(str, args)], cwd=ROOT,
                          capture_output=True, timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def write(path: Path, obj) -> Path:
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return path


SMALL = {
    "data": {"name": "moons", "n": 120, "noise": 0.2, "split": [0.6, 0.2, 0.2]},
    "network": {"hidden": [6], "activation": "tanh"},
    "optimizer": {"name": "adam", "learning_rate": 0.02},
    "batch_size": 16, "epochs": 15,
}


def test_train_writes_the_result_json(tmp_path):
    out = tmp_path / "result.json"
    proc = engine("train", write(tmp_path / "c.json", SMALL), "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert "\repoch " in proc.stderr and "cost" in proc.stderr and "lr" in proc.stderr
    r = json.loads(out.read_text())
    assert r["status"] == "done" and r["epochs_run"] == 15 and r["iterations"] == 15 * 5  # ⌈72/16⌉
    assert r["examples"] == {"train": 72, "dev": 24, "test": 24}
    for name in ("train", "dev", "test"):
        assert 0.0 <= r[name]["accuracy"] <= 1.0 and r[name]["cost"] > 0
    assert len(r["history"]["train_cost"]) == len(r["history"]["dev_cost"]) == 15
    assert np.array(r["parameters"]["W1"]).shape == (6, 2)
    assert np.array(r["parameters"]["b2"]).shape == (1, 1)
    assert r["config"]["optimizer"]["learning_rate"] == 0.02
    assert r["network"]["layers"] == [2, 6, 1]


def test_train_without_out_prints_json_on_stdout(tmp_path):
    proc = engine("train", write(tmp_path / "c.json", {**SMALL, "epochs": 2}), "--quiet")
    assert proc.returncode == 0 and proc.stderr == ""
    assert json.loads(proc.stdout)["epochs_run"] == 2


def test_init_from_continues_and_zero_epochs_evaluates(tmp_path):
    first, again, more = tmp_path / "1.json", tmp_path / "2.json", tmp_path / "3.json"
    assert engine("train", write(tmp_path / "c.json", SMALL), "--out", first, "--quiet").returncode == 0
    r1 = json.loads(first.read_text())
    proc = engine("train", write(tmp_path / "c0.json", {**SMALL, "epochs": 0}), "--init-from", first,
                  "--out", again, "--quiet")
    assert proc.returncode == 0, proc.stderr
    r2 = json.loads(again.read_text())
    assert r2["epochs_run"] == 0 and r2["iterations"] == 0
    assert r2["parameters"] == r1["parameters"]
    assert r2["train"]["cost"] == pytest.approx(r1["train"]["cost"], rel=1e-12)
    assert engine("train", tmp_path / "c.json", "--init-from", first, "--out", more, "--quiet").returncode == 0
    r3 = json.loads(more.read_text())
    assert r3["train"]["cost"] < r1["train"]["cost"]  # continued from r1, not restarted


def test_init_from_shape_mismatch_is_a_clear_error(tmp_path):
    result = tmp_path / "r.json"
    engine("train", write(tmp_path / "c.json", {**SMALL, "epochs": 1}), "--out", result, "--quiet")
    other = write(tmp_path / "o.json", {**SMALL, "network": {"hidden": [5]}})
    proc = engine("train", other, "--init-from", result)
    assert proc.returncode == 2
    assert "--init-from" in proc.stderr and "W1" in proc.stderr and "Traceback" not in proc.stderr
    proc = engine("train", other, "--init-from", write(tmp_path / "x.json", {"status": "done"}))
    assert proc.returncode == 2 and "parameters" in proc.stderr


def test_csv_with_split_column(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    labels = (X[:, 0] + X[:, 1] > 0).astype(int)
    sets = ["train"] * 30 + ["dev"] * 6 + ["test"] * 4
    rows = ["x1,x2,label,split"] + [f"{a:.6f},{b:.6f},{y},{s}" for (a, b), y, s in zip(X, labels, sets)]
    csv = write(tmp_path / "d.csv", "\n".join(rows) + "\n")
    cfg = write(tmp_path / "c.json", {"data": {"name": "csv"}, "network": {"hidden": []},
                                      "optimizer": {"learning_rate": 0.1}, "batch_size": 64, "epochs": 200})
    out = tmp_path / "r.json"
    proc = engine("train", cfg, "--data", csv, "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    r = json.loads(out.read_text())
    assert r["examples"] == {"train": 30, "dev": 6, "test": 4}
    assert r["train"]["accuracy"] >= 0.9  # linearly separable through the origin
    assert engine("train", cfg).returncode == 2  # data.name "csv" needs --data


def test_bad_csv_reports_the_data_modules_message(tmp_path):
    csv = write(tmp_path / "bad.csv", "x1,x2,label\n1,2,0\n3,4,oops\n")
    proc = engine("train", write(tmp_path / "c.json", SMALL), "--data", csv)
    assert proc.returncode == 2
    assert "line 3" in proc.stderr and "label" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("config, key", [
    ({"optimizer": {"learning_rat": 0.1}}, "optimizer.learning_rat"),
    ({"batch_size": 0}, "batch_size"),
    ({"network": {"hidden": [4, 2000]}}, "network.hidden"),
])
def test_config_error_names_the_key(tmp_path, config, key):
    proc = engine("train", write(tmp_path / "c.json", config))
    assert proc.returncode == 2
    assert key in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_unreadable_config_is_a_clear_error(tmp_path):
    proc = engine("train", write(tmp_path / "c.json", "{not json"))
    assert proc.returncode == 2 and "invalid JSON" in proc.stderr
    proc = engine("train", tmp_path / "missing.json")
    assert proc.returncode == 2 and "cannot read" in proc.stderr


def test_diverged_run_exits_3_with_finite_parameters(tmp_path):
    cfg = {"data": {"name": "reg_plane", "n": 200, "noise": 0.1}, "network": {"hidden": [8, 8]},
           "optimizer": {"name": "gd", "learning_rate": 10.0}, "batch_size": 32, "epochs": 200}
    out = tmp_path / "r.json"
    proc = engine("train", write(tmp_path / "c.json", cfg), "--out", out)
    assert proc.returncode == 3
    assert "diverged at iteration" in proc.stderr and "Traceback" not in proc.stderr
    r = json.loads(out.read_text())  # strict JSON: NaN would not parse back as a number
    assert r["status"] == "diverged" and r["diverged_at"] > 0
    assert np.all(np.isfinite(np.array(r["parameters"]["W2"])))


def test_gradcheck_prints_difference_and_verdict(tmp_path):
    cfg = {**SMALL, "regularization": {"l2": 0.5}}
    proc = engine("gradcheck", write(tmp_path / "c.json", cfg))
    assert proc.returncode == 0, proc.stderr
    difference = float(proc.stdout.split("relative difference:")[1].split()[0])
    assert difference < 1e-7
    assert "verdict: great" in proc.stdout


def test_gradcheck_of_a_convnet_checks_its_first_images(tmp_path):
    cfg = {"data": {"name": "shapes", "size": 8, "n": 40}, "dtype": "float32",
           "network": {"layers": [{"type": "conv", "filters": 2, "size": 3, "activation": "tanh"},
                                  {"type": "pool", "mode": "average", "size": 2, "stride": 2}, {"type": "flatten"}]},
           "regularization": {"l2": 0.1}}
    proc = engine("gradcheck", write(tmp_path / "c.json", cfg), "--examples", "5")
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.split("relative difference:")[1].split()[0]) < 1e-7
    assert "(5 examples" in proc.stdout and "verdict: great" in proc.stdout and "checked in float64" in proc.stdout


def test_gradcheck_with_dropout_says_it_is_switched_off(tmp_path):
    cfg = {**SMALL, "regularization": {"keep_prob": 0.5}}
    proc = engine("gradcheck", write(tmp_path / "c.json", cfg))
    assert proc.returncode == 0
    assert "dropout" in proc.stderr and "verdict:" in proc.stdout


def test_docs_list_every_config_key():
    from engine.configdoc import leaf_keys

    doc = (ROOT / "docs" / "config.md").read_text()
    missing = [key for key in leaf_keys() if f"`{key}`" not in doc]
    assert not missing, f"docs/config.md does not document {missing}"
    proc = engine("config-table")
    assert proc.returncode == 0 and "`optimizer.learning_rate`" in proc.stdout
