"""Binary frame encoding (layout in docs/protocol.md): "NNPF", uint32 LE header length, JSON
header, zero padding to a multiple of 4, then the arrays at the header's offsets: exact ones as
float32, images quantized to uint8 per image with the image's [lo, hi] in the header.

Why uint8: a picture needs no more than 256 levels, and a quarter of the bytes is a quarter of the
copying in the worker, the relay and the browser (frames are most of what the server moves).
Why the weights travel as float32 and not as JSON numbers: printing a hundred floats cost the
worker more than the rest of the frame's header, and parsing them cost every client.
Why orjson for the header: json.dumps of a frame's small header took ~5 % of a worker's time per
frame at 100 clients (float printing); orjson takes a tenth of that.
Encoding refuses NaN and ±inf in the arrays (the run diverged); in the header they become null:
a frame on the wire is always finite.
"""
from __future__ import annotations

import functools
import math
import struct
from typing import NamedTuple

import numpy as np
import orjson

MAGIC = b"NNPF"
_FLOAT32_MAX = float(np.finfo(np.float32).max)


class NonFiniteFrame(ValueError):
    """A frame would have carried NaN or ±inf (the run diverged)."""


def quantize(values: np.ndarray) -> tuple[np.ndarray, list, list]:
    """(q, lo, hi): q = round(255 (v - lo) / (hi - lo)) as uint8, lo and hi the min and max of each
    image (a 2-D array is one image, a 3-D array a stack along axis 0), so v ≈ lo + q (hi - lo)/255
    within (hi - lo)/510. Integer arrays (class indices 0..255) get lo = 0, hi = 255: exact."""
    count = values.shape[0] if values.ndim == 3 else 1
    if values.size == 0:
        return values.astype(np.uint8), [0.0] * count, [0.0] * count
    if values.dtype.kind in "iu":
        if values.min() < 0 or values.max() > 255:
            raise ValueError("integer frame arrays must hold values 0..255")
        return values.astype(np.uint8), [0] * count, [255] * count
    flat = values.reshape(count, -1)
    lo = np.minimum.reduce(flat, axis=1).tolist()  # per image, as Python floats
    hi = np.maximum.reduce(flat, axis=1).tolist()
    scales = []
    for a, b in zip(lo, hi):  # a few dozen images at most: plain floats beat array calls here
        # float32 is what the browser decodes into: beyond its range is as bad as inf (and NaN
        # or inf anywhere in an image shows in its min or max)
        if not (abs(a) <= _FLOAT32_MAX and abs(b) <= _FLOAT32_MAX):
            raise NonFiniteFrame("array has NaN or inf values (or values beyond float32's range)")
        scales.append(255.0 / (b - a) if b > a else 0.0)
    # (v - lo) first: >= 0 and exact enough however large v is; then to 0..255, and + 0.5 because
    # the cast truncates (so this rounds)
    q = flat - np.array(lo, dtype=flat.dtype)[:, None]
    q *= np.array(scales, dtype=flat.dtype)[:, None]
    q += 0.5
    return q.astype(np.uint8).reshape(values.shape), lo, hi


class Quantized(NamedTuple):
    """An image array already quantized (quantize_many of a worker batch): what encode_frame
    would compute for it, so it is sent as is."""
    data: np.ndarray  # uint8, the array's shape
    lo: list
    hi: list


class PackedExact(NamedTuple):
    """The exact arrays already packed as one little-endian float32 vector (a worker batch packs
    all its members' parameters in one operation): `arrays` = ((name, shape), ...) in order."""
    flat: np.ndarray
    arrays: tuple


