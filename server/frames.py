"""Binary frame encoding (layout in docs/protocol.md): "NNPF", uint32 LE header length, JSON
header, zero padding to a multiple of 4, then float32 little-endian arrays at the header's offsets.

Encoding refuses NaN and ±inf anywhere (header or arrays): a frame on the wire is always finite.
"""
from __future__ import annotations

import json
import struct

import numpy as np

MAGIC = b"NNPF"


class NonFiniteFrame(ValueError):
    """A frame would have carried NaN or ±inf (the run diverged)."""


def encode_frame(header: dict, arrays: dict[str, np.ndarray], raw: dict[str, str] | None = None) -> bytes:
    """header + arrays → bytes. header gets `arrays: {name: {offset, shape, dtype}}` added.

    Offsets are relative to the payload start; every array is float32, so each offset stays a
    multiple of 4 and the browser can view it as a Float32Array without copying.
    raw: header keys whose values the caller already encoded as JSON text (finite numbers only;
    e.g. the weights, formatted faster than json.dumps formats floats), appended as they are.
    """
    layout: dict[str, dict] = {}
    chunks: list[bytes] = []
    offset = 0
    for name, values in arrays.items():
        with np.errstate(over="ignore"):  # float64 beyond float32's range becomes inf, refused below
            data = np.ascontiguousarray(values, dtype="<f4")
        if not np.isfinite(data).all():
            raise NonFiniteFrame(f"array {name!r} has NaN or inf values")
        layout[name] = {"offset": offset, "shape": list(data.shape), "dtype": "float32"}
        chunks.append(data)  # contiguous: join below copies it once
        offset += data.nbytes
    try:
        text = json.dumps({**header, "arrays": layout}, separators=(",", ":"), allow_nan=False)
    except ValueError as exc:  # json refuses NaN / inf with allow_nan=False
        raise NonFiniteFrame(f"header has a non-finite number: {exc}") from None
    if raw:
        text = text[:-1] + "".join(f",{json.dumps(key)}:{value}" for key, value in raw.items()) + "}"
    head = text.encode()
    padding = b"\0" * (-(8 + len(head)) % 4)
    return b"".join([MAGIC, struct.pack("<I", len(head)), head, padding, *chunks])


def frame_header(frame: bytes) -> dict:
    """The JSON header of an encoded frame (for relays and benchmarks that need no arrays)."""
    if frame[:4] != MAGIC:
        raise ValueError("not a frame: bad magic")
    (length,) = struct.unpack_from("<I", frame, 4)
    return json.loads(frame[8:8 + length])
