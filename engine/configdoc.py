"""The Markdown table of every TrainConfig key (`python -m engine config-table`), for docs/config.md.

Walks the pydantic models so the table cannot drift from engine/config.py: one row per leaf key
with its dotted path, type or allowed values, default, allowed range and description.
"""
from __future__ import annotations

import json
import typing

import annotated_types as at
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from engine.config import KEEP_PROB_RANGE, MAX_NEURONS, SPLIT_RANGE, TrainConfig


# Meanings for keys whose Field has no description, and ranges checked by validators.
MEANING = {
    "data": "the dataset",
    "data.name": "a generated 2-D dataset, or `csv` for a file (CLI `--data`, server upload)",
    "data.seed": "seed of the generator and of the train/dev/test split",
    "normalize": "x := (x − μ)/σ per input, μ and σ from the training set (reused on dev/test/grid)",
    "network": "the architecture",
    "network.activation": "g of the hidden layers",
    "network.leaky_slope": "leaky_relu slope for z < 0",
    "network.init": "zeros (symmetry lesson), random (randn·init_scale), he √(2/n[l-1]), "
                    "xavier √(1/n[l-1]), glorot √(2/(n[l-1]+n[l]))",
    "network.batch_norm": "normalize Z of every hidden layer; γ, β learned, b dropped",
    "network.bn_epsilon": "ε in (Z − μ)/√(σ² + ε)",
    "regularization": "penalties and dropout",
    "optimizer": "the update rule",
    "optimizer.name": "gradient descent, momentum, RMSprop or Adam",
    "optimizer.learning_rate": "α₀; the schedule decays it after each epoch",
    "optimizer.epsilon": "ε of RMSprop and Adam",
    "optimizer.bias_correction": "Adam's V/(1−β₁ᵗ), S/(1−β₂ᵗ)",
    "schedule": "learning-rate decay, applied after each epoch (epoch counted from 0)",
    "schedule.name": "α = α₀, or one of the decays below",
    "epochs": "passes over the training set; 0 = only evaluate (e.g. with `--init-from`)",
    "early_stopping": "null = off; else stop when the dev cost has not improved for `patience` epochs "
                      "and restore the best parameters (needs a dev set)",
    "dtype": "float type of every array",
    "backend": "numpy (CPU) or cupy (GPU, optional dependency)",
}
RANGE = {
    "data.split": f"each in [{SPLIT_RANGE[0]:g}, {SPLIT_RANGE[1]:g}], sum 1, train > 0",
    "features": "x1..xn, x1_sq, x2_sq, x1x2, sin_x1, sin_x2 (the last five need 2-D data), no repeats",
    "network.hidden": f"each in [1, {MAX_NEURONS}]",
    "regularization.keep_prob": f"in ({KEEP_PROB_RANGE[0]:g}, {KEEP_PROB_RANGE[1]:g}]; a list needs one value per "
                                "hidden layer",
}


def _type_name(annotation) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:  # a constrained type (KeepProb): its range is in the range column
        return _type_name(args[0])
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin is typing.Union:
        return " or ".join(_type_name(a) for a in args)
    if origin in (list, tuple):
        inner = ", ".join(_type_name(a) for a in args if a is not Ellipsis)
        return f"{origin.__name__}[{inner}]"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _range(field) -> str:
    bounds = []
    for m in field.metadata:
        for attr, sym in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            value = getattr(m, attr, None)
            if value is not None and isinstance(m, (at.Ge, at.Gt, at.Le, at.Lt)):
                bounds.append(f"{sym} {value:g}" if isinstance(value, float) else f"{sym} {value}")
        if isinstance(m, at.MaxLen):
            bounds.append(f"at most {m.max_length} items")
    return ", ".join(bounds)


def _default(field) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, BaseModel):
            return "object"
    else:
        value = field.default
    if value is PydanticUndefined:
        return "required"
    return f"`{json.dumps(value)}`"


def _rows(model: type[BaseModel], prefix: str = "") -> list[tuple[str, ...]]:
    rows = []
    for name, field in model.model_fields.items():
        path = prefix + name
        annotation = field.annotation
        nested = [a for a in (annotation, *typing.get_args(annotation))
                  if isinstance(a, type) and issubclass(a, BaseModel)]
        if nested:
            optional = type(None) in typing.get_args(annotation)
            note = "null (off) or an object" if optional else "object"
            rows.append((f"`{path}`", note, _default(field), "", field.description or MEANING.get(path, "")))
            rows.extend(_rows(nested[0], path + "."))
            continue
        limits = ", ".join(r for r in (_range(field), RANGE.get(path, "")) if r)
        rows.append((f"`{path}`", _type_name(annotation), _default(field), limits,
                     field.description or MEANING.get(path, "")))
    return rows


def config_table() -> str:
    lines = ["| key | type / values | default | range | meaning |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(cell.replace("\n", " ") for cell in row) + " |" for row in _rows(TrainConfig)]
    return "\n".join(lines)


def leaf_keys() -> list[str]:
    """Every dotted key of TrainConfig (used by the test that docs/config.md documents them all)."""
    return [row[0].strip("`") for row in _rows(TrainConfig)]
