"""Gradient descent, momentum, RMSprop and Adam — in increasing complexity, as the course writes them.

Every optimizer updates ONE flat parameter buffer `theta` in place from ONE flat gradient buffer
`grads` (all layers at once), so an update costs a handful of array calls whatever the network
size. State (VdW, SdW) and one scratch buffer are preallocated; every operation writes with
`out=` or in place, so no temporary array is allocated per step.

    gradient descent   W -= α dW
    momentum           VdW = β VdW + (1-β) dW;         W -= α VdW
    RMSprop            SdW = β₂ SdW + (1-β₂) dW²;      W -= α dW / (√SdW + ε)
    Adam               VdW = β₁ VdW + (1-β₁) dW;  SdW = β₂ SdW + (1-β₂) dW²;  t += 1
                       V̂dW = VdW / (1-β₁ᵗ),  ŜdW = SdW / (1-β₂ᵗ)   (when bias_correction)
                       W -= α V̂dW / (√ŜdW + ε)
    Nesterov momentum  VdW = β VdW + (1-β) dW;         W -= α (β VdW + (1-β) dW)
                       (2-D lab paths only: `PATH_ONLY`, not an OptimizerConfig name)

`t` counts the updates made since creation or `reset()`. Changing β₁ live with `configure` keeps
t, so the next correction uses the new β₁ with the old t (the course's formula, evaluated now).
"""
from __future__ import annotations

import math
from typing import Any

from engine.backend import get_backend
from engine.checks import check_field
from engine.config import OptimizerConfig, optimizer_uses

# Which optimizer reads which hyperparameter: OptimizerConfig's `used_by` marks (engine/config.py).
USES = optimizer_uses()
# Hyperparameters `configure` accepts: those some optimizer reads (their ranges: OptimizerConfig's).
HYPERPARAMETERS = tuple(key for key in OptimizerConfig.model_fields if any(key in keys for keys in USES.values()))


def default_backend():
    """NumPy float64, the backend used when `backend=None` (only .xp and .dtype are used)."""
    return get_backend("numpy", "float64")


class Optimizer:
    """Base class: plain gradient descent `θ -= α dθ` on a flat buffer of `size` parameters."""

    name = "gd"
    buffers: tuple[str, ...] = ()  # names of the state buffers this optimizer keeps
    uses: tuple[str, ...] = USES["gd"]  # names of the hyperparameters its update rule reads

    def __init__(self, size: int, backend=None, *, beta: float = 0.9, beta1: float = 0.9,
                 beta2: float = 0.999, epsilon: float = 1e-8, bias_correction: bool = True):
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size = {size!r}: must be a positive integer (number of parameters)")
        self.backend = backend if backend is not None else default_backend()
        self.xp = self.backend.xp
        self.dtype = self.backend.dtype
        self.size = size
        self.t = 0
        # Every optimizer stores every hyperparameter, so `configure` from a generic "set"
        # message works whatever the optimizer; each one only reads its own.
        self.beta = self.beta1 = self.beta2 = 0.0
        self.epsilon = 1e-8
        self.bias_correction = True
        self.configure(beta=beta, beta1=beta1, beta2=beta2, epsilon=epsilon,
                       bias_correction=bias_correction)
        self._tmp = self.xp.zeros(size, dtype=self.dtype)  # scratch, reused by every update
        self._state = {name: self.xp.zeros(size, dtype=self.dtype) for name in self.buffers}

    # ---- public API -------------------------------------------------------------------------
    def update(self, theta, grads, lr: float) -> None:
        """One step in place on `theta` from `grads` (same flat shape) with learning rate `lr`."""
        if theta.shape != (self.size,) or grads.shape != (self.size,):
            raise ValueError(
                f"theta {theta.shape} and grads {grads.shape} must both have shape ({self.size},)"
            )
        self.t += 1
        self._step(theta, grads, float(lr))

    def configure(self, **hyper: Any) -> None:
        """Live change of beta / beta1 / beta2 / epsilon / bias_correction; VdW, SdW and t kept.

        Each value is checked as its OptimizerConfig field (engine.checks.check_field: strictly, a
        bool is no number, a string no bool), the one place its range is written: the optimizers
        are public API, which a library user (or the lab's 2-D paths) calls without a TrainConfig.
        A bad value raises ValueError naming the key, and changes nothing.
        """
        unknown = set(hyper) - set(HYPERPARAMETERS)
        if unknown:
            raise ValueError(
                f"unknown optimizer hyperparameter(s) {sorted(unknown)}: allowed {list(HYPERPARAMETERS)}"
            )
        checked = {key: check_field(OptimizerConfig, key, value) for key, value in hyper.items()}
        for key, value in checked.items():  # all validated first: a bad value changes nothing
            setattr(self, key, value)

    @property
    def state(self) -> dict:
        """{"VdW": flat buffer, "SdW": flat buffer, "t": updates so far}; only the buffers this
        optimizer keeps are present (GD: just t). The buffers are live views, not copies."""
        return {**self._state, "t": self.t}

    @property
    def hyperparameters(self) -> dict:
        """The hyperparameters this optimizer reads, e.g. {"beta": 0.9} for momentum."""
        return {key: getattr(self, key) for key in self.uses}

    def reset(self) -> None:
        """Zero VdW and SdW and restart t at 0 (as for a freshly initialized network)."""
        for buf in self._state.values():
            buf.fill(0)
        self.t = 0

    # ---- the update rule ----------------------------------------------------------------------
    def _step(self, theta, grads, lr: float) -> None:
        xp, tmp = self.xp, self._tmp
        xp.multiply(grads, lr, out=tmp)  # α dW
        theta -= tmp                     # W -= α dW

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v}" for k, v in self.hyperparameters.items())
        return f"{type(self).__name__}(size={self.size}{', ' if hyper else ''}{hyper}, t={self.t})"


