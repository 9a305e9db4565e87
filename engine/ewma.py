"""Exponentially weighted (moving) averages, the idea behind momentum, RMSprop, Adam and the
running batch-norm statistics.

    v_0 = 0,   v_t = β v_{t-1} + (1-β) θ_t            averages over ≈ 1/(1-β) steps
    bias-corrected:  v_t / (1 - β^t)                  fixes the start (v_0 = 0 pulls early values down)

Also a deterministic noisy daily-temperature series for the lab's EWMA explorer.
"""
from __future__ import annotations

import math

from engine.backend import get_backend, host_rng, to_numpy
from engine.checks import check_field, check_int
from engine.config import OptimizerConfig

_xp = get_backend("numpy", "float64").xp  # host-side curves: always NumPy float64
_BLOCK = 256  # chunk length of the vectorized recurrence (see ewma)


def _checked_beta(beta) -> float:
    return check_field(OptimizerConfig, "beta", beta)  # momentum's β is this average's β


def ewma(series, beta: float, bias_correction: bool = True):
    """v_t = β v_{t-1} + (1-β) θ_t for t = 1..n (v_0 = 0), divided by (1-β^t) if bias_correction.

    `series` is 1-D (θ_1..θ_n); returns a NumPy float64 array of the same length.
    Vectorized: the series is cut into chunks of 256; inside a chunk the recurrence is one
    matrix product with the lower-triangular matrix (1-β)β^(j-i); only the value carried from one
    chunk to the next is a (scalar) loop, n/256 iterations.
    """
    beta = _checked_beta(beta)
    theta = _xp.asarray(to_numpy(series), dtype=_xp.float64)
    if theta.ndim != 1:
        raise ValueError(f"series has shape {theta.shape}: must be 1-D")
    n = theta.shape[0]
    if n == 0:
        return theta.copy()
    block = min(_BLOCK, n)
    chunks = -(-n // block)
    X = _xp.zeros(chunks * block)
    X[:n] = theta
    X = X.reshape(chunks, block)
    j = _xp.arange(block)
    lag = j[:, None] - j[None, :]                                  # j - i
    T = _xp.where(lag >= 0, beta ** _xp.maximum(lag, 0), 0.0) * (1.0 - beta)
    local = X @ T.T          # local[c, j]: the EWMA of chunk c alone, started from v = 0
    decay = beta ** (j + 1.0)  # weight of the value carried into the chunk, after j+1 steps
    carry = _xp.zeros(chunks)  # v just before each chunk
    beta_block = beta ** block
    for c in range(1, chunks):
        carry[c] = beta_block * carry[c - 1] + local[c - 1, -1]
    v = (local + carry[:, None] * decay[None, :]).ravel()[:n]
    if bias_correction:
        v /= 1.0 - _xp.power(beta, _xp.arange(1.0, n + 1.0))
    return v


def averaging_window(beta: float) -> float:
    """1/(1-β): the number of recent steps ("days") an EWMA with this β roughly averages over."""
    return 1.0 / (1.0 - _checked_beta(beta))


def window_reading(beta: float, unit: str = "days") -> str:
    """The course's reading of β, e.g. 0.9 -> "≈ 10 days", 0.98 -> "≈ 50 days", 0.5 -> "≈ 2 days"."""
    days = f"{round(averaging_window(beta), 1):.1f}".rstrip("0").rstrip(".")
    return f"≈ {days} {unit}"


def temperature_series(days: int = 365, seed: int = 0):
    """(day, temperature): a deterministic noisy daily temperature-like series for `seed`.

    temperature_d = 11 + 8·sin(2π(d - 105)/365) + 3·N(0, 1) °C for d = 1..days — a seasonal
    curve (cold in January, warm in July) under day-to-day noise, like the course's London data.
    Returns two NumPy float64 arrays of length `days`.
    """
    days = check_int("days", days, 1, 100_000)
    seed = check_int("seed", seed, 0, 2**32 - 1)
    day = _xp.arange(1.0, days + 1.0)
    noise = _xp.asarray(host_rng(seed).standard_normal(days))
    return day, 11.0 + 8.0 * _xp.sin(2.0 * math.pi * (day - 105.0) / 365.0) + 3.0 * noise
