"""Element-wise passes over large arrays, split into row blocks that run on several threads.

Why: BLAS runs the matmuls of a large layer on every core, while a NumPy ufunc (ReLU, its
derivative g', the outer product W[L]ᵀ dZ[L]) runs on one; on a 256 × 10 000 layer those passes
took a third of a training step. Ufuncs release the GIL, so row blocks of the same pass run in
parallel on threads. Rows are independent in every hidden activation and its derivative, and a
blocked pass (block > 0, a matmul per block) is split only at multiples of its block, so every
call sees the same rows as on one thread: the result is bit-identical to the one-thread pass.
Arrays under MIN_SIZE values (every playground-size net) run inline: handing work to a thread
costs ~20 µs.

Blocks are handed out one at a time (TASKS_PER_THREAD per thread), and the caller's thread works
too: when another process holds the other core, the caller simply does most blocks itself
instead of waiting for a thread that gets no CPU. Each thread runs in a copy of the caller's
context, so np.errstate (the trainer silences overflow, a diverging run is reported instead)
applies to it, and an error in any block reaches the caller once no block is running any more.
"""
from __future__ import annotations

import contextvars
import os
import threading
from concurrent.futures import ThreadPoolExecutor

MIN_SIZE = 1 << 18     # values (2 MB of float64) from which a pass is split over threads
MAX_THREADS = 4        # element-wise passes are memory bound: more threads stop helping
TASKS_PER_THREAD = 4   # blocks per thread, so an idle thread can take over a slow one's share


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


def by_rows(fn, *arrays, shared=(), block=0):
    """fn(*(a[r0:r1] for a in arrays), *shared) over row blocks [r0, r1) covering all rows of
    arrays[0] (every array has that many rows), on up to THREADS threads when the arrays are
    large; for a row-wise fn writing its result in place this equals fn(*arrays, *shared).
    block > 0: each call gets at most `block` values of arrays[0] (at least one row)."""
    rows, size = arrays[0].shape[0], arrays[0].size
    step = max(1, block // (size // rows)) if block and size else 1
    blocks = -(-rows // step)  # the thread split cuts only between these, as the inline pass does
    tasks = min(THREADS * TASKS_PER_THREAD, blocks)
    if THREADS < 2 or tasks < 2 or size < MIN_SIZE:
        if not block or step >= rows:
            fn(*arrays, *shared)
        else:
            _blocks(fn, arrays, shared, 0, rows, step)
        return
    cuts = [min(rows, step * (blocks * k // tasks)) for k in range(tasks + 1)]
    job = _Job(fn, arrays, shared, cuts, step if block else rows)
    pool = _executor()
    for _ in range(THREADS - 1):
        pool.submit(contextvars.copy_context().run, job.run)
    job.run()
    job.finished.wait()  # never return (or raise) while a thread still writes into the arrays
    if job.error is not None:
        raise job.error


class _Job:
    """Row ranges cuts[k]:cuts[k+1] of one by_rows call, taken one at a time by its threads."""

    def __init__(self, fn, arrays, shared, cuts, step):
        self.fn, self.arrays, self.shared, self.cuts, self.step = fn, arrays, shared, cuts, step
        self.taken = self.done = 0
        self.lock, self.finished, self.error = threading.Lock(), threading.Event(), None

    def run(self) -> None:
        tasks = len(self.cuts) - 1
        while True:
            with self.lock:
                k = self.taken
                self.taken += 1
            if k >= tasks:  # all taken (a thread that starts late finds nothing to do)
                return
            try:
                _blocks(self.fn, self.arrays, self.shared, self.cuts[k], self.cuts[k + 1], self.step)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
                self.error = self.error or exc
            with self.lock:
                self.done += 1
                if self.done == tasks:
                    self.finished.set()


def _blocks(fn, arrays, shared, start, stop, step):
    """fn on rows [start, stop) of every array, `step` rows at a time."""
    for r in range(start, stop, step):
        end = min(r + step, stop)
        fn(*(a[r:end] for a in arrays), *shared)
