"""Argument checks of the engine's public functions, for a library user who calls them directly.

The server validates once, at its boundary, with the pydantic models (engine/config.py,
server/protocol.py, server/lab_protocol.py); these checks only keep a direct call from computing
nonsense. A value that is a config key is checked against that key's field (`check_field`), so
its type and range are written once, in the model; `check_int` is for counts and indices that
no model has.
"""
from __future__ import annotations

import operator
from functools import lru_cache
from typing import Annotated, Any, Optional

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError


def field_type(model: type[BaseModel], name: str) -> Any:
    """The type of `model`'s field `name` with its constraints (range, pattern), to validate a value
    as that field does or to give another model's field the same range."""
    info = model.model_fields[name]
    return Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation


@lru_cache(maxsize=None)
def _field_adapter(model: type[BaseModel], name: str) -> TypeAdapter:
    # strict: a direct call gets no type coercion ("0.1" or True is not a number)
    return TypeAdapter(field_type(model, name), config=ConfigDict(strict=True, allow_inf_nan=False))


def check_field(model: type[BaseModel], name: str, value: Any, label: Optional[str] = None) -> Any:
    """`value` validated as `model`'s field `name` (its type and range); ValueError naming
    `label` (default `name`) and the rule otherwise."""
    try:
        return _field_adapter(model, name).validate_python(value)
    except ValidationError as err:
        raise ValueError(f"{label or name} = {value!r}: {err.errors()[0]['msg']}") from None


def check_int(name: str, value: Any, low: int, high: Optional[int] = None) -> int:
    """`value` as an int in [low, high] (high None: no upper bound). NumPy integers are accepted,
    bools and floats are not; ValueError naming `name` otherwise."""
    try:
        if isinstance(value, bool):
            raise TypeError
        value = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} = {value!r}: must be an integer") from None
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name} = {value}: must be in [{low}, {'∞' if high is None else high}]")
    return value
