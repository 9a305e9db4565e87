"""Every websocket message of docs/protocol.md against the real server (uvicorn, worker processes)."""
from __future__ import annotations

import json
import time

import httpx
import numpy as np
import pytest

from server import limits

SMALL = {"data": {"name": "spiral", "noise": 0.1}, "network": {"hidden": [8, 8]}}


def assert_finite_frame(header: dict, arrays: dict) -> None:
    text = json.dumps(header, allow_nan=False)  # raises on NaN / inf in the header
    assert "Infinity" not in text
    for name, arr in arrays.items():
        assert np.isfinite(arr).all(), name


def test_configure_replies_data_state_then_frame(client):
    client.send({"type": "configure", "config": {**SMALL, "epochs": 100000}})
    data, state = client.recv(), client.recv()
    header, arrays = client.recv()
    assert (data["type"], state["type"]) == ("data", "state")
    assert state["status"] == "ready"
    assert state["network"] == {"layers": [2, 8, 8, 1], "inputs": ["x1", "x2"]}
    assert state["config"]["network"]["hidden"] == [8, 8]
    assert "data" not in state  # the points came once, in `data`
    assert data["kind"] == "binary" and data["classes"] == 2 and data["domain"] == [-6, 6, -6, 6]
    assert len(data["train"]["x1"]) == 320 and len(data["dev"]["y"]) == 80 and data["test"]["x2"] == []
    assert set(data["train"]["y"]) == {0, 1}
    assert state["limits"]["max_hidden_layers"] == limits.MAX_HIDDEN_LAYERS
    assert header["type"] == "frame" and header["iteration"] == 0 and header["status"] == "ready"
    assert arrays["boundary"].shape == (100, 100)
    assert 0.0 <= arrays["boundary"].min() <= arrays["boundary"].max() <= 1.0
    assert arrays["neurons"].shape == (16, 20, 20)
    assert arrays["W1"].shape == (8, 2) and arrays["b3"].shape == (1, 1)
    assert len(header["grad_norms"]) == len(header["weight_norms"]) == 3
    assert set(header["train"]) == {"cost", "data_cost", "reg_cost", "accuracy"}
    assert abs(time.time() * 1000 - header["server_time"]) < 60_000
    assert_finite_frame(header, arrays)


def test_play_streams_frames_then_pause_stops(client):
    client.configure(**SMALL)
    client.send({"type": "play"})
    assert client.until("state")["status"] == "running"
    iterations = [client.until("frame")[0]["iteration"] for _ in range(5)]
    assert iterations == sorted(iterations) and iterations[-1] > iterations[0]
    client.send({"type": "pause"})
    assert client.until("state")["status"] == "paused"
    last = iterations[-1]
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:  # drain frames already on their way
        try:
            message = client.recv(timeout=0.1)
        except TimeoutError:
            break
        if isinstance(message, tuple):
            last = message[0]["iteration"]
            client.send({"type": "ready"})
    client.send({"type": "step", "n": 1})
    assert client.until("frame")[0]["iteration"] == last + 1  # nothing trained while paused


def test_step_by_iterations_and_epochs(client):
    client.configure(**SMALL, batch_size=64)  # 320 training points → 5 iterations per epoch
    client.send({"type": "step", "n": 7})
    header, _ = client.until("frame")
    assert (header["iteration"], header["epoch"]) == (7, 1)
    client.send({"type": "step", "epochs": 2})  # rest of epoch 2, then epoch 3: up to iteration 15
    header, _ = client.until("frame")
    assert (header["iteration"], header["epoch"]) == (15, 3)


def test_reset_restores_the_initial_weights(client):
    _, (_, first) = client.configure(**SMALL)
    client.send({"type": "step", "n": 20})
    _, trained = client.until("frame")
    assert not np.array_equal(trained["W1"], first["W1"])
    client.send({"type": "reset"})
    state = client.recv()  # the same points: no `data` before it
    assert state["type"] == "state" and state["status"] == "ready"
    header, arrays = client.until("frame")
    assert header["iteration"] == 0
    assert all(np.array_equal(arrays[name], first[name]) for name in ("W1", "b1", "W2", "b2", "W3", "b3"))


