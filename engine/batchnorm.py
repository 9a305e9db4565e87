"""Batch normalization of a hidden layer's Z (course notation, statistics over the mini-batch).

Training (per unit, over the m columns of the mini-batch):
    μ = (1/m) Σ_i z_i      σ² = (1/m) Σ_i (z_i - μ)²
    Z_norm = (Z - μ) / √(σ² + ε)      Z̃ = γ Z_norm + β          (γ, β learned; b is redundant)
Running statistics for prediction, exponentially weighted averages with momentum β_bn:
    μ_run := β_bn μ_run + (1 - β_bn) μ      σ²_run := β_bn σ²_run + (1 - β_bn) σ²
    (they start at μ_run = 0, σ²_run = 1; σ² is the biased mini-batch variance above)
Test time:  Z̃ = γ (Z - μ_run) / √(σ²_run + ε) + β
Backward, given dZ̃ = ∂J/∂Z̃:
    dβ = Σ_i dZ̃_i      dγ = Σ_i dZ̃_i · Z_norm_i
    dZ = γ / √(σ² + ε) · (dZ̃ - (dβ + Z_norm · dγ) / m)
All functions work in place where noted, to avoid temporaries on large layers. Statistics are
taken over the last axis, so the same functions serve one net's (n[l], m) arrays and the stacked
(S, n[l], m) arrays of engine.batched (S runs, each over its own m columns).
"""
from __future__ import annotations


def forward_train(xp, Z, gamma, beta, epsilon: float, out=None):
    """Normalize Z with its own batch statistics.

    Overwrites Z with Z_norm. Returns (Z̃, Z_norm, inv_std, μ, σ²) with inv_std = 1/√(σ² + ε);
    Z̃ is written into `out` when given (an array shaped like Z), else a new array.
    """
    inv_m = 1.0 / Z.shape[-1]
    mu = Z.sum(axis=-1, keepdims=True)
    mu *= inv_m
    Z -= mu
    var = xp.square(Z).sum(axis=-1, keepdims=True)
    var *= inv_m
    inv_std = 1.0 / xp.sqrt(var + epsilon)
    Z *= inv_std
    Zt = xp.multiply(Z, gamma, out=out)
    Zt += beta
    return Zt, Z, inv_std, mu, var


def forward_test(xp, Z, gamma, beta, running_mean, running_var, epsilon: float):
    """Z̃ = γ (Z - μ_run)/√(σ²_run + ε) + β, computed in place on Z (returned)."""
    scale = gamma / xp.sqrt(running_var + epsilon)
    Z *= scale
    Z += beta - running_mean * scale
    return Z


def update_running(running_mean, running_var, mu, var, momentum: float) -> None:
    """μ_run := β μ_run + (1-β) μ and σ²_run := β σ²_run + (1-β) σ², in place."""
    running_mean *= momentum
    running_mean += (1.0 - momentum) * mu
    running_var *= momentum
    running_var += (1.0 - momentum) * var


def backward(dZt, Z_norm, inv_std, gamma, dgamma, dbeta):
    """Fill dγ, dβ (views of the flat gradient buffer) and return dZ (computed in place on dZ̃)."""
    inv_m = 1.0 / dZt.shape[-1]
    dZt.sum(axis=-1, keepdims=True, out=dbeta)
    (dZt * Z_norm).sum(axis=-1, keepdims=True, out=dgamma)
    t = Z_norm * dgamma
    t += dbeta
    t *= inv_m
    dZt -= t
    dZt *= gamma * inv_std
    return dZt