def quantize_many(values: np.ndarray) -> tuple[np.ndarray, list, list, np.ndarray]:
    """quantize() of K images in one pass: values (K, ...), each [k] one image (a worker batch's
    boundaries, or all its neuron thumbnails). Returns (q uint8 of values' shape, lo, hi: lists
    of K Python numbers, ok: (K,) bool). Where ok[k], image k's q, lo, hi are exactly quantize's
    (same float operations in the same dtype, element by element: the frames are byte for byte
    the same); where not (NaN, inf or beyond float32's range; an integer image outside 0..255)
    q[k] is garbage: quantize that image alone, which raises as usual.

    Why: quantizing image by image was ~25 µs of Python and small NumPy calls per member frame of
    a batch, about a tenth of a batched member's whole frame (bench/batched_bench.py's setting)."""
    K = values.shape[0]
    if K == 0:
        return values.astype(np.uint8), [], [], np.ones(0, dtype=bool)
    flat = values.reshape(K, -1)
    if values.dtype.kind in "iu":
        if flat.size == 0:
            return values.astype(np.uint8), [0] * K, [255] * K, np.ones(K, dtype=bool)
        ok = (flat.min(axis=1) >= 0) & (flat.max(axis=1) <= 255)
        return values.astype(np.uint8), [0] * K, [255] * K, ok
    if flat.shape[1] == 0:
        return values.astype(np.uint8), [0.0] * K, [0.0] * K, np.ones(K, dtype=bool)
    lo = np.minimum.reduce(flat, axis=1)
    hi = np.maximum.reduce(flat, axis=1)
    lo64, hi64 = lo.astype(np.float64), hi.astype(np.float64)  # quantize's Python floats
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        ok = (np.abs(lo64) <= _FLOAT32_MAX) & (np.abs(hi64) <= _FLOAT32_MAX)
        spread = hi64 > lo64
        scales = np.where(spread, 255.0 / np.where(spread, hi64 - lo64, 1.0), 0.0)
        q = flat - lo64.astype(flat.dtype)[:, None]
        q *= scales.astype(flat.dtype)[:, None]
        q += 0.5
        data = q.astype(np.uint8).reshape(values.shape)
    return data, lo64.tolist(), hi64.tolist(), ok


def encode_frame(header: dict, images: dict[str, np.ndarray | Quantized],
                 exact: dict[str, np.ndarray] | PackedExact | None = None) -> bytes:
    """header + arrays → bytes. header gets `arrays: {name: layout}` added, offsets relative to the
    payload start:
    - `exact` arrays (e.g. the weights: a link's tooltip shows its value) as little-endian float32,
      layout {offset, shape, dtype: "float32"}; they come first, so each starts at a multiple of 4;
    - `images` quantized to uint8, layout {offset, shape, dtype: "uint8", lo, hi} (see quantize);
    a Quantized or PackedExact value is a batch's already computed form (quantize_many), sent as is.
    The header's numbers must be finite or None (engine.snapshot's to_dict gives that); orjson
    writes NaN and ±inf as null, so not even a stray one reaches the wire as NaN.
    """
    layout: dict[str, dict] = {}
    chunks: list[np.ndarray] = []
    offset = 0
    if isinstance(exact, PackedExact):  # packed (and checked finite) by the caller
        chunks.append(exact.flat)
        layout.update(_exact_layout(exact.arrays))
        offset = exact.flat.nbytes
    elif exact:
        parts = [np.ravel(v) for v in exact.values()]
        with np.errstate(over="ignore"):  # beyond float32's range becomes inf, refused below
            flat = np.concatenate(parts).astype("<f4")
        if not np.isfinite(flat).all():
            raise NonFiniteFrame(f"arrays {list(exact)} have NaN or inf values (or values beyond float32's range)")
        chunks.append(flat)
        layout.update(_exact_layout(tuple((name, np.shape(v)) for name, v in exact.items())))
        offset = flat.nbytes
    for name, values in images.items():
        if isinstance(values, Quantized):
            data, lo, hi = values
        else:
            values = np.asarray(values)
            try:
                data, lo, hi = quantize(values)
            except NonFiniteFrame:
                raise NonFiniteFrame(f"array {name!r} has NaN or inf values") from None
        layout[name] = {"offset": offset, "shape": data.shape, "dtype": "uint8", "lo": lo, "hi": hi}
        chunks.append(data)  # contiguous: join below copies it once
        offset += data.nbytes
    head = orjson.dumps({**header, "arrays": layout})
    padding = b"\0" * (-(8 + len(head)) % 4)
    return b"".join([MAGIC, struct.pack("<I", len(head)), head, padding, *chunks])


@functools.lru_cache(maxsize=64)
def _exact_layout(arrays: tuple) -> dict:
    """The layout of float32 arrays ((name, shape), ...) packed from offset 0 (one per network
    shape, so a frame does not rebuild it; callers copy it, never change it)."""
    layout, offset = {}, 0
    for name, shape in arrays:
        layout[name] = {"offset": offset, "shape": shape, "dtype": "float32"}
        offset += 4 * math.prod(shape)
    return layout


def frame_header(frame: bytes) -> dict:
    """The JSON header of an encoded frame (for relays and benchmarks that need no arrays)."""
    if frame[:4] != MAGIC:
        raise ValueError("not a frame: bad magic")
    (length,) = struct.unpack_from("<I", frame, 4)
    return orjson.loads(frame[8:8 + length])
