"""Executors for engine.sweep.run_sweep: a local process pool, or a Dask distributed cluster.

Both are concurrent.futures Executors; a sweep's trials are sampled in the calling process, so
each executor trains the same trials to the same numbers. This module imports no NumPy: a pool
worker's initializer runs before the first trial is unpickled (which imports the engine and NumPy).

- `process_pool(workers)`: one process per core by default, started with "spawn" (never fork:
  the server's process has threads, and fork copies their locks). Each worker pins its BLAS to one
  thread (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS = 1 unless set already), so N
  workers on N cores do not fight over them, and ignores SIGINT: Ctrl-C in a terminal reaches
  the whole process group, and the parent alone decides to cancel (`abandon()`).
- `dask_executor(address)`: distributed.Client(address).get_executor(), closed with the context.
  Dask's nanny starts its workers with the same BLAS variables at 1 (its config
  `distributed.nanny.pre-spawn-environ`). Every worker needs nn-playground installed.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Iterator, Optional

PIN_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
DASK_CONNECT_TIMEOUT = "10s"
DASK_MISSING = ("--dask needs Dask distributed, the optional `sweep` extra: "
                "python3 -m pip install 'nn-playground[sweep]' (or: python3 -m pip install distributed)")


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def init_worker(nice: int = 0) -> None:
    """A pool worker's initializer, run before any trial (and NumPy) loads: one BLAS thread
    (PIN_ENV, unless set already), SIGINT ignored, and os.nice(nice) when nice > 0 (where
    permitted). It must come from a module that imports no NumPy, as this one: OpenBLAS reads
    its thread count when NumPy loads it. For another pool: functools.partial(init_worker, nice=10)."""
    for name, value in PIN_ENV.items():
        os.environ.setdefault(name, value)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice > 0:
        try:
            os.nice(nice)
        except OSError:  # not permitted (some containers): the usual priority
            pass


class SweepPool(ProcessPoolExecutor):
    """A ProcessPoolExecutor that can also drop its running trials at once (`abandon`)."""

    def abandon(self) -> None:
        """Cancel the pending trials and end the worker processes, running trials included
        (a cancelled sweep does not wait for them); the pool is shut down."""
        processes = list((getattr(self, "_processes", None) or {}).values())
        self.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(5)


def process_pool(workers: Optional[int] = None) -> SweepPool:
    """A pool of `workers` processes (default: one per usable core), spawn-started, BLAS pinned."""
    if workers is not None and workers < 1:
        raise ValueError(f"workers: {workers} must be at least 1")
    return SweepPool(max_workers=workers or usable_cpus(), mp_context=multiprocessing.get_context("spawn"),
                     initializer=init_worker)


@contextlib.contextmanager
def dask_executor(address) -> Iterator:
    """`with dask_executor("tcp://HOST:8786") as executor:` — a concurrent.futures Executor on a
    Dask distributed cluster (`address` may also be a LocalCluster); the client closes on exit.
    ModuleNotFoundError naming the `sweep` extra when distributed is not installed; OSError when
    the scheduler cannot be reached within DASK_CONNECT_TIMEOUT."""
    try:
        from distributed import Client
    except ImportError:
        raise ModuleNotFoundError(DASK_MISSING, name="distributed") from None
    with Client(address, timeout=DASK_CONNECT_TIMEOUT) as client:
        executor = client.get_executor(pure=False)
        try:
            yield executor
        finally:
            executor.shutdown(wait=False)  # cancels the trials still pending (none after a full sweep)


def stop(executor) -> None:
    """Stop an executor without waiting for its running trials (after a cancelled sweep)."""
    if isinstance(executor, SweepPool):
        executor.abandon()
    elif isinstance(executor, Executor) and not hasattr(executor, "_client"):
        executor.shutdown(wait=False, cancel_futures=True)
    else:  # Dask's ClientExecutor: wait=False cancels its futures
        executor.shutdown(wait=False)