class GD(Optimizer):
    """Gradient descent: W -= α dW."""


class Momentum(Optimizer):
    """Momentum: VdW = β VdW + (1-β) dW; W -= α VdW (β = 0.9 averages ≈ the last 10 gradients)."""

    name = "momentum"
    buffers = ("VdW",)
    uses = USES["momentum"]

    def _step(self, theta, grads, lr: float) -> None:
        xp, tmp, V = self.xp, self._tmp, self._state["VdW"]
        xp.multiply(grads, 1.0 - self.beta, out=tmp)  # (1-β) dW
        V *= self.beta
        V += tmp                                       # VdW = β VdW + (1-β) dW
        xp.multiply(V, lr, out=tmp)
        theta -= tmp                                   # W -= α VdW


class RMSprop(Optimizer):
    """RMSprop: SdW = β₂ SdW + (1-β₂) dW²; W -= α dW / (√SdW + ε)."""

    name = "rmsprop"
    buffers = ("SdW",)
    uses = USES["rmsprop"]

    def _step(self, theta, grads, lr: float) -> None:
        xp, tmp, S = self.xp, self._tmp, self._state["SdW"]
        xp.multiply(grads, grads, out=tmp)
        tmp *= 1.0 - self.beta2
        S *= self.beta2
        S += tmp                          # SdW = β₂ SdW + (1-β₂) dW²
        xp.sqrt(S, out=tmp)
        tmp += self.epsilon               # √SdW + ε
        xp.divide(grads, tmp, out=tmp)
        tmp *= lr
        theta -= tmp                      # W -= α dW / (√SdW + ε)


class Adam(Optimizer):
    """Adam: momentum + RMSprop with bias correction, W -= α V̂dW / (√ŜdW + ε).

    With c₁ = 1-β₁ᵗ and c₂ = 1-β₂ᵗ, V̂/(√Ŝ + ε) = (√c₂/c₁)·V/(√S + ε√c₂): the corrections are
    folded into two scalars instead of two extra passes over the buffers (same value).
    """

    name = "adam"
    buffers = ("VdW", "SdW")
    uses = USES["adam"]

    def _step(self, theta, grads, lr: float) -> None:
        xp, tmp, V, S = self.xp, self._tmp, self._state["VdW"], self._state["SdW"]
        b1, b2 = self.beta1, self.beta2
        xp.multiply(grads, 1.0 - b1, out=tmp)
        V *= b1
        V += tmp                          # VdW = β₁ VdW + (1-β₁) dW
        xp.multiply(grads, grads, out=tmp)
        tmp *= 1.0 - b2
        S *= b2
        S += tmp                          # SdW = β₂ SdW + (1-β₂) dW²
        if self.bias_correction:
            c1, c2 = 1.0 - b1 ** self.t, 1.0 - b2 ** self.t
        else:
            c1 = c2 = 1.0
        root_c2 = math.sqrt(c2)
        xp.sqrt(S, out=tmp)
        tmp += self.epsilon * root_c2     # √S + ε√c₂  (= √c₂ (√Ŝ + ε))
        xp.divide(V, tmp, out=tmp)
        tmp *= lr * root_c2 / c1          # α V̂ / (√Ŝ + ε)
        theta -= tmp


class Nesterov(Optimizer):
    """Nesterov momentum in the course's notation (β, VdW, α):

        VdW = β VdW + (1-β) dW;     W -= α (β VdW + (1-β) dW)

    i.e. the step uses the velocity one update ahead. It is the "look-ahead" rule — the
    gradient taken at W - αβ VdW instead of at W — rewritten so the gradient is taken at the
    current point (the variable the rule tracks is the look-ahead point). Compared with momentum
    (`W -= α VdW`) the newest gradient weighs (1-β)(1+β) instead of (1-β), so a turn of the
    gradient (the far wall of a valley) brakes the point one step earlier.

    Only the optimizer lab's 2-D paths use it (engine/surfaces.py; `PATH_ONLY`): the playground's
    OptimizerConfig does not name it, so the Trainer and BatchedTrainer never run it.
    """

    name = "nesterov"
    buffers = ("VdW",)
    uses = USES["momentum"]

    def _step(self, theta, grads, lr: float) -> None:
        xp, tmp, V = self.xp, self._tmp, self._state["VdW"]
        b = self.beta
        xp.multiply(grads, 1.0 - b, out=tmp)  # (1-β) dW
        V *= b
        V += tmp                               # VdW = β VdW + (1-β) dW
        tmp *= lr
        theta -= tmp                           # W -= α (1-β) dW ...
        xp.multiply(V, lr * b, out=tmp)
        theta -= tmp                           # ... and α β VdW (the new VdW)


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "gd": GD, "momentum": Momentum, "rmsprop": RMSprop, "adam": Adam,
}
# Update rules only the 2-D paths of the optimizer lab run (engine/surfaces.py PathOptimizerConfig).
PATH_ONLY: dict[str, type[Optimizer]] = {"nesterov": Nesterov}


def make_optimizer(cfg: OptimizerConfig | dict, size: int, backend=None) -> Optimizer:
    """The optimizer `cfg.name` for `size` parameters, with the config's hyperparameters.

    (The learning rate is not stored: it is passed to every `update`, so schedules can change it.)
    """
    if not isinstance(cfg, OptimizerConfig):
        cfg = OptimizerConfig.model_validate(cfg)
    return (OPTIMIZERS.get(cfg.name) or PATH_ONLY[cfg.name])(
        size, backend, beta=cfg.beta, beta1=cfg.beta1, beta2=cfg.beta2,
        epsilon=cfg.epsilon, bias_correction=cfg.bias_correction,
    )
