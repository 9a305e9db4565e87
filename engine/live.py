"""Live hyperparameter changes: which keys a running training accepts and where they live in
TrainConfig. A change is merged into the config and the whole config re-validated, so an error
names the full key path (e.g. 'optimizer.learning_rate: Input should be ...') and a rejected
change leaves the old config untouched.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from engine.config import TrainConfig, load_config

# Live key -> its path in TrainConfig.
LIVE_KEYS: dict[str, tuple[str, ...]] = {
    "learning_rate": ("optimizer", "learning_rate"),
    "beta": ("optimizer", "beta"),
    "beta1": ("optimizer", "beta1"),
    "beta2": ("optimizer", "beta2"),
    "epsilon": ("optimizer", "epsilon"),
    "bias_correction": ("optimizer", "bias_correction"),
    "l2": ("regularization", "l2"),
    "l1": ("regularization", "l1"),
    "keep_prob": ("regularization", "keep_prob"),
    "schedule": ("schedule",),
    "human_error": ("human_error",),
}
OPTIMIZER_HYPER = ("beta", "beta1", "beta2", "epsilon", "bias_correction")


class LiveChange(BaseModel):
    """The accepted keys (an unknown key is a ValidationError naming it); values are checked by
    TrainConfig after merging."""

    model_config = ConfigDict(extra="forbid")
    learning_rate: Any = None
    beta: Any = None
    beta1: Any = None
    beta2: Any = None
    epsilon: Any = None
    bias_correction: Any = None
    l2: Any = None
    l1: Any = None
    keep_prob: Any = None
    schedule: Any = None
    human_error: Any = None


def apply_live_change(config: TrainConfig, changes: dict) -> tuple[TrainConfig, set[str]]:
    """(the new validated config, the live keys that were given). Raises pydantic.ValidationError."""
    change = LiveChange.model_validate(changes)
    merged = config.model_dump()
    for key in change.model_fields_set:
        value = getattr(change, key)
        if isinstance(value, BaseModel):
            value = value.model_dump()
        *parents, leaf = LIVE_KEYS[key]
        target = merged
        for p in parents:
            target = target[p]
        target[leaf] = value
    return load_config(merged), set(change.model_fields_set)
