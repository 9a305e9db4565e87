"""What the page tells a student, in words a student understands: every `error` reply, the
divergence hint and the end-of-run summary pass through here on their way to the browser.

Errors are produced in many places (pydantic's validation of messages, engine ValueErrors,
server limits) in a programmer's words ("allowed: a TrainConfig object", "arrays ['W1', …] have
NaN or inf values"). `plain_error(field, message, request_type, given)` is the one mapping to
sentences that name the control to change ("Network → Output layer"); the `field` stays a
dotted config path, so the browser still marks that control. Messages no rule knows pass
through unchanged (protocol errors of hand-written clients).
"""
from __future__ import annotations

import re
from typing import Any, Callable, Optional

# Config path -> (label on the page, where the control is). Mirrors static/js/state.js SCHEMA
# labels and the page's groups.
CONTROLS: dict[str, tuple[str, str]] = {
    "data.name": ("Dataset", "Data"),
    "data.n": ("Points", "Data"),
    "data.noise": ("Noise", "Data"),
    "data.classes": ("Classes", "Data"),
    "data.seed": ("Data seed", "Data"),
    "data.split": ("Train / dev / test", "Data"),
    "features": ("Features", "Features + network"),
    "normalize": ("Normalize inputs", "Network"),
    "network.hidden": ("Hidden layers", "Network"),
    "network.activation": ("Activation", "Network"),
    "network.output": ("Output layer", "Network"),
    "network.init": ("Init", "Network"),
    "network.init_scale": ("Random scale", "Network"),
    "network.batch_norm": ("Batch norm", "Network"),
    "seed": ("Init seed", "Network"),
    "optimizer.name": ("Optimizer", "Optimization"),
    "optimizer.learning_rate": ("Learning rate α", "Optimization"),
    "optimizer.beta": ("β", "Optimization"),
    "optimizer.beta1": ("β₁", "Optimization"),
    "optimizer.beta2": ("β₂", "Optimization"),
    "optimizer.epsilon": ("ε", "Optimization"),
    "optimizer.bias_correction": ("Bias correction", "Optimization"),
    "schedule": ("Decay", "Optimization"),
    "schedule.name": ("Decay", "Optimization"),
    "schedule.decay_rate": ("Decay rate", "Optimization"),
    "schedule.interval": ("Staircase (epochs)", "Optimization"),
    "schedule.base": ("Base", "Optimization"),
    "schedule.k": ("k", "Optimization"),
    "batch_size": ("Batch size", "Optimization"),
    "epochs": ("Epochs", "Optimization"),
    "regularization.l2": ("L2 λ", "Regularization"),
    "regularization.l1": ("L1 λ", "Regularization"),
    "regularization.keep_prob": ("Keep prob", "Regularization"),
    "early_stopping": ("Early stopping", "Regularization"),
    "early_stopping.patience": ("Patience", "Regularization"),
    "human_error": ("Human-level error", "Bias / variance card"),
}
# `set` names its fields without their group (docs/protocol.md).
_SET_PATHS = {path.rsplit(".", 1)[-1]: path for path in CONTROLS if path.count(".") == 1}


def config_path(field: str, request_type: Optional[str] = None) -> Optional[str]:
    """The CONTROLS path a reply's field is about ('config.network.hidden.1' -> 'network.hidden',
    'learning_rate' of a `set` -> 'optimizer.learning_rate'), or None."""
    if not field.startswith("config.") and request_type != "set":
        return None
    parts = [p for p in field.removeprefix("config.").split(".") if p and not p.isdigit()]
    for end in range(len(parts), 0, -1):
        path = ".".join(parts[:end])
        if path in CONTROLS:
            return path
        if end == 1 and request_type == "set" and path in _SET_PATHS:
            return _SET_PATHS[path]
    return None


def control(path: str) -> str:
    """'Network → Output layer': where a student finds the control of a config path."""
    label, where = CONTROLS[path]
    return f"{where} → {label}"


