"""Strict JSON at the websocket boundary (issue #12): what a client sends and what the server
sends are both RFC 8259 JSON, never Python's extensions of it.

In: `loads` refuses NaN, Infinity and -Infinity literals and numbers that overflow a float
(`1e999` would be infinity), and refuses nesting deeper than MAX_JSON_DEPTH before parsing at
all (json's C parser recurses per level: `"[" * 5000` raised an uncaught RecursionError that
dropped the socket). Every refusal is a `JsonRefused` (a ValueError) whose message names the
problem and the allowed value, for the caller's `error` reply.

Out: `dumps` is json.dumps(allow_nan=False); a non-finite number that slipped into a reply
becomes null (logged once per message) instead of a literal a browser's JSON.parse rejects.
`strict_text` does the same for JSON text made elsewhere (the workers' messages, relayed as they
are): a substring test first, so the usual message costs a scan at C speed and no parse.
"""
from __future__ import annotations

import json
import logging
import math
from functools import partial
from typing import Any

import numpy as np

from server.limits import MAX_JSON_DEPTH

log = logging.getLogger("nn_playground.json")


_OPEN = np.zeros(256, np.int8)
_OPEN[[ord("["), ord("{")]] = 1
_OPEN[[ord("]"), ord("}")]] = -1


class JsonRefused(ValueError):
    """A client's text that is not strict JSON, or nested too deeply; the message says why."""


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text` (brackets inside strings ignored).

    Cheap for ordinary messages: with no more brackets than MAX_JSON_DEPTH the depth cannot be
    larger, and str.count runs at C speed. Otherwise one vectorized pass over the bytes (~1 ms
    for 64 KiB, whatever they hold; a regex cutting out strings took 40 s on 60 KB of `[\\"`):
    a quote counts unless an odd run of backslashes precedes it, a bracket counts outside
    strings, and the depth is the running total's maximum."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return MAX_JSON_DEPTH  # an upper bound, and all a caller needs to know
    data = np.frombuffer(text.encode("utf-8", "surrogatepass"), np.uint8)
    index = np.arange(data.size)
    backslash = data == ord("\\")
    run = index - np.maximum.accumulate(np.where(backslash, -1, index))  # backslashes ending at i
    escaped = np.zeros(data.size, bool)
    escaped[1:] = run[:-1] % 2 == 1
    quote = (data == ord('"')) & ~escaped
    outside = (np.cumsum(quote) - quote) % 2 == 0
    return int(np.cumsum(_OPEN[data] * outside, dtype=np.int32).max(initial=0))


def _refuse_constant(name: str) -> Any:
    raise JsonRefused(f"not valid JSON: {name} is not a JSON number (send finite numbers only)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRefused(f"not valid JSON here: number {text[:40]} is out of range (|x| ≤ 1.8e308, a finite double)")
    return value


def loads(text: str) -> Any:
    """Parse a client's JSON text strictly; JsonRefused (or json's own ValueError) if it is not."""
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise JsonRefused(f"too deeply nested: {depth} levels of [ ] and {{ }}, at most {MAX_JSON_DEPTH}")
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:  # cannot happen below MAX_JSON_DEPTH; kept so no input can drop a socket
        raise JsonRefused(f"too deeply nested: at most {MAX_JSON_DEPTH} levels of [ ] and {{ }}") from None


def finite_only(value: Any) -> Any:
    """`value` with every non-finite float replaced by None (dicts, lists and tuples walked)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_only(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_only(v) for v in value]
    return value


_STRICT = partial(json.dumps, allow_nan=False)


def dumps(message: Any, encode=_STRICT) -> str:
    """`encode(message)` (an encoder that refuses NaN/Infinity with a ValueError, as
    json.dumps(allow_nan=False) does); on a non-finite number, the message again with it as
    null, and a warning naming the message's type."""
    try:
        return encode(message)
    except ValueError:
        log.warning("a non-finite number in a %r message was sent as null", _kind(message))
        return encode(finite_only(message))


def strict_text(text: str) -> str:
    """JSON text made elsewhere, made strict: unchanged unless it has a NaN/Infinity literal
    (checked by substring first: a run named "NaN" costs one parse, a usual message none)."""
    if "NaN" not in text and "Infinity" not in text:
        return text
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except JsonRefused:
        value = json.loads(text)
        log.warning("a non-finite number in a %r message was sent as null", _kind(value))
        return _STRICT(finite_only(value))
    except ValueError:
        return text  # not JSON at all: not ours to rewrite
    return text


def _kind(message: Any) -> Any:
    return message.get("type") if isinstance(message, dict) else type(message).__name__