def test_live_set_is_visible_in_the_next_frames(client):
    client.configure(**SMALL, optimizer={"name": "adam", "learning_rate": 0.01})
    client.send({"type": "play"})
    header, _ = client.until("frame")
    assert header["learning_rate"] == pytest.approx(0.01)
    assert header["train"]["reg_cost"] == 0.0
    client.send({"type": "set", "learning_rate": 0.05, "l2": 0.5})
    state = client.until("state")
    assert state["config"]["optimizer"]["learning_rate"] == 0.05 and state["status"] == "running"
    deadline = time.monotonic() + 5
    while True:
        header, _ = client.until("frame")
        if header["learning_rate"] == pytest.approx(0.05):
            break
        assert time.monotonic() < deadline, "the new learning rate never showed up in a frame"
    assert header["train"]["reg_cost"] > 0.0  # (λ/2m)Σ‖W‖² with λ = 0.5
    later, _ = client.until("frame")
    assert later["iteration"] > header["iteration"]  # weights kept, training went on


def test_speed_steps_per_frame_and_fps(client):
    client.configure(**SMALL)
    client.send({"type": "speed", "steps_per_frame": 3, "fps": 10})
    client.send({"type": "play"})
    client.until("state")
    headers = [client.until("frame")[0] for _ in range(6)]
    steps = np.diff([h["iteration"] for h in headers])
    assert (steps == 3).all(), steps
    gaps = np.diff([h["server_time"] for h in headers[1:]])
    assert gaps.mean() >= 1000 / 10 * 0.9 and gaps.min() >= 1000 / 10 * 0.5  # paced at 10 fps
    client.send({"type": "speed", "steps_per_frame": "max", "fps": 30})
    headers = [client.until("frame")[0] for _ in range(4)]
    assert headers[-1]["iteration"] - headers[0]["iteration"] > 9  # not 3 per frame any more


def test_predict_grid_changes_the_resolution(client):
    client.configure(**SMALL)
    client.send({"type": "predict_grid", "resolution": 37})
    _, arrays = client.until("frame")
    assert arrays["boundary"].shape == (37, 37)
    client.send({"type": "step", "n": 1})
    _, arrays = client.until("frame")
    assert arrays["boundary"].shape == (37, 37)  # kept for later frames


def test_without_ready_the_client_gets_no_more_than_its_credits(client):
    client.send({"type": "configure", "config": {**SMALL, "epochs": 100000}})
    received = 0
    client.send({"type": "play"})
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        try:
            message = client.recv(timeout=0.1)
        except TimeoutError:
            continue
        received += isinstance(message, tuple)
    assert received == limits.FRAME_CREDITS  # the configure frame + the rest while playing
    client.send({"type": "ready"})
    header, _ = client.until("frame", timeout=2)
    assert header["status"] == "running"


def test_gradcheck_reply_and_dropout_refusal(client):
    client.configure(data={"name": "circle"}, network={"hidden": [4, 3], "activation": "tanh"},
                     regularization={"l2": 0.1})
    client.send({"type": "gradcheck"})
    reply = client.until("gradcheck")
    assert reply["difference"] < 1e-7 and reply["verdict"] == "great" and reply["message"]
    client.configure(data={"name": "circle"}, network={"hidden": [4]}, regularization={"keep_prob": 0.5})
    client.send({"type": "gradcheck"})
    error = client.until("error")
    assert error["field"] == "config.regularization.keep_prob" and "dropout" in error["message"]


def test_divergence_pauses_and_never_sends_nan(client):
    client.configure(data={"name": "reg_plane", "noise": 0.1}, network={"hidden": [8, 8]},
                     optimizer={"name": "gd", "learning_rate": 10.0}, batch_size=400)
    client.send({"type": "play"})
    deadline = time.monotonic() + 10
    while True:
        message = client.recv(timeout=10)
        if isinstance(message, tuple):
            assert_finite_frame(*message)
            client.send({"type": "ready"})
        elif message["type"] == "diverged":
            break
        assert time.monotonic() < deadline
    assert message["iteration"] >= 1 and "Lower the learning rate" in message["hint"]
    client.send({"type": "play"})
    error = client.until("error")
    assert error["request_type"] == "play" and "diverged" in error["message"]
    client.send({"type": "set", "learning_rate": 0.001})
    client.until("state")
    client.send({"type": "reset"})
    assert client.until("state")["status"] == "ready"
    header, arrays = client.until("frame")
    assert header["iteration"] == 0 and header["learning_rate"] == pytest.approx(0.001)
    assert_finite_frame(header, arrays)


def test_done_after_the_configured_epochs(client):
    client.send({"type": "configure", "config": {**SMALL, "epochs": 2, "batch_size": 64}})
    client.until("frame")
    client.send({"type": "play"})
    done = client.until("done")
    outcome = done.pop("outcome")
    assert done == {"type": "done", "status": "done", "epochs_run": 2}
    assert outcome["status"] == "done" and "all 2 epochs" in outcome["message"] and "iteration 0" in outcome["play"]
    assert client.until("state")["status"] == "done"
    header, _ = client.until("frame")
    assert (header["iteration"], header["status"]) == (10, "done")


