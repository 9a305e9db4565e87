"""What a training step reports: a Snapshot of counters, costs, accuracies and norms.

Every number in `Snapshot.to_dict()` is a finite Python float (or int / bool / str) or None, so
the dict can go to JSON, a websocket frame header or SQLite without NaN/inf surprises.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional


def finite_or_none(value: Any) -> Optional[float]:
    """float(value) if it is a finite number, else None (NaN, ±inf and None all become None)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def json_safe(value: Any) -> Any:
    """Recursively replace non-finite floats by None in dicts / lists / tuples of plain values."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist"):  # NumPy / CuPy scalars and arrays
        return json_safe(value.tolist())
    return value


@dataclass
class SetMetrics:
    """Full-set metrics in test mode (no dropout, batch-norm running statistics).

    cost = data_cost + reg_cost, where data_cost is the loss averaged over the set and reg_cost
    the L2/L1 penalty (λ/2m)Σ‖W‖²_F + (λ₁/m)Σ|w| with m = the TRAINING-set size on every set (the
    same number on train, dev and test); accuracy is None for regression.
    """

    cost: Optional[float]
    data_cost: Optional[float]
    reg_cost: Optional[float]
    accuracy: Optional[float]

    def to_dict(self) -> dict:
        return {
            "cost": finite_or_none(self.cost),
            "data_cost": finite_or_none(self.data_cost),
            "reg_cost": finite_or_none(self.reg_cost),
            "accuracy": finite_or_none(self.accuracy),
        }


@dataclass
class Snapshot:
    """The state of a training run after `Trainer.step(n)` (see docs/engine-api.md).

    iteration / epoch: completed mini-batch iterations and epochs. minibatch_cost: cost (data +
    regularization with m = m_train) of the last mini-batch, with dropout as trained; None after
    divergence. diverged_at: the iteration whose update made a cost or a parameter non-finite
    (None while healthy); diverged_epoch the epoch counter then; restored_iteration: the
    iteration whose finite parameters were kept.
    last_finite_minibatch_cost / last_finite_minibatch_iteration: the latest finite mini-batch
    cost the trainer computed and the iteration whose forward gave it (the `iteration` of the
    snapshot that reports it; after divergence possibly diverged_at itself: the forward before
    the update that blew up). schedule_start_epoch: α = schedule(α₀, epoch − it). epochs: the
    epoch budget (config.epochs). early_stopping: Trainer.early_stopping_info() (None when off).
    continue_epochs: epochs Trainer.extend() would add to a finished run (None: cannot continue).
    """

    iteration: int
    epoch: int
    status: str
    learning_rate: float
    minibatch_cost: Optional[float] = None
    train: Optional[SetMetrics] = None
    dev: Optional[SetMetrics] = None
    test: Optional[SetMetrics] = None
    grad_norms: list[float] = field(default_factory=list)
    weight_norms: list[float] = field(default_factory=list)
    diverged_at: Optional[int] = None
    diverged_epoch: Optional[int] = None
    restored_iteration: Optional[int] = None
    diagnosis: Optional[dict] = None
    last_finite_minibatch_cost: Optional[float] = None
    last_finite_minibatch_iteration: Optional[int] = None
    schedule_start_epoch: int = 0
    epochs: Optional[int] = None
    early_stopping: Optional[dict] = None
    continue_epochs: Optional[int] = None

    def to_dict(self) -> dict:
        """JSON-safe dict: only finite floats or None."""
        return {
            "iteration": int(self.iteration),
            "epoch": int(self.epoch),
            "status": self.status,
            "learning_rate": finite_or_none(self.learning_rate),
            "minibatch_cost": finite_or_none(self.minibatch_cost),
            "train": self.train.to_dict() if self.train else None,
            "dev": self.dev.to_dict() if self.dev else None,
            "test": self.test.to_dict() if self.test else None,
            "grad_norms": [finite_or_none(g) for g in self.grad_norms],
            "weight_norms": [finite_or_none(w) for w in self.weight_norms],
            "diverged_at": self.diverged_at,
            "diverged_epoch": self.diverged_epoch,
            "restored_iteration": self.restored_iteration,
            "diagnosis": json_safe(self.diagnosis),
            "last_finite_minibatch_cost": finite_or_none(self.last_finite_minibatch_cost),
            "last_finite_minibatch_iteration": self.last_finite_minibatch_iteration,
            "schedule_start_epoch": int(self.schedule_start_epoch),
            "epochs": self.epochs,
            "early_stopping": json_safe(self.early_stopping),
            "continue_epochs": self.continue_epochs,
        }
