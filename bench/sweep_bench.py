"""Hyperparameter sweep throughput: trials/s with 1 and 2 worker processes and on a local Dask
cluster of 2 processes, printed; never pass/fail on timing (exit 0). Runs in about a minute.

Goals (issue #14), for trials of ≥ 0.5 s each: 2 processes ≥ 1.8× the trials/s of 1 on 2 cores;
Dask (LocalCluster(processes=True, n_workers=2, threads_per_worker=1)) ≥ 90 % of the 2-process
pool's rate. Each trial is one config of the same cost (moons, 1000 points, 2-16-16-1 ReLU, Adam,
mini-batches of 64, EPOCHS epochs); the sweep samples α (log-uniform), β₁ (1 − β₁ log-uniform) and
λ (log-uniform), which change the numbers but not the work. trials/s = TRIALS / the wall time of
engine.sweep.run_sweep on an executor whose workers are already started (a warm-up sweep of one
trial per worker first: process start and imports are not counted); executors compared stay up
and take turns, round after round (the machine's load drifts), best of ROUNDS each: the two pools
first, then Dask against a 2-process pool beside the same cluster. Every
worker runs BLAS on one thread (engine/sweep_exec.py; Dask's nanny sets the same variables),
so 2 processes do not fight over 2 cores. The load average before and after is printed: other
programs on the machine lower every figure, the ratios less.

Usage: python bench/sweep_bench.py
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.sweep_exec import PIN_ENV  # noqa: E402  (imports no NumPy)

for _name, _value in PIN_ENV.items():  # this process too, before NumPy loads: the 1-thread baseline
    os.environ.setdefault(_name, _value)

EPOCHS = 650
TRIALS = 16
ROUNDS = 3
BASE = {"data": {"name": "moons", "n": 1000, "noise": 0.2}, "network": {"hidden": [16, 16]},
        "batch_size": 64, "epochs": EPOCHS}
SPACE = {"optimizer.learning_rate": {"log_uniform": [1e-3, 3e-2]},
         "optimizer.beta1": {"one_minus_log_uniform": [0.8, 0.99]},
         "regularization.l2": {"log_uniform": [1e-4, 1e-1]}}


def warm(executor, workers: int) -> None:
    """A short trial per worker (~0.1 s each, so every worker takes one): processes started, engine
    imported, before any timing."""
    from engine import sweep

    sweep.run_sweep(sweep.parse_sweep({"base": {**BASE, "epochs": 30}, "trials": workers, "space": SPACE}), executor)


def sweep_rate(executor, seed: int) -> tuple[float, list[float]]:
    """(trials/s of one sweep of TRIALS, each trial's seconds in its worker)."""
    from engine import sweep

    spec = sweep.parse_sweep({"base": BASE, "trials": TRIALS, "seed": seed, "space": SPACE})
    start = time.perf_counter()
    result = sweep.run_sweep(spec, executor)
    return TRIALS / (time.perf_counter() - start), [e["seconds"] for e in result["trials"]]


def race(executors: dict) -> dict[str, tuple[float, float]]:
    """name -> (best trials/s over ROUNDS, mean seconds of a trial in its worker); the executors
    take turns on the same trials round after round (the machine's load drifts)."""
    for executor, workers in executors.values():
        warm(executor, workers)
    rates = {name: [] for name in executors}
    seconds = {name: [] for name in executors}
    for r in range(ROUNDS):
        for name, (executor, _) in executors.items():
            rate, trial_seconds = sweep_rate(executor, r)
            rates[name].append(rate)
            seconds[name] += trial_seconds
    for name in executors:
        print(f"{name}: {max(rates[name]):6.2f} trials/s   (rounds: {', '.join(f'{x:.2f}' for x in rates[name])}; "
              f"a trial takes {sum(seconds[name]) / len(seconds[name]):.2f} s in its worker)")
    return {name: max(values) for name, values in rates.items()}


def main() -> int:
    from engine.sweep_exec import dask_executor, process_pool

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}  "
          f"(cores usable: {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()})")
    print(f"{TRIALS} trials per sweep, {EPOCHS} epochs each; best of {ROUNDS} rounds, the executors interleaved")
    # The process pools first, with no Dask cluster up: its idle scheduler, nannies and workers
    # (heartbeats) took ~8 % of the 2-process pool's rate.
    with process_pool(1) as one_pool, process_pool(2) as two_pool:
        best = race({"process pool, 1 worker ": (one_pool, 1), "process pool, 2 workers": (two_pool, 2)})
    one, two = best["process pool, 1 worker "], best["process pool, 2 workers"]
    print(f"  2 processes / 1 process: {two / one:.2f}x   (goal >= 1.8x on 2 cores)")
    try:
        from distributed import LocalCluster
    except ImportError:
        print("Dask: distributed is not installed (python3 -m pip install 'nn-playground[sweep]'): skipped")
    else:  # then Dask against the 2-process pool, both beside the same idle cluster
        with LocalCluster(processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None,
                          silence_logs=40) as cluster, dask_executor(cluster.scheduler_address) as dask, \
                process_pool(2) as two_pool:
            best = race({"process pool, 2 workers": (two_pool, 2), "Dask LocalCluster, 2 proc.": (dask, 2)})
        print(f"  Dask / 2-process pool: {best['Dask LocalCluster, 2 proc.'] / best['process pool, 2 workers']:.0%}"
              "   (goal >= 90 %)")
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
