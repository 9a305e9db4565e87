"""Binary frame encoding, checked with the test decoder written from docs/protocol.md."""
from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from server.frames import NonFiniteFrame, encode_frame, frame_header
from tests.server.conftest import decode_frame


@pytest.mark.parametrize("header_text", ["", "a", "ab", "abc"])  # every padding length 0..3
def test_round_trip_and_alignment(header_text):
    boundary = np.linspace(0, 1, 12, dtype=np.float64).reshape(3, 4)
    neurons = np.arange(2 * 5 * 5, dtype=np.float64).reshape(2, 5, 5) - 7.5
    data = encode_frame({"type": "frame", "seq": 3, "note": header_text}, {"boundary": boundary, "neurons": neurons})
    (length,) = struct.unpack("<I", data[4:8])
    payload = 8 + length + (-(8 + length) % 4)
    assert payload % 4 == 0 and len(data) == payload + 4 * (12 + 50)
    header, arrays = decode_frame(data)
    assert header["seq"] == 3 and header["note"] == header_text
    assert header["arrays"]["boundary"] == {"offset": 0, "shape": [3, 4], "dtype": "float32"}
    assert header["arrays"]["neurons"]["offset"] == 48
    assert np.array_equal(arrays["boundary"], boundary.astype(np.float32))
    assert np.array_equal(arrays["neurons"], neurons.astype(np.float32))
    assert frame_header(data) == header


def test_empty_array_is_allowed():
    header, arrays = decode_frame(encode_frame({"type": "frame"}, {"neurons": np.zeros((0, 20, 20))}))
    assert arrays["neurons"].shape == (0, 20, 20)


@pytest.mark.parametrize("header, arrays", [
    ({"cost": math.nan}, {}),
    ({"train": {"cost": math.inf}}, {}),
    ({"weights": {"W1": [[1.0, -math.inf]]}}, {}),
    ({}, {"boundary": np.array([[0.5, np.nan]])}),
    ({}, {"boundary": np.array([[1e39]])}),  # finite in float64, inf in float32
])
def test_non_finite_values_are_refused(header, arrays):
    with pytest.raises(NonFiniteFrame):
        encode_frame({"type": "frame", **header}, arrays)
