"""The config schema is the one source of the facts the server and the browser read: ranges,
defaults, which keys are live (`live` marks) and which optimizer reads which hyperparameter
(`used_by` marks) — engine/config.py, read by engine/live.py, server/protocol.py and static/js."""
from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from engine.config import (KEEP_PROB_RANGE, MAX_NEURONS, OptimizerConfig, TrainConfig, format_errors,
                           live_paths, optimizer_uses)
from engine.live import LIVE_KEYS, OPTIMIZER_HYPER, LiveChange, apply_live_change


def schema_of(*path: str) -> dict:
    root = TrainConfig.model_json_schema()
    node = root
    for part in path:
        while "$ref" in node:
            node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        node = node["properties"][part]
    return node


def test_the_live_keys_are_the_marked_fields():
    assert live_paths() == {
        "l2": ("regularization", "l2"), "l1": ("regularization", "l1"),
        "keep_prob": ("regularization", "keep_prob"),
        "learning_rate": ("optimizer", "learning_rate"), "beta": ("optimizer", "beta"),
        "beta1": ("optimizer", "beta1"), "beta2": ("optimizer", "beta2"), "epsilon": ("optimizer", "epsilon"),
        "bias_correction": ("optimizer", "bias_correction"),
        "schedule": ("schedule",), "human_error": ("human_error",),
    }
    assert LIVE_KEYS == live_paths() and set(LiveChange.model_fields) == set(LIVE_KEYS)
    assert OPTIMIZER_HYPER == ("beta", "beta1", "beta2", "epsilon", "bias_correction")
    for key, path in LIVE_KEYS.items():
        assert schema_of(*path)["live"] is True, key


def test_which_optimizer_reads_which_hyperparameter():
    assert optimizer_uses() == {"gd": (), "momentum": ("beta",), "rmsprop": ("beta2", "epsilon"),
                                "adam": ("beta1", "beta2", "epsilon", "bias_correction")}
    assert schema_of("optimizer", "beta2")["used_by"] == ["rmsprop", "adam"]


def test_the_schema_states_every_range_the_browser_reads():
    lr = schema_of("optimizer", "learning_rate")
    assert (lr["exclusiveMinimum"], lr["maximum"], lr["default"]) == (0.0, 100.0, 0.01)
    hidden = schema_of("network", "hidden")
    assert hidden["default"] == [4, 2] and hidden["items"] == {"type": "integer", "minimum": 1, "maximum": MAX_NEURONS}
    keep = schema_of("regularization", "keep_prob")
    number, listed = keep["anyOf"]
    assert number["exclusiveMinimum"] == listed["items"]["exclusiveMinimum"] == KEEP_PROB_RANGE[0]
    assert number["maximum"] == listed["items"]["maximum"] == KEEP_PROB_RANGE[1]
    split = schema_of("data", "split")
    assert all((p["minimum"], p["maximum"]) == (0.0, 1.0) for p in split["prefixItems"])
    scale = schema_of("data", "scale")
    assert all((p["minimum"], p["maximum"]) == (1e-3, 1e3) for p in scale["prefixItems"])


@pytest.mark.parametrize("keep_prob, message", [
    (1.5, "regularization.keep_prob: keep_prob 1.5 must be in (0, 1]"),
    (0, "regularization.keep_prob: keep_prob 0.0 must be in (0, 1]"),
    ([0.5, 2], "regularization.keep_prob: keep_prob 2.0 must be in (0, 1]"),
])
def test_keep_prob_out_of_range_is_one_sentence(keep_prob, message):
    with pytest.raises(ValidationError) as info:
        TrainConfig.model_validate({"network": {"hidden": [3, 3]}, "regularization": {"keep_prob": keep_prob}})
    assert format_errors(info.value) == [message]


def test_keep_prob_not_finite_is_refused_as_every_float():
    with pytest.raises(ValidationError) as info:
        TrainConfig.model_validate({"regularization": {"keep_prob": math.nan}})
    assert "finite number" in " ".join(format_errors(info.value))


def test_a_live_change_goes_through_the_config():
    config = TrainConfig()
    new, given = apply_live_change(config, {"learning_rate": 0.5, "schedule": {"name": "exponential"}})
    assert (new.optimizer.learning_rate, new.schedule.name, given) == (0.5, "exponential", {"learning_rate", "schedule"})
    with pytest.raises(ValidationError):
        apply_live_change(config, {"batch_size": 3})  # not live
    with pytest.raises(ValidationError):
        apply_live_change(config, {"beta": 1.0})
    assert OptimizerConfig().beta == 0.9