# ---------------------------------------------------------------- the rules
# Each rule: a regex searched in the message, and a function (match, given config dict) ->
# (field or None to keep it, sentence). `given` is the config the client sent, when known.
Rule = tuple[re.Pattern, Callable[[re.Match, dict], tuple[Optional[str], str]]]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _classes(given: dict) -> int:
    data = given.get("data") if isinstance(given.get("data"), dict) else {}
    return int(data.get("classes", 3)) if str(data.get("classes", 3)).isdigit() else 3


def _output_mismatch(m: re.Match, given: dict) -> tuple[str, str]:
    output, kind, name = m.group(1), m.group(2), m.group(3)
    where = control("network.output")
    if kind == "multiclass":
        text = (f"The output layer is {output} but the data has {_classes(given)} classes: choose softmax "
                f"output ({where}: Softmax or Auto) or a 2-class dataset.")
    elif kind == "regression":
        text = (f"The output layer is {output} but the data ({name}) asks for a number, not a class: choose "
                f"linear output ({where}: Linear or Auto) or a classification dataset.")
    else:
        text = (f"The output layer is {output} but the data ({name}) has 2 classes: choose sigmoid or "
                f"softmax output ({where}: Sigmoid, Softmax or Auto) or a regression dataset.")
    return "config.network.output", text


def _keep_prob_count(m: re.Match, given: dict) -> tuple[str, str]:
    return ("config.regularization.keep_prob",
            f"Keep prob has {_count(int(m.group(1)), 'value')} but the network has {_count(int(m.group(2)), 'hidden layer')}: give one "
            f"value per hidden layer, or a single number for all ({control('regularization.keep_prob')}).")


def _units(m: re.Match, given: dict) -> tuple[str, str]:
    return (f"config.network.hidden.{m.group(1)}",
            f"Hidden layer {int(m.group(1)) + 1} has {m.group(2)} units: a layer can have 1 to {m.group(3)} "
            f"units (the + and − buttons of the layer in {control('network.hidden')}).")


def _split_sum(m: re.Match, given: dict) -> tuple[str, str]:
    percent = round(100 * float(m.group(1)))
    return ("config.data.split",
            f"The train / dev / test parts add up to {percent} %, not 100 %: choose another split "
            f"({control('data.split')}).")


def _no_train(m: re.Match, given: dict) -> tuple[str, str]:
    return ("config.data.split",
            f"The training set would be empty: give the train part of the split more than 0 "
            f"({control('data.split')}).")


def _early_stopping_dev(m: re.Match, given: dict) -> tuple[str, str]:
    return ("config.early_stopping",
            "Early stopping watches the dev cost, but this split has no dev set: choose a split with dev "
            f"data ({control('data.split')}) or turn early stopping off ({control('early_stopping')}).")


def _gradcheck_dropout(m: re.Match, given: dict) -> tuple[None, str]:
    return (None, "Gradient checking needs dropout off: with dropout the cost changes randomly, so backprop "
                  f"cannot be compared with it. Set keep prob to 1 ({control('regularization.keep_prob')}), "
                  "press Check gradients, then turn dropout back on.")


def _diverged_play(m: re.Match, given: dict) -> tuple[None, str]:
    return (None, "This run diverged (the cost became too large to compute): lower the learning rate α "
                  f"({control('optimizer.learning_rate')}) and press Reset.")


def _over(m: re.Match, given: dict) -> tuple[None, str]:
    why = "stopped early" if m.group(1) == "stopped_early" else "ran all its epochs"
    return (None, f"This run is over (it {why}): press Reset to train again from iteration 0, or raise "
                  f"the number of epochs ({control('epochs')}).")



RULES: list[Rule] = [
    (re.compile(r"network\.output '(\w+)' does not fit (\w+) data '(\w+)'"), _output_mismatch),
    (re.compile(r"keep_prob has (\d+) values but network\.hidden has (\d+) layers"), _keep_prob_count),
    (re.compile(r"hidden\[(\d+)\] = (\d+): units must be in \[1, (\d+)\]"), _units),
    (re.compile(r"ratios must sum to 1 \(got ([-0-9.e]+)\)"), _split_sum),
    (re.compile(r"the train ratio must be above 0"), _no_train),
    (re.compile(r"early_stopping needs a non-empty dev set"), _early_stopping_dev),
    (re.compile(r"gradient checking does not work with dropout"), _gradcheck_dropout),
    (re.compile(r"^the run diverged"), _diverged_play),
    (re.compile(r"^training is over \((\w+)\)"), _over),
]

