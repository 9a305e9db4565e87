"""The large-pass path: engine.network's forward and backward, same formulas, faster on big arrays.

The course's passes (engine/network.py) allocate fresh arrays and add the bias apart: the fastest
choice for the playground's nets. From LARGE_MIN values (m·max(n[l]), NumPy backend) on, the
element-wise passes over (n[l], m) arrays cost as much as the matmuls, and the Network hands its
passes to `FastPasses` (passes.py) instead:
    - the bias rides in the matmul, Z[l] = [W | b] [A[l-1]; 1ᵀ], [dW | db] = dZ [A[l-1]; 1ᵀ]ᵀ, and
      A[l] is written straight into the next layer's [A[l]; 1ᵀ]; a layer with a narrow input
      (fused.NARROW) does its matmul, g, g' and [dW | db] by blocks of rows, in cache (fused.py);
    - training passes with arrays of 8 MB and more reuse their Z/A/dA buffers between calls with
      the same m (workspace.py), never while a caller still holds a cache or an A[l] of theirs;
    - g, g' and the outer product W[L]ᵀ dZ[L] (one output unit) run on row blocks in threads
      (parallel.py), as BLAS runs the matmuls.
Contract: the same A[L] and gradients as the course's path (tests/engine/test_network.py,
"fast paths": to 1e-9 against the course's formulas, bit-identical for every thread split, and
gradient checks of this path forced at small sizes). CuPy always takes the course's path: its
kernels are asynchronous and it pools memory itself.
"""
from engine.fast.passes import FastPasses

LARGE_MIN = 1 << 14  # m·max(n[l]) from which a pass takes this path

__all__ = ["FastPasses", "LARGE_MIN"]
