"""`python -m engine sweep`: as a user runs it (subprocess, files in tmp_path, exit codes, Ctrl-C), and
in-process through engine.cli.main where the worker processes are not the point."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from engine import sweep, sweep_exec
from engine.cli import main

ROOT = Path(__file__).resolve().parents[2]

TINY = {"data": {"name": "moons", "n": 120, "noise": 0.2, "split": [0.7, 0.3, 0.0]},
        "network": {"hidden": [4], "activation": "tanh"}, "batch_size": 32, "epochs": 8}
SWEEP = {"base": TINY, "trials": 4, "seed": 9,
         "space": {"optimizer.learning_rate": {"log_uniform": [1e-3, 0.3]},
                   "optimizer.beta2": {"one_minus_log_uniform": [0.99, 0.9999]},
                   "network.hidden.0": {"int_uniform": [2, 6]}},
         "refine": {"rounds": 1, "keep_top": 0.5}}


def engine(*args):
    proc = subprocess.run([sys.executable, "-m", "engine", *map(str, args)], cwd=ROOT, capture_output=True, timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def write(path: Path, obj) -> Path:
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return path


def test_sweep_with_two_workers_writes_the_results_and_each_trial_is_train(tmp_path):
    out = tmp_path / "results.json"
    proc = engine("sweep", write(tmp_path / "s.json", SWEEP), "--workers", 2, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert sum(line.startswith("trial ") for line in lines) == 8  # not a TTY: one plain line per trial
    assert "8/8  best dev.accuracy" in proc.stderr and "ETA" in proc.stderr
    assert lines[-1].startswith("done: 8 trials (0 diverged); best dev.accuracy")
    r = json.loads(out.read_text())
    assert r["status"] == "done" and r["metric"] == "dev.accuracy"
    assert [e["trial"] for e in r["trials"]] == list(range(8))
    assert [e["round"] for e in r["trials"]] == [0] * 4 + [1] * 4
    assert r["best"] in r["trials"] and r["best"] == sweep.ranked(r["trials"], "dev.accuracy")[0]
    assert set(r["trials"][0]) == {"trial", "round", "params", "status", "epochs_run", "train", "dev", "seconds"}
    spec = sweep.parse_sweep(SWEEP)
    for e in (r["trials"][1], r["trials"][6]):
        config = write(tmp_path / f"t{e['trial']}.json", sweep.trial_config(spec, e["params"], e["trial"]))
        train = engine("train", config, "--quiet", "--out", tmp_path / "train.json")
        assert train.returncode == 0, train.stderr
        expected = json.loads((tmp_path / "train.json").read_text())
        assert e["status"] == expected["status"] and e["epochs_run"] == expected["epochs_run"]
        for name in ("train", "dev"):
            assert e[name] == {k: expected[name][k] for k in ("cost", "accuracy")}


@pytest.fixture
def threads(monkeypatch):
    """In-process runs of main() with threads for workers (the pool is tested above and in test_sweep.py)."""
    monkeypatch.setattr(sweep_exec, "process_pool", lambda workers=None: ThreadPoolExecutor(workers or 2))


def test_results_on_stdout_quiet_and_a_csv(tmp_path, capsys, threads):
    rows = [f"{i / 40 - 1:.3f},{(i * 7 % 40) / 20 - 1:.3f},{int(i % 3 == 0)}" for i in range(80)]
    csv = write(tmp_path / "d.csv", "x1,x2,label\n" + "\n".join(rows) + "\n")
    spec = {**SWEEP, "trials": 2, "refine": None}
    assert main(["sweep", str(write(tmp_path / "s.json", spec)), "--data", str(csv), "--workers", "1", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    r = json.loads(captured.out)
    assert r["status"] == "done" and len(r["trials"]) == 2 and r["rounds"][0]["round"] == 0
    assert r["trials"][0]["train"]["accuracy"] is not None


def test_every_trial_diverged_exits_3(tmp_path, capsys, threads):
    spec = {"base": {"data": {"name": "reg_plane", "n": 200, "noise": 0.1}, "network": {"hidden": [8, 8]},
                     "optimizer": {"name": "gd"}, "batch_size": 32, "epochs": 40},
            "trials": 2, "metric": "dev.cost", "space": {"optimizer.learning_rate": {"log_uniform": [10, 50]}}}
    assert main(["sweep", str(write(tmp_path / "s.json", spec)), "--out", str(tmp_path / "r.json")]) == 3
    assert "every one of the 2 trials diverged" in capsys.readouterr().err
    r = json.loads((tmp_path / "r.json").read_text())
    assert [e["status"] for e in r["trials"]] == ["diverged", "diverged"] and r["best"] is None


def test_errors_exit_2_naming_the_field(tmp_path, capsys):
    """In-process (engine.cli.main, as `python -m engine` calls it): no pool starts for these."""
    def error(*args, sweep_obj=None):
        path = write(tmp_path / "bad.json", sweep_obj) if sweep_obj is not None else None
        argv = ["sweep", *([str(path)] if path else []), *map(str, args)]
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's usage errors
            code = e.code
        assert code == 2, (code, capsys.readouterr().err)
        captured = capsys.readouterr()
        assert captured.out == "" and "Traceback" not in captured.err
        return captured.err

    err = error(sweep_obj={**SWEEP, "space": {"optimizer.beta": {"one_minus_log_uniform": [0.9, 1.5]}}})
    assert "invalid sweep" in err and "space.optimizer.beta: one_minus_log_uniform needs 0 < lo < hi < 1" in err
    err = error(sweep_obj={**SWEEP, "space": {"network.hidden.3": {"int_uniform": [2, 4]}}})
    assert "space.network.hidden.3: network.hidden has 1 items" in err
    err = error(sweep_obj={**SWEEP, "base": {**TINY, "epochs": -1}})
    assert "base.epochs: Input should be greater than or equal to 0" in err
    err = error(sweep_obj={**SWEEP, "base": {**TINY, "data": {"name": "moons", "split": [1, 0, 0]}}})
    assert "metric: dev.accuracy needs a dev set" in err
    err = error(sweep_obj={**SWEEP, "base": {"data": {"name": "csv"}}})
    assert "give the file with --data FILE.csv" in err
    assert "cannot read sweep" in error(str(tmp_path / "missing.json"))
    assert "invalid JSON" in error(sweep_obj="{nope")
    bad_csv = write(tmp_path / "bad.csv", "x1,x2,label\n1,2,0\n1,oops,1\n")
    assert "bad.csv: line 3" in error("--data", bad_csv, sweep_obj=SWEEP)
    assert "--workers 0: give at least 1" in error("--workers", 0, sweep_obj=SWEEP)
    assert "not allowed with argument" in error("--workers", 2, "--dask", "tcp://127.0.0.1:8786", sweep_obj=SWEEP)
    proc = engine("sweep", write(tmp_path / "s.json", {**SWEEP, "trials": 0}))  # and as a subprocess
    assert proc.returncode == 2 and proc.stderr.startswith("error: invalid sweep")
    assert "trials: Input should be greater than or equal to 1" in proc.stderr and "Traceback" not in proc.stderr


def test_dask_without_distributed_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    assert main(["sweep", str(write(tmp_path / "s.json", SWEEP)), "--dask", "tcp://127.0.0.1:8786"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "the optional `sweep` extra" in err and "nn-playground[sweep]" in err


def test_ctrl_c_writes_the_finished_trials_and_exits_130(tmp_path):
    spec = {**SWEEP, "trials": 200, "refine": None, "base": {**TINY, "epochs": 60}}
    out = tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, "-m", "engine", "sweep", str(write(tmp_path / "s.json", spec)),
                             "--workers", "2", "--out", str(out)], cwd=ROOT, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        first = proc.stderr.readline()
        assert first.startswith("trial "), first
        start = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the CLI and its workers
        rest = proc.stderr.read()
        assert proc.wait(timeout=30) == 130, rest
        assert time.monotonic() - start < 15
    finally:
        proc.kill()
    assert "cancelled: " in rest and "Traceback" not in rest
    r = json.loads(out.read_text())
    assert r["status"] == "cancelled"
    assert 1 <= len(r["trials"]) < 200
    assert r["best"] in r["trials"]