def test_save_over_the_socket_then_load_the_run(client, server):
    client.configure(**SMALL)
    client.send({"type": "step", "n": 12})
    header, arrays = client.until("frame")
    client.send({"type": "save", "name": "spiral 8-8"})
    saved = client.until("saved")
    assert saved["name"] == "spiral 8-8" and saved["id"] >= 1
    run = httpx.get(f"{server.http}/api/runs/{saved['id']}").json()
    assert run["config"]["network"]["hidden"] == [8, 8]
    assert run["summary"]["iteration"] == 12
    assert np.allclose(run["weights"]["W1"], arrays["W1"], rtol=1e-7, atol=1e-7)
    assert run["history"]["rows"][-1][0] == 12
    # a loaded run carries on: the saved weights, its curves so far, its iteration count
    client.send({"type": "configure", "config": {**SMALL, "epochs": 100000}, "run_id": saved["id"]})
    history = client.until("history")
    assert history["rows"] == run["history"]["rows"] and history["columns"] == run["history"]["columns"]
    loaded, loaded_arrays = client.until("frame")
    assert loaded["iteration"] == 12 and np.allclose(loaded_arrays["W1"], run["weights"]["W1"], rtol=1e-7, atol=1e-7)
    client.send({"type": "step", "n": 3})
    assert client.until("frame")[0]["iteration"] == 15
    client.send({"type": "configure", "config": {**SMALL, "network": {"hidden": [3]}}, "run_id": saved["id"]})
    error = client.until("error")
    assert error["request_type"] == "configure" and "W1" in error["message"]


def test_a_download_sends_the_run_back_without_saving_it(client, server):
    client.configure(**SMALL)
    client.send({"type": "step", "n": 4})
    _, arrays = client.until("frame")
    before = httpx.get(f"{server.http}/api/runs").json()
    client.send({"type": "save", "name": "to download", "store": False})
    reply = client.until("record")
    record = reply["record"]
    assert reply["name"] == record["name"] == "to download" and record["summary"]["iteration"] == 4
    assert np.allclose(record["weights"]["W1"], arrays["W1"], rtol=1e-7, atol=1e-7)
    lines = reply["history_csv"].splitlines()
    assert lines[0].startswith("iteration,epoch,learning_rate") and lines[-1].startswith("4,")
    assert httpx.get(f"{server.http}/api/runs").json() == before  # nothing was stored


def test_csv_session(client, server):
    rows = "\n".join(f"{x:.2f},{-x:.2f},{int(x > 0)}" for x in np.linspace(-3, 3, 60))
    upload = httpx.post(f"{server.http}/api/csv", content="x1,x2,label\n" + rows).json()
    client.send({"type": "configure", "config": {"data": {"name": "csv"}}, "csv_id": upload["id"]})
    data = client.until("data")
    assert data["kind"] == "binary" and len(data["train"]["x1"]) == 48 and client.recv()["type"] == "state"
    client.send({"type": "configure", "config": {"data": {"name": "csv"}}, "csv_id": "nope"})
    error = client.until("error")
    assert error["field"] == "csv_id" and "POST /api/csv" in error["message"]


def test_data_goes_once_per_session_and_state_carries_only_the_run(client):
    """The points go in one `data` message per configure (docs/protocol.md); play, pause, set and
    reset reply a `state` without them, several times smaller than the points."""
    client.send({"type": "configure", "config": {"data": {"name": "spiral", "n": 2000}, "epochs": 100000}})
    data = client.until("data")
    assert len(data["train"]["x1"]) == 1600
    client.until("state"), client.until("frame")  # the configure's
    texts = []
    for command in ({"type": "play"}, {"type": "pause"}, {"type": "set", "learning_rate": 0.02}, {"type": "reset"}):
        client.send(command)
        deadline = time.monotonic() + 5
        while True:  # frames answered; every text kept
            message = client.recv(timeout=max(0.01, deadline - time.monotonic()))
            if isinstance(message, tuple):
                client.send({"type": "ready"})
                continue
            texts.append(message)
            if message["type"] == "state":
                break
    assert [m["type"] for m in texts] == ["state"] * 4
    assert all("data" not in m for m in texts)
    assert all(len(json.dumps(m)) * 10 < len(json.dumps(data)) for m in texts)
