"""Binary frame encoding, checked with the test decoder written from docs/protocol.md."""
from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from server.frames import NonFiniteFrame, encode_frame, frame_header, quantize
from tests.server.conftest import decode_frame


@pytest.mark.parametrize("header_text", ["", "a", "ab", "abc"])  # every padding length 0..3
def test_round_trip_and_alignment(header_text):
    boundary = np.linspace(0, 1, 12, dtype=np.float64).reshape(3, 4)
    neurons = np.arange(2 * 5 * 5, dtype=np.float64).reshape(2, 5, 5) - 7.5
    data = encode_frame({"type": "frame", "seq": 3, "note": header_text}, {"boundary": boundary, "neurons": neurons})
    (length,) = struct.unpack("<I", data[4:8])
    payload = 8 + length + (-(8 + length) % 4)
    assert payload % 4 == 0 and len(data) == payload + 12 + 50  # one byte per value
    header, arrays = decode_frame(data)
    assert header["seq"] == 3 and header["note"] == header_text
    assert header["arrays"]["boundary"] == {"offset": 0, "shape": [3, 4], "dtype": "uint8", "lo": [0.0], "hi": [1.0]}
    # one [lo, hi] per neuron image: -7.5..16.5 and 17.5..41.5
    assert header["arrays"]["neurons"] == {"offset": 12, "shape": [2, 5, 5], "dtype": "uint8",
                                           "lo": [-7.5, 17.5], "hi": [16.5, 41.5]}
    assert frame_header(data) == header
    # decoded values are within half a level, (hi - lo)/510, of the originals
    np.testing.assert_allclose(arrays["boundary"], boundary, atol=1 / 510 + 1e-6, rtol=0)
    np.testing.assert_allclose(arrays["neurons"], neurons, atol=24 / 510 + 1e-5, rtol=0)
    assert np.abs(arrays["boundary"] - boundary).max() > 1e-4  # quantized, not float32


def test_quantization_levels_are_hand_checked():
    q, lo, hi = quantize(np.array([[-1.0, 0.0, 0.5, 1.0]]))
    # 255 (v + 1) / 2 rounded: 0, 127.5 → 128, 191.25 → 191, 255
    assert q.tolist() == [[0, 128, 191, 255]] and lo == [-1.0] and hi == [1.0]


def test_large_values_with_a_small_spread_keep_their_levels():
    # 1e6 + [0, 0.25, 0.5, 1]: float32 spacing there is 0.0625, so these are exact float32 values;
    # computing v·scale + shift would cancel two ~2.5e8 terms and lose the levels
    values = (1e6 + np.array([[0.0, 0.25, 0.5, 1.0]])).astype(np.float32)
    q, lo, hi = quantize(values)
    assert q.tolist() == [[0, 64, 128, 255]] and lo == [1e6] and hi == [1e6 + 1]


def test_constant_image_and_class_indices_are_exact():
    header, arrays = decode_frame(encode_frame({"type": "frame"}, {
        "flat": np.full((2, 2), 0.25), "classes": np.array([[0, 2], [5, 1]])}))
    assert np.array_equal(arrays["flat"], np.full((2, 2), 0.25, dtype=np.float32))
    assert header["arrays"]["classes"]["lo"] == [0] and header["arrays"]["classes"]["hi"] == [255]
    assert np.array_equal(arrays["classes"], [[0, 2], [5, 1]])


def test_empty_array_is_allowed():
    header, arrays = decode_frame(encode_frame({"type": "frame"}, {"neurons": np.zeros((0, 20, 20))}))
    assert arrays["neurons"].shape == (0, 20, 20)


@pytest.mark.parametrize("arrays", [
    {"boundary": np.array([[0.5, np.nan]])},
    {"boundary": np.array([[0.5, -np.inf]])},
    {"boundary": np.array([[1e39]])},  # finite in float64, inf in float32
    {"neurons": np.stack([np.zeros((2, 2)), np.full((2, 2), np.inf)])},
])
def test_non_finite_arrays_are_refused(arrays):
    with pytest.raises(NonFiniteFrame):
        encode_frame({"type": "frame"}, arrays)


