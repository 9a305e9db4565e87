"""Live hyperparameter changes: which keys a running training accepts and where they live in
TrainConfig. A change is merged into the config and the whole config re-validated, so an error
names the full key path (e.g. 'optimizer.learning_rate: Input should be ...') and a rejected
change leaves the old config untouched.

The live keys are the config fields marked `live` (engine/config.py `live_paths`): adding the
mark to a field makes it live here, in the server's `set` message and in the browser.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, create_model

from engine.config import TrainConfig, live_paths, load_config, optimizer_uses

# Live key -> its path in TrainConfig.
LIVE_KEYS: dict[str, tuple[str, ...]] = live_paths()
# The optimizer's own hyperparameters (the live keys some optimizer reads besides α).
OPTIMIZER_HYPER: tuple[str, ...] = tuple(
    key for key in LIVE_KEYS if any(key in keys for keys in optimizer_uses().values()))

# The accepted keys (an unknown key is a ValidationError naming it); values are checked by
# TrainConfig after merging.
LiveChange = create_model("LiveChange", __config__=ConfigDict(extra="forbid"),
                          **{key: (Any, None) for key in LIVE_KEYS})


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
