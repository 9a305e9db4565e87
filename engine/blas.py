"""OpenBLAS's idle threads: let them sleep at once after a matmul (call before NumPy is imported).

OpenBLAS's worker threads spin for about 2^28 cycles after each threaded matmul before they sleep.
On a large layer the engine runs its element-wise passes (g, g', the outer product) on threads of
its own right after each matmul (engine.fast.parallel), and the spinning BLAS threads took those
passes' cores (py-spy, 2-256-256-1 on 10 000 points: ReLU' went from 15 % to 8 % of a step without
them; +2-5 points of the matmul fraction in paired runs of bench/engine_bench.py). So the programs
that train large nets with threaded BLAS (the CLI, `python -m engine`, and the benchmarks) call
`short_thread_spin()` first: unless the user chose otherwise, the threads sleep at once (2^4
cycles, OpenBLAS's minimum). The price: nets whose threaded matmuls follow each other closely (64
units on 2 000 points, full batch) run ~3 % slower. A library user may call it too; importing the
engine changes nothing. The server's workers run OpenBLAS on one thread instead
(server/workers.py: one worker per core), where the timeout does not matter.
"""
from __future__ import annotations

import os
import sys

THREAD_TIMEOUT = "4"  # OPENBLAS_THREAD_TIMEOUT: 2^4 cycles of spinning (the minimum)


def short_thread_spin() -> bool:
    """Set OPENBLAS_THREAD_TIMEOUT=4 in this process's environment unless it is set already.

    OpenBLAS reads it when NumPy loads it: returns False (the setting came too late for this
    process; child processes still inherit it) when NumPy was imported before the call."""
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", THREAD_TIMEOUT)
    return "numpy" not in sys.modules
