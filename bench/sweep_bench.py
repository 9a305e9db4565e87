"""Hyperparameter sweep throughput: trials/s with 1 and 2 worker processes and on a local Dask
cluster of 2 processes, printed; never pass/fail on timing (exit 0). Runs in about a minute.

Goals (issue #14), for trials of ≥ 0.5 s each: 2 processes ≥ 1.8× the trials/s of 1 on 2 cores;
Dask (LocalCluster(processes=True, n_workers=2, threads_per_worker=1)) ≥ 90 % of the 2-process
pool's rate. Each trial is one config of the same cost (moons, 1000 points, 2-16-16-1 ReLU, Adam,
mini-batches of 64, EPOCHS epochs); the sweep samples α (log-uniform), β₁ (1 − β₁ log-uniform) and
λ (log-uniform), which change the numbers but not the work. trials/s = TRIALS / the wall time of
engine.sweep.run_sweep on an executor whose workers are already started (a warm-up sweep of one
trial per worker first: process start and imports are not counted); best of ROUNDS. Every
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

EPOCHS = 160
TRIALS = 16
ROUNDS = 2
BASE = {"data": {"name": "moons", "n": 1000, "noise": 0.2}, "network": {"hidden": [16, 16]},
        "batch_size": 64, "epochs": EPOCHS}
SPACE = {"optimizer.learning_rate": {"log_uniform": [1e-3, 3e-2]},
         "optimizer.beta1": {"one_minus_log_uniform": [0.8, 0.99]},
         "regularization.l2": {"log_uniform": [1e-4, 1e-1]}}


def measure(executor, workers: int, rounds: int = ROUNDS) -> tuple[float, float]:
    """(best trials/s over `rounds` sweeps of TRIALS, mean seconds of one trial) on a warm executor."""
    from engine import sweep

    warm = sweep.parse_sweep({"base": {**BASE, "epochs": 5}, "trials": workers, "space": SPACE})
    sweep.run_sweep(warm, executor)
    rates, seconds = [], []
    for r in range(rounds):
        spec = sweep.parse_sweep({"base": BASE, "trials": TRIALS, "seed": r, "space": SPACE})
        start = time.perf_counter()
        result = sweep.run_sweep(spec, executor)
        rates.append(TRIALS / (time.perf_counter() - start))
        seconds += [e["seconds"] for e in result["trials"]]
    return max(rates), sum(seconds) / len(seconds)


def main() -> int:
    from engine.sweep_exec import dask_executor, process_pool

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}  "
          f"(cores usable: {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()})")
    print(f"{TRIALS} trials per sweep, {EPOCHS} epochs each, best of {ROUNDS}")
    figures = {}
    for workers in (1, 2):
        with process_pool(workers) as pool:
            figures[workers] = measure(pool, workers)
        rate, trial = figures[workers]
        print(f"process pool, {workers} worker{'s' if workers > 1 else ' '}:  {rate:6.2f} trials/s   "
              f"(a trial takes {trial:.2f} s in its worker)")
    one, two = figures[1][0], figures[2][0]
    print(f"  2 processes / 1 process: {two / one:.2f}x   (goal >= 1.8x)")
    try:
        from distributed import LocalCluster
    except ImportError:
        print("Dask: distributed is not installed (python3 -m pip install 'nn-playground[sweep]'): skipped")
    else:
        with LocalCluster(processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None,
                          silence_logs=40) as cluster, dask_executor(cluster.scheduler_address) as executor:
            rate, trial = measure(executor, 2)
        print(f"Dask LocalCluster, 2 processes: {rate:6.2f} trials/s   (a trial takes {trial:.2f} s in its worker)")
        print(f"  Dask / 2-process pool: {rate / two:.0%}   (goal >= 90 %)")
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
