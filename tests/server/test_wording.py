"""Errors in a student's words (server/wording.py), each produced the way a real client gets it:
through message validation (server/protocol.py) or the worker's scheduler. Every message names
the control to change, and the field still names the config key so the page marks that control."""
from __future__ import annotations

import json

import pytest

from engine.config import TrainConfig
from server.protocol import ProtocolError, parse_client_message
from server.scheduler import TEXT, Scheduler
from server.wording import CONTROLS, config_path, outcome_text, plain_error

JARGON = ("TrainConfig", "NaN", "allowed: a list", "Input should be", "Value error", "arrays [")


def configure_error(config: dict) -> dict:
    with pytest.raises(ProtocolError) as info:
        parse_client_message(json.dumps({"type": "configure", "config": config}))
    return info.value.reply()


def assert_plain(error: dict) -> None:
    for word in JARGON:
        assert word not in error["message"], error


class Worker:
    """A scheduler without processes: replies as dicts."""

    def __init__(self):
        self.out = []
        self.s = Scheduler(lambda sid, kind, body: self.out.append((kind, body)))
        self.s.handle(1, "open", {"fps": 30, "steps_per_frame": 5})

    def send(self, op: str, **args) -> None:
        self.s.handle(1, op, args)

    def configure(self, **config) -> None:
        self.send("configure", config=TrainConfig.model_validate(config))

    def messages(self, kind: str) -> list[dict]:
        found = [json.loads(body) for k, body in self.out if k == TEXT]
        return [m for m in found if m["type"] == kind]

    def run(self, ticks: int = 400) -> None:
        for _ in range(ticks):
            self.s.tick()


@pytest.mark.parametrize("classes", [3, 5])
def test_sigmoid_output_on_multiclass_data(classes):
    error = configure_error({"data": {"name": "multi_spiral", "classes": classes}, "network": {"output": "sigmoid"}})
    assert error["field"] == "config.network.output"  # marks the Output layer control, not "config"
    assert error["message"] == (f"The output layer is sigmoid but the data has {classes} classes: choose softmax "
                                "output (Network → Output layer: Softmax or Auto) or a 2-class dataset.")


def test_linear_output_on_classes_and_softmax_on_regression():
    error = configure_error({"data": {"name": "circle"}, "network": {"output": "linear"}})
    assert error["field"] == "config.network.output" and "has 2 classes" in error["message"]
    assert "Network → Output layer" in error["message"]
    error = configure_error({"data": {"name": "reg_plane"}, "network": {"output": "softmax"}})
    assert error["field"] == "config.network.output" and "asks for a number, not a class" in error["message"]
    assert "Linear or Auto" in error["message"]
    assert_plain(error)


def test_keep_prob_count_does_not_match_the_layers():
    error = configure_error({"network": {"hidden": [3, 3]}, "regularization": {"keep_prob": [0.5]}})
    assert error["field"] == "config.regularization.keep_prob"
    assert error["message"].startswith("Keep prob has 1 value but the network has 2 hidden layers")
    assert "Regularization → Keep prob" in error["message"]
    assert_plain(error)


def test_split_that_does_not_add_up_or_has_no_train_part():
    error = configure_error({"data": {"split": [0.8, 0.3, 0.0]}})
    assert error["field"] == "config.data.split"
    assert error["message"] == ("The train / dev / test parts add up to 110 %, not 100 %: choose another split "
                                "(Data → Train / dev / test).")
    error = configure_error({"data": {"split": [0.0, 0.5, 0.5]}})
    assert "training set would be empty" in error["message"]


def test_too_many_units_in_a_layer():
    error = configure_error({"network": {"hidden": [3, 2000]}})
    assert error["field"] == "config.network.hidden.1"
    assert error["message"].startswith("Hidden layer 2 has 2000 units: a layer can have 1 to 1024 units")
    assert_plain(error)


def test_out_of_range_value_names_the_control_and_keeps_the_range():
    error = configure_error({"optimizer": {"learning_rate": 500}})
    assert error["field"] == "config.optimizer.learning_rate"
    assert error["message"] == ("Learning rate α must be 0 < learning_rate ≤ 100; you gave 500 "
                                "(Optimization → Learning rate α).")
    with pytest.raises(ProtocolError) as info:  # a live `set` names its field without the group
        parse_client_message(json.dumps({"type": "set", "keep_prob": 0}))
    error = info.value.reply()
    assert error["field"] == "keep_prob" and error["message"].startswith("Keep prob must be 0 < keep_prob ≤ 1")
    assert error["message"].endswith("you gave 0 (Regularization → Keep prob).")


def test_unknown_choice_lists_the_choices():
    error = configure_error({"optimizer": {"name": "sgd"}})
    assert error["message"] == ('Optimizer must be one of "gd", "momentum", "rmsprop", "adam"; you gave "sgd" '
                                "(Optimization → Optimizer).")


def test_validator_sentence_loses_the_schema_talk():
    error = configure_error({"features": ["x1", "x1"]})
    assert error["field"] == "config.features"
    assert error["message"] == "Features must not repeat (Features + network → Features)."


def test_early_stopping_without_a_dev_set():
    w = Worker()
    w.configure(data={"split": [1.0, 0.0, 0.0]}, early_stopping={"patience": 3})
    [error] = w.messages("error")
    assert error["field"] == "config.early_stopping" and error["request_type"] == "configure"
    assert error["message"] == ("Early stopping watches the dev cost, but this split has no dev set: choose a split "
                                "with dev data (Data → Train / dev / test) or turn early stopping off "
                                "(Regularization → Early stopping).")


