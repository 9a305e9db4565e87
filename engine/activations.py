"""Activation functions g and their derivatives g' (course notation: A = g(Z), dZ = dA * g'(Z)).

Each `Activation` carries three functions built for one backend (`xp`):

    forward(Z, out=None) -> A = g(Z)           out=Z computes in place (Z is then overwritten)
    backward(dA, A) -> dZ = dA * g'(Z)         in place on dA; g' is expressed through A = g(Z)
    derivative(Z) -> g'(Z)                     for tests and plots, not used in training

Why g' through A: the network then keeps only A[l] in its cache (Z[l] is overwritten in place),
and every supported g has a derivative that A determines:
    sigmoid     g = 1/(1+e^-z)        g' = a(1-a)
    tanh        g = tanh z            g' = 1 - a²
    relu        g = max(0, z)         g' = 1 if a > 0 else 0     (a > 0 exactly when z > 0)
    leaky_relu  g = max(s·z, z)       g' = 1 if a > 0 else s     (slope s in [0, 1])
    linear      g = z                 g' = 1
    softmax     a_j = e^{z_j}/Σ_k e^{z_k} (output only; with cross-entropy dZ = A - Y)
At the kink z = 0, ReLU's derivative is taken as 0 and leaky ReLU's as s.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

HIDDEN = ("sigmoid", "tanh", "relu", "leaky_relu", "linear")
OUTPUTS = ("sigmoid", "softmax", "linear")


@dataclass(frozen=True)
class Activation:
    name: str
    forward: Callable[..., Any]
    backward: Callable[[Any, Any], Any]
    derivative: Callable[[Any], Any]


def make_activation(name: str, xp, leaky_slope: float = 0.01) -> Activation:
    """The Activation `name` (one of HIDDEN or "softmax") for array module `xp`."""
    if name not in _FACTORIES:
        raise ValueError(f"unknown activation {name!r}: allowed {sorted(_FACTORIES)}")
    if name == "leaky_relu" and not 0.0 <= leaky_slope <= 1.0:
        raise ValueError(f"leaky_slope {leaky_slope} must be in [0, 1]")
    return _FACTORIES[name](xp, leaky_slope)


def _sigmoid(xp, _slope) -> Activation:
    multiply, tanh = xp.multiply, xp.tanh

    def forward(Z, out=None):
        # σ(z) = (1 + tanh(z/2)) / 2: no overflow warning for large |z|, unlike 1/(1+e^-z).
        A = multiply(Z, 0.5, out=out)
        tanh(A, out=A)
        A *= 0.5
        A += 0.5
        return A

    def backward(dA, A):
        t = 1.0 - A
        t *= A
        dA *= t
        return dA

    return Activation("sigmoid", forward, backward, lambda Z: backward(xp.ones_like(Z), forward(Z)))


def _tanh(xp, _slope) -> Activation:
    tanh, multiply, subtract = xp.tanh, xp.multiply, xp.subtract

    def forward(Z, out=None):
        return tanh(Z, out=out)

    def backward(dA, A):
        t = multiply(A, A)
        subtract(1.0, t, out=t)
        dA *= t
        return dA

    return Activation("tanh", forward, backward, lambda Z: backward(xp.ones_like(Z), forward(Z)))


def _relu(xp, _slope) -> Activation:
    maximum, greater, multiply = xp.maximum, xp.greater, xp.multiply

    def forward(Z, out=None):
        return maximum(Z, 0.0, out=out)

    def backward(dA, A):
        # dtype= makes NumPy use the float loop (casting the bool mask) — 2× faster than dA *= mask
        return multiply(dA, greater(A, 0.0), out=dA, dtype=dA.dtype)

    return Activation("relu", forward, backward, lambda Z: backward(xp.ones_like(Z), forward(Z)))


def _leaky_relu(xp, slope) -> Activation:
    maximum, multiply, greater = xp.maximum, xp.multiply, xp.greater

    def forward(Z, out=None):
        # max(s·z, z) equals z for z > 0 and s·z otherwise because 0 <= s <= 1.
        return maximum(Z, multiply(Z, slope), out=out)

    def backward(dA, A):
        # g' = s + (1 - s)·1[a > 0]; avoids xp.where, which is several times slower
        t = multiply(greater(A, 0.0), 1.0 - slope, dtype=dA.dtype)
        t += slope
        dA *= t
        return dA

    return Activation("leaky_relu", forward, backward, lambda Z: backward(xp.ones_like(Z), forward(Z)))


def _linear(xp, _slope) -> Activation:
    def forward(Z, out=None):
        if out is None or out is Z:
            return Z
        out[...] = Z
        return out

    def backward(dA, A):
        return dA

    return Activation("linear", forward, backward, lambda Z: xp.ones_like(Z))


def _softmax(xp, _slope) -> Activation:
    subtract, exp = xp.subtract, xp.exp

    def forward(Z, out=None):
        # Subtracting the column max leaves softmax unchanged and keeps e^z finite.
        A = subtract(Z, Z.max(axis=0, keepdims=True), out=out)
        exp(A, out=A)
        A /= A.sum(axis=0, keepdims=True)
        return A

    def backward(dA, A):
        # Full Jacobian product: dZ = A * (dA - Σ_j A_j dA_j); the network uses dZ = A - Y instead.
        s = (A * dA).sum(axis=0, keepdims=True)
        dA -= s
        dA *= A
        return dA

    def derivative(Z):
        A = forward(Z)
        return A * (1.0 - A)  # diagonal of the Jacobian ∂a_j/∂z_j

    return Activation("softmax", forward, backward, derivative)


_FACTORIES = {
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "relu": _relu,
    "leaky_relu": _leaky_relu,
    "linear": _linear,
    "softmax": _softmax,
}
