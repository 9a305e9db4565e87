"""`set_weight`: clicking a link edits one weight of the running network, keeping everything else."""
from __future__ import annotations

import numpy as np

from tests.server.test_ws import SMALL


def test_set_weight_changes_only_that_weight_and_the_output(client):
    _, (before, arrays_before) = client.configure(**SMALL)
    client.send({"type": "set_weight", "layer": 2, "row": 3, "col": 5, "value": 7.25})
    after, arrays_after = client.until("frame")
    W2_before, W2_after = arrays_before["W2"], arrays_after["W2"]
    assert W2_after[3, 5] == 7.25
    W2_after[3, 5] = W2_before[3, 5]
    np.testing.assert_array_equal(W2_after, W2_before)  # every other weight unchanged
    np.testing.assert_array_equal(arrays_after["W1"], arrays_before["W1"])
    assert after["iteration"] == before["iteration"]
    assert not np.array_equal(arrays_after["neurons"], arrays_before["neurons"])  # layer 2 outputs moved


def test_set_weight_outside_the_network_is_an_error_naming_the_field(client):
    client.configure(**SMALL)  # W1 (8, 2), W2 (8, 8), W3 (1, 8)
    client.send({"type": "set_weight", "layer": 1, "row": 0, "col": 2, "value": 1.0})
    error = client.until("error")
    assert error["field"] == "col" and "0..1" in error["message"] and error["request_type"] == "set_weight"
    client.send({"type": "set_weight", "layer": 4, "row": 0, "col": 0, "value": 1.0})
    assert client.until("error")["field"] == "layer"
    client.send({"type": "set_weight", "layer": 1, "row": 0, "col": 0, "value": 1e6})
    error = client.until("error")
    assert error["field"] == "value" and "100" in error["message"]
    client.send({"type": "step", "n": 1})  # the session still works
    assert client.until("frame")[0]["iteration"] == 1
