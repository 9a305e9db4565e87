"""nn-playground's engine: the deep-learning course as a vectorized NumPy library (docs/engine-api.md).

OpenBLAS's worker threads spin for about 2^28 cycles after each threaded matmul before they sleep.
On a large layer the engine runs its element-wise passes (g, g', the outer product) on threads of
its own right after each matmul (engine.parallel), and the spinning BLAS threads took those passes'
cores (py-spy, 2-256-256-1 on 10 000 points: ReLU' went from 15 % to 8 % of a step without them;
+2-5 points of the matmul fraction in paired runs of bench/engine_bench.py). So, unless the user
chose otherwise, they sleep at once (2^4 cycles, OpenBLAS's minimum). The price: nets whose
threaded matmuls follow each other closely (64 units on 2 000 points, full batch) run ~3 % slower.
The setting is read when NumPy loads OpenBLAS: it applies when the engine is imported before NumPy.
The server's workers run OpenBLAS on one thread instead (server/workers.py: one worker per core).
"""
import os

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
