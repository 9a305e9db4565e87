"""The lesson menu: every preset is a full, valid TrainConfig within the server limits."""
from __future__ import annotations

import re

from engine.config import TrainConfig
from server import limits
from server.presets import PRESETS

REQUIRED_LESSONS = [  # (words in the title) for each lesson the issue asks for
    ("zeros", "he"), ("sigmoid", "tanh", "relu"), ("vanishing",), ("overfitting", "l2"), ("dropout",),
    ("batch", "mini-batch", "stochastic"), ("normaliz",), ("momentum", "rmsprop", "adam"), ("decay",),
    ("batch norm",), ("softmax",), ("gradient checking",),
]


def test_every_preset_is_a_full_valid_config_within_limits():
    for preset in PRESETS:
        config = TrainConfig.model_validate(preset["config"])
        assert config.model_dump(mode="json") == preset["config"], preset["id"]  # full: nothing left out
        assert limits.config_violations(config) == [], preset["id"]


def test_presets_cover_the_lessons_with_short_texts():
    ids = [p["id"] for p in PRESETS]
    assert len(ids) == len(set(ids))
    titles = [p["title"].lower() for p in PRESETS]
    for words in REQUIRED_LESSONS:
        assert any(all(w in t for w in words) for t in titles), words
    for preset in PRESETS:
        sentences = [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", preset["text"].strip()) if s]
        assert 2 <= len(sentences) <= 4, (preset["id"], len(sentences))
        assert preset["topic"]


def test_presets_show_what_they_teach():
    by_id = {p["id"]: TrainConfig.model_validate(p["config"]) for p in PRESETS}
    assert by_id["init-zeros-vs-he"].network.init == "zeros"
    assert len(by_id["vanishing-gradients"].network.hidden) >= 5
    assert by_id["vanishing-gradients"].network.activation == "sigmoid"
    assert by_id["dropout"].keep_probs()[0] < 1
    assert by_id["batch-norm"].network.batch_norm
    assert by_id["softmax"].data.name.startswith("multi_") and by_id["softmax"].data.classes >= 3
    assert not by_id["input-normalization"].normalize
    assert by_id["learning-rate-decay"].schedule.name != "constant"
    assert by_id["gradient-checking"].keep_probs() == [1.0] * len(by_id["gradient-checking"].network.hidden)
