"""Websocket client messages (docs/protocol.md): pydantic models, a discriminated union on `type`.

`parse_client_message(text)` returns a validated message or raises `ProtocolError(field, message)`
whose message names the allowed range, read from the models' JSON schema so it never drifts from
the validation itself. `MessageParser` does this for any {type: model} table; the optimizer lab
(server/lab_protocol.py) uses it with its own messages.
"""
from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model, model_validator

from engine.config import TrainConfig, model_at
from engine.live import LIVE_KEYS
from server import limits
from server.limits import LIMIT_ERROR, ServerTrainConfig
from server.strict_json import MAX_JSON_DEPTH, JsonRefused, loads as strict_loads
from server.wording import plain_error

RUN_ID_MAX = 2**63 - 1  # SQLite's INTEGER: a larger id overflowed in the lookup and dropped the socket


class ProtocolError(Exception):
    """A client message that cannot be obeyed; becomes an `error` reply (connection stays open)."""

    def __init__(self, field: str, message: str, request_type: Optional[str] = None, given: Any = None):
        super().__init__(f"{field}: {message}")
        self.field, self.message, self.request_type = field, message, request_type
        self.given = given  # the config the client sent, when the problem is in it (for the wording)

    def reply(self) -> dict:
        return error_message(self.field, self.message, self.request_type, self.given)


def error_message(field: str, message: str, request_type: Optional[str], given: Any = None) -> dict:
    """An `error` reply, worded for a student by server.wording.plain_error (field kept, or made
    more precise, so the page marks the control)."""
    field, message = plain_error(field, message, request_type, given)
    return {"type": "error", "field": field, "message": message, "request_type": request_type}


class _Message(BaseModel):
    # allow_inf_nan=False: "nan"/"inf" given as strings are refused like the NaN literals are.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def optional_field(model: type[BaseModel], name: str) -> Any:
    """Optional version of a config field with the same constraints (one source of truth)."""
    info = model.model_fields[name]
    return Optional[Annotated[(info.annotation, *info.metadata)]] if info.metadata else Optional[info.annotation]


class Configure(_Message):
    type: Literal["configure"]
    config: ServerTrainConfig  # the engine's ranges, then this server's limits (server/limits.py)
    csv_id: Optional[str] = Field(None, min_length=1, max_length=64, description="id from POST /api/csv")
    run_id: Optional[int] = Field(None, ge=1, le=RUN_ID_MAX, description="start from the weights of this saved run")


class Play(_Message):
    type: Literal["play"]


class Pause(_Message):
    type: Literal["pause"]


class Step(_Message):
    type: Literal["step"]
    n: Optional[int] = Field(None, ge=1, le=limits.MAX_STEP_ITERATIONS)
    epochs: Optional[int] = Field(None, ge=1, le=limits.MAX_STEP_EPOCHS)

    @model_validator(mode="after")
    def _one_amount(self) -> "Step":
        if self.n is not None and self.epochs is not None:
            raise ValueError("give either n (iterations) or epochs, not both")
        if self.n is None and self.epochs is None:
            self.n = 1
        return self


class Reset(_Message):
    type: Literal["reset"]


class _SetBase(_Message):
    @model_validator(mode="after")
    def _something(self) -> "_SetBase":
        if not self.changes():
            raise ValueError("give at least one of " + ", ".join(SET_FIELDS))
        return self

    def changes(self) -> dict:
        """The fields the client sent (schedule as a dict)."""
        return self.model_dump(exclude_unset=True, exclude={"type"}, mode="json")


# `set`: one optional field per live key (engine/live.py LIVE_KEYS, the config's `live` marks),
# named by its last part and with the config field's type and range.
Set = create_model("Set", __base__=_SetBase, __module__=__name__, type=(Literal["set"], ...),
                   **{key: (optional_field(model_at(path), path[-1]), None) for key, path in LIVE_KEYS.items()})
SET_FIELDS = list(LIVE_KEYS)


