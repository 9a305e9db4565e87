"""Weight initialization: W[l] = randn(n[l], n[l-1]) · scale, b[l] = 0.

    zeros    scale = 0 (every unit of a layer stays identical: symmetry is never broken)
    random   scale = init_scale (course default 0.01; large values saturate tanh/sigmoid)
    he       scale = √(2 / n[l-1])          (ReLU)
    xavier   scale = √(1 / n[l-1])          (tanh)
    glorot   scale = √(2 / (n[l-1] + n[l]))

Weights are drawn on the host with a NumPy Generator (`engine.backend.host_rng(seed)`) so one
seed gives the same network on every backend and dtype; the network copies them into its buffer.
"""
from __future__ import annotations

import math

INITS = ("zeros", "random", "he", "xavier", "glorot")


def init_std(init: str, n_prev: int, n: int, init_scale: float = 0.01) -> float:
    """Standard deviation of the entries of W[l] (shape (n, n_prev)) under scheme `init`."""
    if init == "zeros":
        return 0.0
    if init == "random":
        return float(init_scale)
    if init == "he":
        return math.sqrt(2.0 / n_prev)
    if init == "xavier":
        return math.sqrt(1.0 / n_prev)
    if init == "glorot":
        return math.sqrt(2.0 / (n_prev + n))
    raise ValueError(f"unknown init {init!r}: allowed {list(INITS)}")


def init_weights(init: str, layer_dims, rng, init_scale: float = 0.01) -> list:
    """[W1, ..., WL] as host arrays, W[l] (n[l], n[l-1]) = rng.standard_normal · init_std.

    `rng` is a NumPy Generator; layers are drawn in order so a seed fixes every layer.
    """
    weights = []
    for n_prev, n in zip(layer_dims[:-1], layer_dims[1:]):
        std = init_std(init, n_prev, n, init_scale)
        W = rng.standard_normal((n, n_prev))
        W *= std
        weights.append(W)
    return weights