def test_gradient_check_with_dropout_on():
    w = Worker()
    w.configure(regularization={"keep_prob": 0.5})
    w.send("gradcheck")
    [error] = w.messages("error")
    assert error["field"] == "config.regularization.keep_prob" and error["request_type"] == "gradcheck"
    assert "Set keep prob to 1 (Regularization → Keep prob), press Check gradients" in error["message"]


def test_divergence_hint_and_play_after_divergence():
    w = Worker()
    w.configure(data={"name": "reg_plane", "noise": 0.1}, network={"hidden": [8, 8]},
                optimizer={"name": "gd", "learning_rate": 10.0}, batch_size=400)
    w.send("play")
    w.run()
    [diverged] = w.messages("diverged")
    assert diverged["hint"] == (
        f"Training diverged at iteration {diverged['iteration']}: the cost became too large to compute (it "
        "overflowed to infinity). Lower the learning rate α (now 10, Optimization → Learning rate α) and press "
        f"Reset. The weights of iteration {diverged['restored_iteration']} are kept.")
    w.send("play")
    [error] = w.messages("error")
    assert error["request_type"] == "play" and error["message"] == (
        "This run diverged (the cost became too large to compute): lower the learning rate α "
        "(Optimization → Learning rate α) and press Reset.")


def test_weights_beyond_float32_say_so_without_array_names():
    w = Worker()
    w.configure(network={"hidden": [2]})
    w.s.slots[1].session.trainer.network.params["W1"][0, 0] = 1e300  # finite, but not in float32
    w.send("predict_grid", resolution=20)
    [diverged] = w.messages("diverged")
    assert "the weights grew too large to draw" in diverged["hint"] and "W1" not in diverged["hint"]


def test_play_after_the_run_is_over():
    w = Worker()
    w.configure(epochs=1)
    w.send("step", n=100)
    w.run()
    [done] = w.messages("done")
    assert done["outcome"]["message"] == ("Finished: all 1 epoch ran (Optimization → Epochs). "
                                          "The weights kept are the last ones.")
    w.send("play")
    [error] = w.messages("error")
    assert error["message"] == ("This run is over (it ran all its epochs): press Reset to train again from "
                                "iteration 0, or raise the number of epochs (Optimization → Epochs).")


def test_stopped_early_says_why_and_which_weights_are_kept():
    w = Worker()
    w.configure(data={"name": "spiral", "n": 200, "noise": 0.4, "split": [0.5, 0.5, 0.0]},
                network={"hidden": [16, 16, 16]}, early_stopping={"patience": 10}, epochs=1000)
    w.send("step", n=5000)
    w.run(2000)
    [done] = w.messages("done")
    outcome = done["outcome"]
    trainer = w.s.slots[1].session.trainer
    assert outcome["status"] == "stopped_early" and outcome["best_epoch"] == trainer.best_epoch
    assert outcome["epochs_run"] == trainer.epoch and outcome["patience"] == 10
    assert outcome["message"].startswith(f"Stopped early at epoch {trainer.epoch}: the dev cost has not improved "
                                         "for 10 epochs (Regularization → Patience), so the weights kept are "
                                         f"those of epoch {trainer.best_epoch}, where it was lowest")
    assert "same settings and starting weights" in outcome["play"]
    state = w.messages("state")[-1]
    assert state["status"] == "stopped_early" and state["outcome"] == outcome


def test_unknown_messages_pass_through_and_every_control_path_is_a_config_key():
    assert plain_error("type", "no training session yet: send `configure` first", "play") == (
        "type", "no training session yet: send `configure` first")
    assert config_path("n", "step") is None  # `step`'s n is not the data's Points
    assert config_path("config.network.hidden.3") == "network.hidden"
    schema = json.dumps(TrainConfig.model_json_schema())
    for path in CONTROLS:
        assert f'"{path.split(".")[-1]}"' in schema, path
    assert outcome_text({"status": "done", "epochs_run": 3}).startswith("Finished: all 3 epochs ran")


@pytest.mark.parametrize("config, field, message", [
    ({"network": {"hidden": [4] * 7}}, "config.network.hidden",
     "At most 6 hidden layers on this server (got 7) (Network → Hidden layers)."),
    ({"network": {"hidden": [4, 17]}}, "config.network.hidden.1",
     "Units per layer must be in [1, 16] on this server (got 17) (Network → Hidden layers)."),
    ({"data": {"n": 3000}}, "config.data.n", "Points must be in [10, 2000] on this server (got 3000) (Data → Points)."),
    ({"features": [f"x{i}" for i in range(1, 18)]}, "config.features",
     "At most 16 inputs on this server (got 17) (Features + network → Features)."),
    ({"backend": "cupy"}, "config.backend", "this server trains with 'numpy' only"),
])
def test_server_limits_are_worded_as_before(config, field, message):
    """The server's limits (a stricter model, server/limits.py ServerTrainConfig) reach a student in
    the words config_violations gave them: the limit and the value, then the control."""
    error = configure_error(config)
    assert (error["field"], error["message"]) == (field, message)
    assert_plain(error)


def test_the_engine_range_is_named_before_the_server_limit():
    # 2000 units break both; the engine's sentence comes first, as when the limits were a second pass
    error = configure_error({"network": {"hidden": [3, 2000]}, "data": {"n": 3000}})
    assert error["message"].startswith("Hidden layer 2 has 2000 units: a layer can have 1 to 1024 units")
    error = configure_error({"optimizer": {"learning_rate": 500}, "data": {"n": 3000}})
    assert error["field"] == "config.optimizer.learning_rate"


def test_keep_prob_out_of_range_in_a_configure_keeps_its_sentence():
    error = configure_error({"regularization": {"keep_prob": 1.5}})
    assert error["field"] == "config.regularization.keep_prob"
    assert error["message"] == "Keep_prob 1.5 must be in (0, 1] (got 1.5) (Regularization → Keep prob)."
