"""Element-wise passes over large arrays, split into row blocks that run on several threads.

Why: BLAS runs the matmuls of a large layer on every core, while a NumPy ufunc (ReLU, its
derivative g', the outer product W[L]ᵀ dZ[L]) runs on one; on a 256 × 10 000 layer those passes
took a third of a training step. Ufuncs release the GIL, so row blocks of the same pass run in
parallel on threads. Rows are independent in every hidden activation and its derivative, so the
result is identical to the one-thread pass. Arrays under MIN_SIZE values (every playground-size
net) run inline: handing work to a thread costs ~20 µs. Each block runs in a copy of the caller's
context, so np.errstate (the trainer silences overflow, a diverging run is reported instead)
applies to the worker threads too, and errors reach the caller.
"""
from __future__ import annotations

import contextvars
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

MIN_SIZE = 1 << 18  # values (2 MB of float64) from which a pass is split over threads
MAX_THREADS = 4     # element-wise passes are memory bound: more threads stop helping


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


THREADS = max(1, min(MAX_THREADS, _usable_cpus()))
_pool = None
_pool_pid = None  # a pool inherited through fork() has no threads: make a new one in the child
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid():
        with _pool_lock:
            if _pool is None or _pool_pid != os.getpid():
                _pool = ThreadPoolExecutor(THREADS - 1, thread_name_prefix="engine-rows")
                _pool_pid = os.getpid()
    return _pool


def by_rows(fn, *arrays, shared=()):
    """fn(*(a[r0:r1] for a in arrays), *shared) over row blocks [r0, r1) covering all rows of
    arrays[0] (every array has that many rows), on up to THREADS threads when the arrays are
    large; for an element-wise fn writing its result in place this equals fn(*arrays, *shared)."""
    rows = arrays[0].shape[0]
    parts = min(THREADS, rows)
    if parts < 2 or arrays[0].size < MIN_SIZE:
        fn(*arrays, *shared)
        return
    cuts = [rows * k // parts for k in range(parts + 1)]
    pool = _executor()
    futures = [pool.submit(contextvars.copy_context().run, fn, *(a[cuts[k]:cuts[k + 1]] for a in arrays), *shared)
               for k in range(1, parts)]
    try:
        fn(*(a[:cuts[1]] for a in arrays), *shared)
    finally:
        wait(futures)  # never return (or raise) while a thread still writes into the arrays
    for f in futures:
        f.result()  # re-raises a worker's exception