class Speed(_Message):
    type: Literal["speed"]
    steps_per_frame: Optional[Union[Literal["max"], Annotated[int, Field(ge=1, le=limits.MAX_STEPS_PER_FRAME)]]] = None
    fps: Optional[int] = Field(None, ge=1, le=limits.MAX_FPS)

    @model_validator(mode="after")
    def _something(self) -> "Speed":
        if self.steps_per_frame is None and self.fps is None:
            raise ValueError("give steps_per_frame and/or fps")
        return self


class PredictGrid(_Message):
    type: Literal["predict_grid"]
    resolution: int = Field(ge=limits.MIN_RESOLUTION, le=limits.MAX_RESOLUTION)


class Ready(_Message):
    type: Literal["ready"]


class Gradcheck(_Message):
    type: Literal["gradcheck"]


class Save(_Message):
    """Save the run in the server's runs database (reply `saved`), or with store=false only send
    it back (reply `record`: the run as GET /api/runs/{id}/export.json would give it, and its
    history as CSV) for the page to download without adding a saved run."""

    type: Literal["save"]
    name: str = Field(min_length=1, max_length=100)
    store: bool = True


class SetWeight(_Message):
    """Edit one weight W[layer][row, col] (layer from 1, row and col from 0), keeping the run."""

    type: Literal["set_weight"]
    layer: int = Field(ge=1, le=limits.MAX_HIDDEN_LAYERS + 1)
    row: int = Field(ge=0, lt=limits.MAX_NEURONS)
    col: int = Field(ge=0, lt=max(limits.MAX_NEURONS, limits.MAX_INPUTS))
    value: float = Field(ge=-limits.MAX_EDITED_WEIGHT, le=limits.MAX_EDITED_WEIGHT)


# --- parsing: one JSON text message against a table of message models --------------------------

