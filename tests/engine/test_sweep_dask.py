"""The Dask path of engine.sweep: a LocalCluster of 2 worker processes trains the same trials."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from engine import sweep
from engine.sweep_exec import dask_executor, stop

distributed = pytest.importorskip("distributed")

TINY = {"data": {"name": "moons", "n": 120, "noise": 0.2, "split": [0.7, 0.3, 0.0]},
        "network": {"hidden": [4], "activation": "tanh"}, "batch_size": 32, "epochs": 8}
SPEC = {"base": TINY, "trials": 6, "seed": 11,
        "space": {"optimizer.learning_rate": {"log_uniform": [1e-3, 0.3]},
                  "optimizer.beta1": {"one_minus_log_uniform": [0.8, 0.99]},
                  "network.hidden": {"choice": [[4], [6, 3]]}},
        "refine": {"rounds": 1, "keep_top": 0.5}}


def without_seconds(result: dict) -> list[dict]:
    return [{k: v for k, v in e.items() if k != "seconds"} for e in result["trials"]]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  dashboard_address=None, silence_logs=40) as local:
        yield local


def test_a_local_cluster_trains_the_same_trials(cluster):
    spec = sweep.parse_sweep(SPEC)
    with ThreadPoolExecutor(2) as ex:
        local = sweep.run_sweep(spec, ex)
    seen = []
    with dask_executor(cluster.scheduler_address) as executor:
        remote = sweep.run_sweep(spec, executor, on_trial=lambda e, p: seen.append(p["done"]))
    assert remote["status"] == "done" and len(remote["trials"]) == 12
    assert without_seconds(remote) == without_seconds(local)
    assert remote["rounds"] == local["rounds"] and remote["best"]["trial"] == local["best"]["trial"]
    assert seen == list(range(1, 13))
    e = remote["trials"][7]
    alone = sweep.run_trial(sweep.trial_config(spec, e["params"], e["trial"]))
    assert {k: v for k, v in alone.items() if k != "seconds"} == {
        k: e[k] for k in ("status", "epochs_run", "train", "dev")}
    # the workers really are other processes
    with distributed.Client(cluster.scheduler_address) as client:
        assert len(client.scheduler_info()["workers"]) == 2


def test_cancel_on_dask_keeps_the_finished_trials(cluster):
    spec = sweep.parse_sweep({**SPEC, "trials": 60, "refine": None, "base": {**TINY, "epochs": 60}})
    cancel = threading.Event()
    start = time.monotonic()
    with dask_executor(cluster.scheduler_address) as executor:
        result = sweep.run_sweep(spec, executor, on_trial=lambda e, p: cancel.set(), cancel=cancel)
        stop(executor)
    assert time.monotonic() - start < 30
    assert result["status"] == "cancelled" and 1 <= len(result["trials"]) < 60
    # the cluster is free again: a new sweep runs to the end
    with dask_executor(cluster.scheduler_address) as executor:
        again = sweep.run_sweep(sweep.parse_sweep({**SPEC, "trials": 2, "refine": None}), executor)
    assert again["status"] == "done" and len(again["trials"]) == 2


def test_dask_missing_names_the_sweep_extra(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "distributed", None)
    with pytest.raises(ModuleNotFoundError, match=r"the optional `sweep` extra.*nn-playground\[sweep\]"):
        with dask_executor("tcp://127.0.0.1:8786"):
            pass
