"""The CNN lab's Live ConvNet over /ws/cnn (docs/protocol.md "CNN lab") against the real server,
and the playground's /ws refusing image data."""
from __future__ import annotations

import json

import numpy as np
import pytest

from server import limits
from tests.server.conftest import Client

CONVNET = {"data": {"name": "digits", "split": [0.7, 0.15, 0.15]},
           "network": {"layers": [{"type": "conv", "filters": 8, "size": 3, "stride": 1, "padding": "same", "activation": "relu"},
                                  {"type": "pool", "mode": "max", "size": 2, "stride": 2},
                                  {"type": "flatten"},
                                  {"type": "dense", "units": 32, "activation": "relu"}],
                       "output": "softmax", "init": "he"},
           "optimizer": {"name": "adam", "learning_rate": 0.003}, "batch_size": 32, "epochs": 12}


@pytest.fixture()
def cnn(server):
    with Client(server.ws_url + "/cnn") as c:
        yield c


def configure(client: Client, config: dict) -> tuple[dict, dict, tuple]:
    client.send({"type": "configure", "config": config})
    data = client.until("data", timeout=30)
    state = client.until("state", timeout=30)
    frame = client.until("frame", timeout=30)
    return data, state, frame


def test_digits_convnet_plays_frames_with_feature_maps_and_a_confusion_matrix(cnn):
    data, state, (header, arrays) = configure(cnn, CONVNET)
    assert data["kind"] == "images" and data["classes"] == 10 and data["image_shape"] == [8, 8, 1]
    assert data["sizes"] == {"train": 1258, "dev": 269, "test": 270}
    layers = data["network"]["layers"]
    assert [r["type"] for r in layers] == ["conv", "pool", "flatten", "dense", "output"]
    assert [r["out_shape"] for r in layers] == [[8, 8, 8], [4, 4, 8], [128], [32], [10]]
    assert [r["parameters"] for r in layers] == [3 * 3 * 1 * 8 + 8, 0, 0, 128 * 32 + 32, 32 * 10 + 10]
    assert layers[0]["dense"] == 64 * 512 + 512  # a dense layer between the same volumes
    gallery = data["gallery"]
    assert gallery["shape"] == [limits.CNN_GALLERY, 8, 8] and len(gallery["pixels"]) == limits.CNN_GALLERY * 64
    assert state["status"] == "ready" and state["speed"]["fps"] == limits.CNN_DEFAULT_FPS
    assert header["iteration"] == 0

    cnn.send({"type": "play"})
    assert cnn.until("state")["status"] == "running"
    seen = []
    for _ in range(3):
        header, arrays = cnn.until("frame", timeout=30)
        seen.append(header["iteration"])
    assert seen == sorted(seen) and seen[-1] > 0
    cnn.send({"type": "pause"})
    cnn.until("state")
    assert arrays["example"].shape == (8, 8)
    assert arrays["maps1"].shape == (8, 8, 8) and arrays["maps2"].shape == (8, 4, 4)  # (n_C, n_H, n_W)
    assert arrays["W1"].shape == (3, 3, 1, 8)
    assert arrays["units4"].shape == (32,) and (arrays["units4"] >= 0).all()  # relu
    assert np.isfinite(arrays["maps1"]).all() and (arrays["maps1"] >= -1e-6).all()  # relu maps
    info = header["cnn"]
    confusion = np.array(info["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == 269 == info["set_size"]
    assert info["wrong"] == confusion.sum() - np.trace(confusion)
    assert abs(1 - np.trace(confusion) / 269 - (1 - header["dev"]["accuracy"])) < 1e-9
    assert abs(sum(info["probabilities"]) - 1) < 1e-3 and len(info["probabilities"]) == 10
    shown = info["misclassified"]
    assert len(shown) == min(info["wrong"], limits.CNN_MISCLASSIFIED)
    assert all(m["true"] != m["predicted"] for m in shown)
    if shown:
        assert arrays["misclassified"].shape == (len(shown), 8, 8)


def test_choosing_an_example_changes_the_maps(cnn):
    _, _, (header, arrays) = configure(cnn, CONVNET)
    assert header["cnn"]["example"] == 0
    cnn.send({"type": "set", "example": 7})
    assert cnn.until("state")["type"] == "state"
    cnn.send({"type": "step", "n": 1})
    header2, arrays2 = cnn.until("frame")
    assert header2["cnn"]["example"] == 7
    assert not np.allclose(arrays["example"], arrays2["example"])
    cnn.send({"type": "set", "example": 269})
    error = cnn.until("error")
    assert error["field"] == "example" and "0..268" in error["message"]


def test_a_layer_that_does_not_fit_is_an_error_naming_it_and_the_arithmetic(cnn):
    bad = json.loads(json.dumps(CONVNET))
    bad["network"]["layers"][0].update(stride=2, padding="valid")   # 8 → ⌊(8 − 3)/2⌋ + 1 = 3
    bad["network"]["layers"][1].update(size=4, stride=4)            # a 4×4 pool on 3×3
    cnn.send({"type": "configure", "config": bad})
    error = cnn.until("error")
    assert error["field"] == "config.network.layers.1"
    assert "pool size 4 > input 3×3" in error["message"] and "⌊(8 + 0 − 3)/2⌋ + 1 = 3" in error["message"]


def test_cnn_limits_and_points_data_are_refused(cnn):
    big = json.loads(json.dumps(CONVNET))
    big["network"]["layers"][0]["filters"] = limits.CNN_MAX_FILTERS + 1
    cnn.send({"type": "configure", "config": big})
    error = cnn.until("error")
    assert error["field"] == "config.network.layers.0.filters" and str(limits.CNN_MAX_FILTERS) in error["message"]
    cnn.send({"type": "configure", "config": {"data": {"name": "moons"}}})
    error = cnn.until("error")
    assert error["field"] == "config.data.name" and "digits" in error["message"]
    cnn.send({"type": "speed", "fps": limits.CNN_MAX_FPS + 1})
    assert cnn.until("error")["field"] == "fps"


def test_dense_net_on_the_pixels_for_comparison(cnn):
    config = {"data": {"name": "shapes", "n": 300, "size": 16, "noise": 0.1, "classes": 6}, "network": {"hidden": [32]},
              "batch_size": 64}
    data, _, (header, arrays) = configure(cnn, config)
    assert data["network"]["kind"] == "dense"
    assert [r["parameters"] for r in data["network"]["layers"]] == [256 * 32 + 32, 32 * 6 + 6]
    assert arrays["units1"].shape == (32,) and arrays["example"].shape == (16, 16)
    assert np.array(header["cnn"]["confusion"]).sum() == header["cnn"]["set_size"] == 60


def test_the_playground_socket_refuses_image_data(client):
    client.send({"type": "configure", "config": CONVNET})
    error = client.until("error")
    assert error["field"] == "config.data.name" and "/cnn" in error["message"]
    client.send({"type": "configure", "config": {"data": {"name": "shapes"}, "network": {"hidden": [4]}}})
    assert client.until("error")["field"] == "config.data.name"
    client.configure(data={"name": "moons"})  # the socket still trains points


def test_live_changes_of_a_convnet(cnn):
    _, state, _ = configure(cnn, CONVNET)
    assert "hidden" not in state["config"]["network"]  # the state's config can be sent back as is
    cnn.send({"type": "set", "learning_rate": 0.01, "l2": 0.5, "keep_prob": 0.8})
    state = cnn.until("state")
    assert state["config"]["optimizer"]["learning_rate"] == 0.01
    assert state["config"]["regularization"] == {"l2": 0.5, "l1": 0.0, "keep_prob": 0.8}
    cnn.send({"type": "set", "learning_rate": 0.02})
    assert cnn.until("state")["config"]["optimizer"]["learning_rate"] == 0.02
    cnn.send({"type": "configure", "config": state["config"]})
    assert cnn.until("state")["status"] == "ready"