def by_type(*models: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """{tag: model} for models whose `type` field is a single Literal tag."""
    return {m.model_fields["type"].annotation.__args__[0]: m for m in models}  # type: ignore[union-attr]


class MessageParser:
    """Validates JSON text messages as one of `models` (a discriminated union on `type`).

    Every problem raises ProtocolError: about the message as a whole (too large, not strict JSON:
    NaN/Infinity or nested deeper than MAX_JSON_DEPTH, server/strict_json.py; not an object)
    with field `envelope_field`; an unknown type with field 'type', worded "unknown {noun}
    type"; anything else naming the field and its allowed range (validation_problem).
    `max_bytes` None = no size check here (the caller checks it).
    """

    def __init__(self, models: dict[str, type[BaseModel]], *, noun: str = "message", envelope_field: str = "",
                 max_bytes: Optional[int] = None):
        self.models, self.noun, self.envelope_field, self.max_bytes = models, noun, envelope_field, max_bytes
        self._adapter: TypeAdapter = TypeAdapter(
            Annotated[Union[tuple(models.values())], Field(discriminator="type")])

    def __call__(self, text: Union[str, bytes]) -> BaseModel:
        size = len(text.encode() if isinstance(text, str) else text)  # bytes, as the socket counts
        if self.max_bytes is not None and size > self.max_bytes:
            raise ProtocolError(self.envelope_field, f"too large: at most {self.max_bytes} bytes (got {size})")
        try:
            data = strict_loads(text if isinstance(text, str) else text.decode("utf-8", "replace"))
        except JsonRefused as exc:
            raise ProtocolError(self.envelope_field, str(exc)) from None
        except ValueError as exc:
            raise ProtocolError(self.envelope_field, f"not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ProtocolError(self.envelope_field, "a message must be a JSON object with a 'type'")
        kind = data.get("type")
        if not isinstance(kind, str) or kind not in self.models:
            raise ProtocolError("type", f"unknown {self.noun} type {kind!r}: allowed " + ", ".join(self.models))
        try:
            return self._adapter.validate_python(data)
        except ValidationError as err:
            raise validation_problem(err, self.models[kind], request_type=kind) from None
        except RecursionError:  # below MAX_JSON_DEPTH this does not happen; no input may drop a socket
            raise ProtocolError(self.envelope_field, f"too deeply nested: at most {MAX_JSON_DEPTH} levels",
                                kind) from None


MESSAGE_MODELS = by_type(Configure, Play, Pause, Step, Reset, Set, Speed, PredictGrid, Ready, Gradcheck, Save,
                         SetWeight)
_PARSER = MessageParser(MESSAGE_MODELS)


def parse_client_message(text: str) -> _Message:
    """Validate one JSON text message; raise ProtocolError naming the field and its allowed range.
    Image data (digits, shapes) is refused here: its page is the CNN lab (/cnn, /ws/cnn)."""
    request = _PARSER(text)
    if isinstance(request, Configure) and request.config.data.name in limits.IMAGE_DATASETS:
        raise ProtocolError("config.data.name", f"{request.config.data.name!r} is image data: the playground "
                            "trains points and CSV files; open the CNN lab (/cnn) to train a ConvNet on "
                            "digits or shapes", "configure")
    return request


# --- error messages that name the allowed range ------------------------------------------------

_UNION_TAGS = ("literal[", "function-", "int", "float", "str", "bool", "list[", "constrained-")


def validation_problem(err: ValidationError, model: type[BaseModel], request_type: Optional[str] = None,
                       prefix: str = "", strip_tag: bool = True) -> ProtocolError:
    """The first problem of a ValidationError as a ProtocolError with a dotted field path."""
    # A server limit is checked only once the engine's ranges hold, and is reported after any
    # other problem of the message, as before it was a model (server/limits.py).
    errors = [e for e in err.errors() if e["type"] != LIMIT_ERROR] or err.errors()
    # In a union every member reports; a broken bound says more than "should be 'max'".
    first = next((e for e in errors if not e["type"].endswith(("_type", "_error", "_parsing"))), errors[0])
    loc = list(first["loc"])
    if strip_tag and loc and loc[0] == request_type:
        loc = loc[1:]  # the discriminated union puts the tag first
    path = [str(p) for p in loc if not (isinstance(p, str) and p.startswith(_UNION_TAGS))]
    field = ".".join(([prefix] if prefix else []) + path)
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == LIMIT_ERROR:  # a whole sentence with the limit and the value given
        return ProtocolError(field, message, request_type)
    if first["type"] == "missing":
        message = "field required"
    elif first["type"] == "extra_forbidden":
        message = "unknown field"
    allowed = allowed_values(model, path)
    if allowed:
        message += f"; allowed: {allowed}"
    if "input" in first and first["type"] not in ("missing", "extra_forbidden") and _short(first["input"]):
        message += f" (got {json.dumps(first['input'])})"
    given = first.get("input") if path == ["config"] else None  # a whole-config check (e.g. output vs data)
    return ProtocolError(field, message, request_type, given)


def _short(value: Any) -> bool:
    return isinstance(value, (int, float, str, bool)) and len(str(value)) <= 40


def allowed_values(model: type[BaseModel], path: list[str]) -> str:
    """Human description of what the schema allows at `path`, e.g. '1 ≤ n ≤ 10000' ('' if unknown)."""
    if not path:
        return ""
    schema = _schema(model)
    node: Optional[dict] = schema
    for part in path:
        node = _child(schema, node, part)
        if node is None:
            return ""
    name = next((p for p in reversed(path) if not p.isdigit()), "value")
    return _describe(schema, node, name + ("[i]" if path[-1].isdigit() else ""))


_SCHEMAS: dict[type, dict] = {}


def _schema(model: type[BaseModel]) -> dict:
    if model not in _SCHEMAS:
        _SCHEMAS[model] = model.model_json_schema()
    return _SCHEMAS[model]


def _resolve(root: dict, node: dict) -> dict:
    while "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _child(root: dict, node: Optional[dict], part: str) -> Optional[dict]:
    if node is None:
        return None
    node = _resolve(root, node)
    for option in [node, *node.get("anyOf", [])]:
        option = _resolve(root, option)
        if part.isdigit() and "items" in option:
            return option["items"]
        if part in option.get("properties", {}):
            return option["properties"][part]
    return None


def _describe(root: dict, node: dict, name: str) -> str:
    node = _resolve(root, node)
    parts = []
    for option in node.get("anyOf", [node]):
        option = _resolve(root, option)
        if option.get("type") == "null":
            continue
        if "items" in option:
            inner = _describe(root, option["items"], name + "[i]")
            text = f"a list ({inner})" if inner else "a list"
            if "maxItems" in option:
                text += f" of at most {option['maxItems']} items"
            parts.append(text)
            continue
        if "const" in option:
            parts.append(json.dumps(option["const"]))
        elif "enum" in option:
            parts.append(" | ".join(json.dumps(v) for v in option["enum"]))
        elif option.get("type") in ("integer", "number"):
            low = (f"{_bound(option['minimum'])} ≤ " if "minimum" in option else
                   f"{_bound(option['exclusiveMinimum'])} < " if "exclusiveMinimum" in option else "")
            high = (f" ≤ {_bound(option['maximum'])}" if "maximum" in option else
                    f" < {_bound(option['exclusiveMaximum'])}" if "exclusiveMaximum" in option else "")
            parts.append(f"{low}{name}{high}" if low or high else option["type"])
        elif option.get("type") == "string" and ("minLength" in option or "maxLength" in option):
            parts.append(f"text of {option.get('minLength', 0)}..{option.get('maxLength', '∞')} characters")
        elif option.get("type") == "object":
            parts.append(f"a {option['title']} object" if "title" in option else "an object")
        elif option.get("type") in ("boolean", "string"):
            parts.append(option["type"])
    return " or ".join(parts)


def _bound(value: Any) -> str:
    """A schema bound as the client should type it: integers in full (run_id ≤ 9223372036854775807,
    not 9.22337e+18), floats short (%g)."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else f"{value:g}"


# --- the CNN lab's socket, /ws/cnn (docs/protocol.md "CNN lab", server/cnn_socket.py) -----------
# The playground's messages, with image data only, `set` also choosing the example whose feature
# maps the frames show, and a lower frame rate; no predict_grid, set_weight, gradcheck, save.

class CnnConfigure(Configure):
    """configure on /ws/cnn: image data (digits, shapes), `network.layers` or a dense `hidden`
    net on the pixels; the CNN lab's limits (server/limits.py cnn_violations) are checked after."""

    type: Literal["configure"]
    config: TrainConfig


CnnSet = create_model("CnnSet", __base__=_SetBase, __module__=__name__, type=(Literal["set"], ...),
                      example=(Optional[int], Field(None, ge=0, le=100_000, description="dev example shown")),
                      **{key: (optional_field(model_at(path), path[-1]), None) for key, path in LIVE_KEYS.items()})


class CnnSpeed(Speed):
    fps: Optional[int] = Field(None, ge=1, le=limits.CNN_MAX_FPS)


CNN_MESSAGE_MODELS = by_type(CnnConfigure, Play, Pause, Step, Reset, CnnSet, CnnSpeed, Ready)
_CNN_PARSER = MessageParser(CNN_MESSAGE_MODELS)
_LAYER_ERROR = re.compile(r"^(network\.layers\.\d+): (.*)$", re.S)


def parse_cnn_message(text: str) -> _Message:
    """A /ws/cnn message, validated; a layer that does not fit is reported on its entry
    (field config.network.layers.N, the message with the arithmetic); then the CNN limits."""
    try:
        request = _CNN_PARSER(text)
    except ProtocolError as err:
        match = _LAYER_ERROR.match(err.message) if err.field == "config" else None
        if match:
            raise ProtocolError("config." + match.group(1), match.group(2), err.request_type) from None
        raise
    if isinstance(request, CnnConfigure):
        problems = limits.cnn_violations(request.config)
        if problems:
            raise ProtocolError(*problems[0], "configure")
    return request