# The "allowed: …" suffix after a validator's own sentence: schema talk ("a list", "a TrainConfig
# object"), or the range the sentence already states (keep_prob's "must be in (0, 1]")
_NO_HELP = re.compile(r"; allowed: .*?(?= \(got |$)")

# pydantic's "Input should be …; allowed: RANGE (got VALUE)" from server/protocol.py
_RANGE = re.compile(r"^(?:Input should be [^;]*|[^;]*)(?:; allowed: (?P<allowed>.*?))?(?: \(got (?P<got>.*)\))?$", re.S)


def _in_range_words(path: str, message: str) -> Optional[str]:
    """'Learning rate α (Optimization) must be 0 < learning_rate ≤ 100; you gave 500.' from a
    pydantic range or choice error on a known control, or None."""
    m = _RANGE.match(message)
    if not m or not message.startswith("Input should be"):
        return None
    label = CONTROLS[path][0]
    allowed = m.group("allowed") or message.split(";")[0].removeprefix("Input should be ").strip()
    got = f"; you gave {m.group('got')}" if m.group("got") else ""
    if " | " in allowed or allowed.startswith('"'):
        return f"{label} must be one of {allowed.replace(' | ', ', ')}{got} ({control(path)})."
    return f"{label} must be {allowed}{got} ({control(path)})."


def plain_error(field: str, message: str, request_type: Optional[str] = None,
                given: Any = None) -> tuple[str, str]:
    """(field, message) of an `error` reply in a student's words; the field stays a dotted path
    (made more precise when the message names the key, so the browser marks the right control)."""
    given = given if isinstance(given, dict) else {}
    message = message.removesuffix("; allowed: a TrainConfig object")
    for pattern, word in RULES:
        match = pattern.search(message)
        if match:
            new_field, text = word(match, given)
            return (new_field or field), text
    path = config_path(field, request_type)
    if path is None:
        return field, message
    text = _in_range_words(path, message)
    if text is None:  # a validator's own sentence: drop schema talk, say where the control is
        text = _NO_HELP.sub("", message).rstrip(".")
        text = f"{text[:1].upper()}{text[1:]} ({control(path)})."
    return field, text


def divergence_hint(iteration: int, learning_rate: float, restored_iteration: Optional[int],
                    weights_too_large: bool = False) -> str:
    """The `diverged` message's hint: what happened, what is kept and what to do."""
    what = ("the weights grew too large to draw (beyond float32's range)" if weights_too_large
            else "the cost became too large to compute (it overflowed to infinity)")
    kept = f" The weights of iteration {restored_iteration} are kept." if restored_iteration is not None else ""
    return (f"Training diverged at iteration {iteration}: {what}. Lower the learning rate α (now "
            f"{learning_rate:g}, {control('optimizer.learning_rate')}) and press Reset.{kept}")


def outcome_text(outcome: dict) -> str:
    """Why a finished run stopped and which weights it kept (Session.outcome() fills `outcome`)."""
    if outcome["status"] == "stopped_early":
        best = outcome.get("best_epoch")
        cost = outcome.get("best_dev_cost")
        cost_text = f" ({cost:.4g})" if isinstance(cost, (int, float)) else ""
        return (f"Stopped early at epoch {outcome['epochs_run']}: the dev cost has not improved for "
                f"{_count(outcome['patience'], 'epoch')} ({control('early_stopping.patience')}), so the "
                f"weights kept are those of epoch {best}, where it was lowest{cost_text}, not the last ones.")
    return (f"Finished: all {_count(outcome['epochs_run'], 'epoch')} ran ({control('epochs')}). "
            "The weights kept are the last ones.")


# What the browser's Play does after a finished run (static/js/app.js togglePlay: reset, then
# play; the server refuses `play` on a finished run). Reset re-creates the same starting weights
# (same Init seed), so an unchanged run ends the same way.
PLAY_AFTER_END = ("Play starts again from iteration 0 with the same settings and starting weights, so the run "
                  "ends the same way unless you change something first (e.g. Patience or Epochs).")
