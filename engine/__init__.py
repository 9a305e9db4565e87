"""nn-playground's engine: the deep-learning course as a vectorized NumPy library (docs/engine-api.md).

OpenBLAS's worker threads spin for about 2^28 cycles after each threaded matmul before they sleep.
On a large layer the engine runs its element-wise passes (g, g', the outer product) on threads of
its own right after each matmul (engine.parallel), and the spinning BLAS threads took those passes'
cores: a large net's step reached 4-7 points less of the matmul rate (bench/engine_bench.py). So,
unless the user chose otherwise, they sleep at once (2^4 cycles, OpenBLAS's minimum). The setting
is read when NumPy loads OpenBLAS: it applies when the engine is imported before NumPy.
"""
import os

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
