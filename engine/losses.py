"""Data costs J of the three output/loss pairs, computed stably from the logits Z[L].

    sigmoid + binary cross-entropy   J = -(1/m) Σ [y log ŷ + (1-y) log(1-ŷ)],  ŷ = σ(z)
        = (1/m) Σ [max(z, 0) - z·y + log(1 + e^-|z|)]          (log-sigmoid form, never log 0)
    softmax + categorical CE         J = -(1/m) Σ_i Σ_j y_ji log ŷ_ji
        = (1/m) Σ_i Σ_j y_ji [log Σ_k e^{s_ki} - s_ji],  s = z - max_k z   (log-sum-exp form)
    linear + mean squared error      J = (1/2m) Σ (ŷ - y)²       (the 1/2 makes dJ/dz = (ŷ-y)/m)

With these pairs the output gradient is the same for all three: dZ[L] = (A[L] - Y) / m.

Each Loss has `from_logits(xp, ZL, Y)` (stable, used whenever Z[L] is available) and
`from_output(xp, AL, Y)` (used when only A[L] is known; ŷ is clipped to [1e-15, 1 - 1e-15] so the
cost stays finite). Both return a Python float. Sums run over every row, so several sigmoid or
linear outputs add up per example.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

CLIP = 1e-15


@dataclass(frozen=True)
class Loss:
    name: str
    output: str
    from_logits: Callable[..., float]
    from_output: Callable[..., float]


def bce_from_logits(xp, ZL, Y) -> float:
    """Binary cross-entropy from logits: (1/m) Σ [max(z,0) - z·y + log1p(e^-|z|)]."""
    m = ZL.shape[1]
    per = xp.maximum(ZL, 0.0) - ZL * Y + xp.log1p(xp.exp(-xp.abs(ZL)))
    return float(per.sum()) / m


def bce_from_output(xp, AL, Y) -> float:
    """Binary cross-entropy from probabilities ŷ (clipped): -(1/m) Σ [y log ŷ + (1-y) log(1-ŷ)]."""
    m = AL.shape[1]
    A = xp.clip(AL, CLIP, 1.0 - CLIP)
    return -float((Y * xp.log(A) + (1.0 - Y) * xp.log1p(-A)).sum()) / m


def cce_from_logits(xp, ZL, Y) -> float:
    """Categorical cross-entropy from logits with log-sum-exp: (1/m) ΣΣ y (logΣe^s - s)."""
    m = ZL.shape[1]
    S = ZL - ZL.max(axis=0, keepdims=True)
    log_norm = xp.log(xp.exp(S).sum(axis=0, keepdims=True))
    return float((Y * (log_norm - S)).sum()) / m


def cce_from_output(xp, AL, Y) -> float:
    """Categorical cross-entropy from probabilities (clipped): -(1/m) ΣΣ y log ŷ."""
    m = AL.shape[1]
    return -float((Y * xp.log(xp.clip(AL, CLIP, 1.0))).sum()) / m


def mse(xp, AL, Y) -> float:
    """Mean squared error with the course's 1/2: (1/2m) Σ (ŷ - y)²."""
    m = AL.shape[1]
    D = AL - Y
    return float((D * D).sum()) / (2.0 * m)


LOSSES = {
    "sigmoid": Loss("binary_cross_entropy", "sigmoid", bce_from_logits, bce_from_output),
    "softmax": Loss("categorical_cross_entropy", "softmax", cce_from_logits, cce_from_output),
    "linear": Loss("mean_squared_error", "linear", mse, mse),
}


def loss_for_output(output: str) -> Loss:
    """The loss paired with output activation `output` (sigmoid/softmax/linear)."""
    try:
        return LOSSES[output]
    except KeyError:
        raise ValueError(f"unknown output {output!r}: allowed {sorted(LOSSES)}") from None