def test_non_finite_header_numbers_go_out_as_null():
    # Snapshot.to_dict never gives one; if one slipped through, the wire still carries no NaN
    data = encode_frame({"type": "frame", "cost": math.nan, "train": {"cost": math.inf}, "norms": [1.5, -math.inf]}, {})
    assert b"NaN" not in data and b"Infinity" not in data
    assert frame_header(data) == {"type": "frame", "cost": None, "train": {"cost": None}, "norms": [1.5, None],
                                  "arrays": {}}


@pytest.mark.parametrize("header_text", ["", "a", "ab", "abc"])  # every padding length 0..3
def test_exact_arrays_are_float32_first_then_the_images(header_text):
    W = np.array([[0.1, -2.5, 1e-8]])  # float32 keeps each to ~7 significant digits
    b = np.array([[3.0]])
    data = encode_frame({"type": "frame", "note": header_text}, {"boundary": np.eye(2)}, exact={"W1": W, "b1": b})
    header, arrays = decode_frame(data)
    assert header["arrays"]["W1"] == {"offset": 0, "shape": [1, 3], "dtype": "float32"}
    assert header["arrays"]["b1"] == {"offset": 12, "shape": [1, 1], "dtype": "float32"}
    assert header["arrays"]["boundary"]["offset"] == 16 and header["arrays"]["boundary"]["dtype"] == "uint8"
    assert arrays["W1"].tolist() == [[np.float32(0.1), -2.5, np.float32(1e-8)]] and arrays["b1"].tolist() == [[3.0]]
    assert np.array_equal(arrays["boundary"], np.eye(2, dtype=np.float32))


@pytest.mark.parametrize("value", [math.nan, math.inf, 1e39])  # 1e39: finite in float64, inf in float32
def test_exact_arrays_with_non_finite_values_are_refused(value):
    with pytest.raises(NonFiniteFrame, match="b1"):
        encode_frame({"type": "frame"}, {}, exact={"W1": np.ones((2, 2)), "b1": np.array([[0.0], [value]])})


def test_quantize_many_gives_quantizes_bytes_image_by_image():
    """A worker batch quantizes all its members' images in one pass (quantize_many): each image's
    bytes, lo and hi must be exactly what quantize gives it alone; images that quantize refuses
    are flagged, not encoded."""
    from server.frames import quantize_many

    rng = np.random.default_rng(5)
    images = rng.normal(size=(6, 7, 7)).astype(np.float32) * np.float32(3.0)
    images[1] = 0.25                                  # constant: scale 0
    images[2] = (1e6 + rng.random((7, 7))).astype(np.float32)  # large values, small spread
    images[3, 0, 0] = np.nan
    images[4, 1, 1] = np.inf
    q, lo, hi, ok = quantize_many(images)
    assert ok.tolist() == [True, True, True, False, False, True]
    for k in (0, 1, 2, 5):
        alone, (a,), (b,) = quantize(images[k])
        assert q[k].tobytes() == alone.tobytes() and (lo[k], hi[k]) == (a, b)
        assert type(lo[k]) is float
    for k in (3, 4):
        with pytest.raises(NonFiniteFrame):
            quantize(images[k])
    classes = np.array([[[0, 2], [5, 1]], [[3, 3], [300, 0]]])
    q, lo, hi, ok = quantize_many(classes)
    assert ok.tolist() == [True, False] and lo == [0, 0] and hi == [255, 255] and q[0].tolist() == [[0, 2], [5, 1]]
    q, lo, hi, ok = quantize_many(np.zeros((0, 20, 20), dtype=np.float32))
    assert q.shape == (0, 20, 20) and lo == hi == [] and ok.tolist() == []


def test_prepacked_arrays_encode_to_the_same_bytes():
    from server.frames import PackedExact, Quantized

    boundary = np.linspace(-2, 3, 16, dtype=np.float32).reshape(4, 4)
    W1, b1 = np.arange(6.0).reshape(3, 2) / 7, np.ones((3, 1))
    plain = encode_frame({"type": "frame"}, {"boundary": boundary}, exact={"W1": W1, "b1": b1})
    flat = np.concatenate([W1.ravel(), b1.ravel()]).astype("<f4")
    packed = encode_frame({"type": "frame"}, {"boundary": Quantized(*quantize(boundary))},
                          exact=PackedExact(flat, (("W1", (3, 2)), ("b1", (3, 1)))))
    assert packed == plain
