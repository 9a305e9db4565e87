"""The optimizer lab's websocket (/ws/lab) and HTTP previews, on a small app holding only the lab
router. Expected numbers are worked by hand from the course's formulas (docs/lab.md)."""
import json
import math
import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import server.lab as lab
from server.origins import OriginGuard
from server.lab import Mailbox

QUAD = {"name": "quadratic", "condition": 20, "rotation": 0}
THREE = [
    {"id": "gd", "name": "gd", "learning_rate": 0.01},
    {"id": "mom", "name": "momentum", "learning_rate": 0.01, "beta": 0.9},
    {"id": "adam", "name": "adam", "learning_rate": 0.1},
]


@pytest.fixture(scope="module")
def lab_client():
    app = FastAPI()
    app.include_router(lab.router)
    app.add_middleware(OriginGuard, allow_origins=[], allow_hosts=["testserver"])  # as create_app does
    with TestClient(app) as c:
        yield c


def strict_json(text):
    """json.loads that refuses NaN / Infinity (the lab must never send them)."""
    def refuse(name):
        raise AssertionError(f"non-finite number {name} on the wire")
    return json.loads(text, parse_constant=refuse)


def recv(ws):
    return strict_json(ws.receive_text())


def recv_until(ws, pred, limit=2000):
    """Messages up to and including the first one for which pred is true."""
    seen = []
    for _ in range(limit):
        msg = recv(ws)
        seen.append(msg)
        if pred(msg):
            return seen
    raise AssertionError(f"condition not met in {limit} messages; last: {str(seen[-1])[:300]}")


def configure(ws, optimizers=THREE, surface=QUAD, **extra):
    ws.send_json({"type": "configure", "surface": surface, "optimizers": optimizers, **extra})
    msgs = recv_until(ws, lambda m: m["type"] == "frame")
    kinds = [m["type"] for m in msgs]
    assert kinds[-3:] == ["surface", "state", "frame"], kinds
    return msgs[-3], msgs[-2], msgs[-1]


def by_id(frame):
    return {p["id"]: p for p in frame["paths"]}


def test_configure_sends_grid_state_and_start_frame(lab_client):
    with lab_client.websocket_connect("/ws/lab") as ws:
        recv(ws)
        surface, state, frame = configure(ws, resolution=21)
    assert surface["domain"] == [-2.0, 2.0, -2.0, 2.0]
    assert len(surface["x"]) == 21 and len(surface["y"]) == 21 and len(surface["z"]) == 21
    # grid row i is w2 = y[i], column j is w1 = x[j]; J = ½(w1² + κ w2²) for rotation 0
    i, j = 3, 17
    w1, w2 = surface["x"][j], surface["y"][i]
    assert surface["z"][i][j] == pytest.approx(0.5 * (w1 ** 2 + 20 * w2 ** 2), rel=1e-5)
    assert state["status"] == "ready" and [o["id"] for o in state["optimizers"]] == ["gd", "mom", "adam"]
    paths = by_id(frame)
    assert set(paths) == {"gd", "mom", "adam"}
    for p in paths.values():
        assert p["points"] == [[-1.8, 0.9]] and p["steps"] == 0
        assert p["cost"] == pytest.approx(0.5 * (1.8 ** 2 + 20 * 0.9 ** 2))


def test_step_grows_every_path_with_hand_checked_updates(lab_client):
    with lab_client.websocket_connect("/ws/lab") as ws:
        recv(ws)
        configure(ws)
        ws.send_json({"type": "step", "n": 2})
        frame = recv_until(ws, lambda m: m["type"] == "frame")[-1]
    paths = by_id(frame)
    for p in paths.values():
        assert p["points_from"] == 1 and len(p["points"]) == 2 and p["steps"] == 2
    # GD: w := w - α A w with A = diag(1, 20): w1 *= 0.99, w2 *= 0.8 each step
    assert paths["gd"]["points"][1] == pytest.approx([-1.8 * 0.99 ** 2, 0.9 * 0.8 ** 2])
    # momentum: V1 = 0.1 dW1, V2 = 0.9 V1 + 0.1 dW2 (dW = A w)
    d1 = [-1.8, 18.0]
    w_1 = [-1.8 - 0.01 * 0.1 * d1[0], 0.9 - 0.01 * 0.1 * d1[1]]
    v2 = [0.9 * 0.1 * d1[k] + 0.1 * [w_1[0], 20 * w_1[1]][k] for k in range(2)]
    assert paths["mom"]["points"][1] == pytest.approx([w_1[0] - 0.01 * v2[0], w_1[1] - 0.01 * v2[1]])
    # Adam's first bias-corrected step moves each coordinate by ≈ α against its gradient sign
    assert paths["adam"]["points"][0] == pytest.approx([-1.7, 0.8], abs=1e-6)


def test_play_streams_paced_frames_and_paths_grow_for_each_optimizer(lab_client):
    with lab_client.websocket_connect("/ws/lab") as ws:
        recv(ws)
        configure(ws, max_steps=10_000)
        ws.send_json({"type": "speed", "steps_per_frame": 3, "fps": 30})
        ws.send_json({"type": "play"})
        counts = {"gd": 1, "mom": 1, "adam": 1}
        started = time.monotonic()
        frames = 0
        while min(counts.values()) < 60:
            msg = recv(ws)
            if msg["type"] != "frame":
                continue
            frames += 1
            for p in msg["paths"]:
                assert p["points_from"] == counts[p["id"]]  # each point is sent exactly once
                counts[p["id"]] += len(p["points"])
        elapsed = time.monotonic() - started
        ws.send_json({"type": "pause"})
        state = recv_until(ws, lambda m: m["type"] == "state" and m["status"] == "paused")[-1]
    assert min(counts.values()) >= 60 and frames >= 5
    assert elapsed > 0.3  # paced at ~30 ticks/s of 3 steps: 60 steps cannot arrive at once
    assert state["step"] >= 59


def test_live_learning_rate_change_keeps_the_path(lab_client):
    with lab_client.websocket_connect("/ws/lab") as ws:
        recv(ws)
        configure(ws, optimizers=[{"id": "g", "name": "gd", "learning_rate": 0.01}])
        ws.send_json({"type": "step", "n": 1})
        recv_until(ws, lambda m: m["type"] == "frame")
        ws.send_json({"type": "set", "id": "g", "learning_rate": 0.05})
        state = recv_until(ws, lambda m: m["type"] == "state")[-1]
        assert state["optimizers"][0]["learning_rate"] == 0.05
        ws.send_json({"type": "step", "n": 1})
        frame = recv_until(ws, lambda m: m["type"] == "frame" and m["step"] == 2)[-1]
    p = frame["paths"][0]
    assert p["learning_rate"] == 0.05 and p["points_from"] == 2
    w = [-1.8 * 0.99, 0.9 * 0.8]                      # after the step at α = 0.01
    assert p["points"][-1] == pytest.approx([w[0] * 0.95, w[1] * (1 - 0.05 * 20)])


def test_normalization_toggle_changes_the_contour_grid(lab_client):
    with lab_client.websocket_connect("/ws/lab") as ws:
        recv(ws)
        raw, _, _ = configure(ws, surface={"name": "logistic", "normalized": False}, resolution=30)
        norm, _, _ = configure(ws, surface={"name": "logistic", "normalized": True}, resolution=30)
    assert raw["params"]["normalized"] is False and norm["params"]["normalized"] is True
    assert raw["generation"] < norm["generation"]
    assert raw["z"] != norm["z"] and raw["domain"] != norm["domain"]
    # drawn on equal axes (square domains): raw is an elongated bowl, normalized a nearly round one
    for s in (raw, norm):
        d = s["domain"]
        assert s["equal_axes"] is True and d[1] - d[0] == pytest.approx(d[3] - d[2])
        (steep, flat) = s["axes"]
        assert steep["curvature"] > flat["curvature"] > 0
        assert s["lr_limit"] == pytest.approx(2 / steep["curvature"])
        # the axes are orthogonal unit vectors
        assert math.hypot(*steep["direction"]) == pytest.approx(1)
        assert sum(a * b for a, b in zip(steep["direction"], flat["direction"])) == pytest.approx(0, abs=1e-12)
    condition = {k: s["axes"][0]["curvature"] / s["axes"][1]["curvature"] for k, s in (("raw", raw), ("norm", norm))}
    assert 15 <= condition["raw"] <= 60 and condition["norm"] <= 2


def test_minibatch_surface_streams_a_noisy_path_and_its_batch_twin(lab_client):
    with lab_client.websocket_connect("/ws/lab") as ws:
        recv(ws)
        surface = {"name": "logistic", "normalized": True, "batch_size": 8}
        s, _, frame = configure(ws, surface=surface, optimizers=[{"id": "g", "name": "gd", "learning_rate": 0.5}])
        assert s["minibatch"] is True and frame["paths"][0]["batch_points"] == [[0.0, 0.0]]
        ws.send_json({"type": "step", "n": 20})
        p = recv_until(ws, lambda m: m["type"] == "frame" and m["step"] > 0)[-1]["paths"][0]
    assert len(p["points"]) == 20 and len(p["batch_points"]) == 20
    assert p["points"] != p["batch_points"]  # mini-batch gradients differ from the full gradient
    assert p["batch_cost"] is not None and p["batch_status"] in ("running", "converged")


VALIDATION_CASES = [
    ({"type": "configure", "optimizers": [{"id": f"o{i}"} for i in range(7)]}, "optimizers", "at most 6"),
    ({"type": "configure", "surface": {"condition": 0.5}, "optimizers": [{"id": "a"}]}, "surface.condition", "1 ≤ condition ≤ 1000"),
    ({"type": "configure", "optimizers": [{"id": "a", "learning_rate": 0}]}, "optimizers.0.learning_rate", "0 < learning_rate ≤ 100"),
    ({"type": "configure", "optimizers": [{"id": "a", "name": "sgd"}]}, "optimizers.0.name", '"adam"'),
    ({"type": "configure", "optimizers": [{"id": "a"}, {"id": "a"}]}, "optimizers", "unique"),
    ({"type": "speed", "steps_per_frame": 1001}, "steps_per_frame", "1 ≤ steps_per_frame ≤ 1000"),
    ({"type": "step", "n": 0}, "n", "1 ≤ n ≤ 1000"),
    ({"type": "set", "id": "gd", "beta2": 1.0}, "beta2", "0 ≤ beta2 < 1"),
    ({"type": "set", "id": "nobody", "learning_rate": 0.1}, "id", "allowed gd, mom, adam"),
    ({"type": "start_point", "x": 5, "y": 0}, "x", "-2 ≤ w1 ≤ 2"),
    ({"type": "warp"}, "type", "allowed configure"),
]


def test_validation_errors_name_the_field_and_range_and_keep_the_connection(lab_client):
    with lab_client.websocket_connect("/ws/lab") as ws:
        recv(ws)
        ws.send_json({"type": "play"})
        err = recv(ws)
        assert err["type"] == "error" and "configure" in err["message"]
        configure(ws)
        for message, field, words in VALIDATION_CASES:
            ws.send_json(message)
            err = recv_until(ws, lambda m: m["type"] == "error")[-1]
            assert err["field"] == field, (message, err)
            assert words in err["message"], (message, err)
        ws.send_text("{not json")
        assert recv_until(ws, lambda m: m["type"] == "error")[-1]["field"] == ""
        ws.send_bytes(b"\x00\x01")
        assert "binary" in recv_until(ws, lambda m: m["type"] == "error")[-1]["message"]
        ws.send_text(json.dumps({"type": "pause", "pad": "x" * 70_000}))
        assert "at most 65536 bytes" in recv_until(ws, lambda m: m["type"] == "error")[-1]["message"]
        ws.send_text(json.dumps({"type": "pause", "pad": "é" * 40_000}, ensure_ascii=False))  # 80 kB in 40 000 characters
        assert "at most 65536 bytes" in recv_until(ws, lambda m: m["type"] == "error")[-1]["message"]
        ws.send_json({"type": {"a": 1}})
        assert recv_until(ws, lambda m: m["type"] == "error")[-1]["field"] == "type"
        # still open, state kept: the earlier race steps on
        ws.send_json({"type": "step", "n": 1})
        frame = recv_until(ws, lambda m: m["type"] == "frame")[-1]
        assert {p["id"] for p in frame["paths"]} == {"gd", "mom", "adam"} and frame["step"] == 1


def test_divergence_is_reported_per_optimizer_and_never_streamed(lab_client):
    racers = [{"id": "wild", "name": "gd", "learning_rate": 0.2},   # α > 2/κ = 0.1: diverges
              {"id": "calm", "name": "gd", "learning_rate": 0.05}]
    with lab_client.websocket_connect("/ws/lab") as ws:  # recv() rejects any NaN/inf on the wire
        recv(ws)
        configure(ws, optimizers=racers)
        ws.send_json({"type": "step", "n": 200})
        msgs = recv_until(ws, lambda m: m["type"] == "frame" and m["step"] > 0)
        diverged = [m for m in msgs if m["type"] == "diverged"]
        assert len(diverged) == 1 and diverged[0]["id"] == "wild" and "learning rate" in diverged[0]["hint"]
        paths = by_id(msgs[-1])
        assert paths["wild"]["status"] == "diverged" and paths["calm"]["status"] == "converged"
        assert all(math.isfinite(v) for pt in paths["wild"]["points"] for v in pt)
        # |1 - α κ| = 3 per step across the valley: 0.9·3^k leaves the ±202 box after 5 steps
        assert diverged[0]["step"] == 6 and paths["wild"]["steps"] == 5
        # a non-finite cost (Rosenbrock with a huge step overflows) is caught the same way
        configure(ws, surface={"name": "rosenbrock"}, optimizers=[{"id": "boom", "name": "gd", "learning_rate": 100}])
        ws.send_json({"type": "step", "n": 50})
        msgs = recv_until(ws, lambda m: m["type"] == "frame" and m["step"] > 0 or m["type"] == "state" and m["status"] == "done")
        assert any(m["type"] == "diverged" and m["id"] == "boom" for m in msgs)


def test_reset_and_start_point_restart_every_path(lab_client):
    with lab_client.websocket_connect("/ws/lab") as ws:
        recv(ws)
        _, _, first = configure(ws)
        ws.send_json({"type": "step", "n": 5})
        recv_until(ws, lambda m: m["type"] == "frame" and m["step"] == 5)
        ws.send_json({"type": "start_point", "x": 1.5, "y": -1.0})
        msgs = recv_until(ws, lambda m: m["type"] == "frame")
        state, frame = msgs[-2], msgs[-1]
        assert state["start"] == [1.5, -1.0] and frame["generation"] > first["generation"]
        assert all(p["points"] == [[1.5, -1.0]] and p["points_from"] == 0 for p in frame["paths"])
        ws.send_json({"type": "reset"})
        frame = recv_until(ws, lambda m: m["type"] == "frame")[-1]
        assert all(p["points"] == [[1.5, -1.0]] for p in frame["paths"])


def test_a_dropped_connection_frees_its_tasks(lab_client):
    with lab_client.websocket_connect("/ws/lab") as ws:
        recv(ws)
        configure(ws, max_steps=20_000)
        ws.send_json({"type": "play"})
        recv_until(ws, lambda m: m["type"] == "frame" and m["step"] > 0)
        assert len(lab.CONNECTIONS) == 1
        conn = next(iter(lab.CONNECTIONS))
    deadline = time.monotonic() + 5
    while lab.CONNECTIONS and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not lab.CONNECTIONS
    assert conn.runner.done() and conn.sender.done()


def test_foreign_origin_is_refused(lab_client):
    from starlette.websockets import WebSocketDisconnect
    with pytest.raises(WebSocketDisconnect):
        with lab_client.websocket_connect("/ws/lab", headers={"origin": "http://evil.example"}) as ws:
            ws.receive_text()


def test_mailbox_keeps_only_the_latest():
    box = Mailbox()
    box.put("a")
    box.put("b")
    assert box.take() == "b" and box.take() is None


def test_schedule_preview_hand_worked(lab_client):
    r = lab_client.get("/api/lab/schedules", params={"alpha0": 0.2, "epochs": 3, "decay_rate": 1, "base": 0.5, "k": 2})
    assert r.status_code == 200
    alpha = {s["name"]: s["alpha"] for s in r.json()["schedules"]}
    assert alpha["constant"] == pytest.approx([0.2, 0.2, 0.2])
    assert alpha["inverse_time"] == pytest.approx([0.2, 0.1, 0.2 / 3])
    assert alpha["exponential"] == pytest.approx([0.2, 0.1, 0.05])
    assert alpha["inverse_sqrt"] == pytest.approx([0.4, 0.4 / math.sqrt(2), 0.4 / math.sqrt(3)])
    r = lab_client.get("/api/lab/schedules", params={"alpha0": 0.2, "epochs": 5, "interval": 2})
    assert [a for s in r.json()["schedules"] if s["name"] == "inverse_time" for a in s["alpha"]] == \
        pytest.approx([0.2, 0.2, 0.1, 0.1, 0.2 / 3])
    bad = lab_client.get("/api/lab/schedules", params={"base": 0})
    assert bad.status_code == 400 and bad.json()["field"] == "base" and "0 < base ≤ 1" in bad.json()["message"]


def test_ewma_explorer_hand_worked(lab_client):
    r = lab_client.get("/api/lab/ewma", params={"betas": "0.5,0.9", "days": 10, "seed": 3})
    assert r.status_code == 200
    body = r.json()
    theta = body["temperature"]
    half = body["curves"][0]
    assert half["reading"] == "≈ 2 days" and body["curves"][1]["reading"] == "≈ 10 days"
    v1 = 0.5 * theta[0]
    v2 = 0.5 * v1 + 0.5 * theta[1]
    assert half["uncorrected"][:2] == pytest.approx([v1, v2], abs=1e-3)
    assert half["corrected"][:2] == pytest.approx([v1 / 0.5, v2 / 0.75], abs=1e-3)
    bad = lab_client.get("/api/lab/ewma", params={"betas": "0.5,1"})
    assert bad.status_code == 400 and bad.json()["field"] == "betas.1" and "0.999" in bad.json()["message"]


# --- issue #11: costs at every point, replayed paths, the surface's bowl, presets, Nesterov ----------

def test_frames_carry_the_cost_of_every_point(lab_client):
    with lab_client.websocket_connect("/ws/lab") as ws:
        recv(ws)
        _, _, first = configure(ws, optimizers=[{"id": "g", "name": "gd", "learning_rate": 0.01}])
        ws.send_json({"type": "step", "n": 5})
        frame = recv_until(ws, lambda m: m["type"] == "frame" and m["step"] == 5)[-1]
    assert first["paths"][0]["costs"] == pytest.approx([0.5 * (1.8 ** 2 + 20 * 0.9 ** 2)])
    p = frame["paths"][0]
    assert p["points_from"] == 1 and len(p["costs"]) == len(p["points"]) == 5
    # GD on J = ½(w1² + 20 w2²) at α = 0.01: w1 *= 0.99, w2 *= 0.8 each step
    for k, cost in enumerate(p["costs"], start=1):
        w1, w2 = -1.8 * 0.99 ** k, 0.9 * 0.8 ** k
        assert cost == pytest.approx(0.5 * (w1 ** 2 + 20 * w2 ** 2), rel=1e-9)
    assert p["cost"] == p["costs"][-1]


def test_minibatch_twin_carries_batch_costs(lab_client):
    with lab_client.websocket_connect("/ws/lab") as ws:
        recv(ws)
        surface = {"name": "logistic", "normalized": True, "batch_size": 16}
        configure(ws, surface=surface, optimizers=[{"id": "g", "name": "gd", "learning_rate": 0.5}])
        ws.send_json({"type": "step", "n": 7})
        p = recv_until(ws, lambda m: m["type"] == "frame" and m["step"] == 7)[-1]["paths"][0]
    assert len(p["batch_costs"]) == len(p["batch_points"]) == 7 == len(p["costs"])
    assert p["batch_cost"] == p["batch_costs"][-1] and p["costs"] != p["batch_costs"]


class Paths:
    """The paths as a client keeps them: each frame's points (and costs) replace the client's
    copy from `points_from` on."""

    def __init__(self, frame):
        self.points, self.costs = {}, {}
        self.apply(frame)

    def apply(self, frame):
        for p in frame["paths"]:
            points = self.points.setdefault(p["id"], [])
            costs = self.costs.setdefault(p["id"], [])
            del points[p["points_from"]:], costs[p["points_from"]:]
            points += p["points"]
            costs += p["costs"]
        return frame

    def until(self, ws, racer_id, step):
        """Frames up to the one whose step is `step` with the racer's whole path; returns it."""
        while True:
            msg = recv(ws)
            if msg["type"] == "frame":
                self.apply(msg)
                if msg["step"] == step and len(self.points[racer_id]) == step + 1:
                    return msg


@pytest.mark.parametrize("surface", [QUAD, {"name": "logistic", "normalized": True, "batch_size": 16}])
def test_replay_recomputes_the_whole_path_with_the_new_values(lab_client, surface):
    racers = [{"id": "a", "name": "momentum", "learning_rate": 0.01, "beta": 0.9},
              {"id": "b", "name": "gd", "learning_rate": 0.01}]
    with lab_client.websocket_connect("/ws/lab") as ws:
        recv(ws)
        client = Paths(configure(ws, optimizers=racers, surface=surface, seed=3)[2])
        ws.send_json({"type": "step", "n": 40})
        client.until(ws, "a", 40)
        ws.send_json({"type": "set", "id": "a", "learning_rate": 0.03, "beta": 0.5, "replay": True})
        state = recv_until(ws, lambda m: m["type"] == "state")[-1]
        frame = client.apply(recv_until(ws, lambda m: m["type"] == "frame")[-1])
        ws.send_json({"type": "step", "n": 2})
        after = by_id(client.until(ws, "a", 42))["a"]
        # a fresh race with the new values from the start: the same path (same mini-batches)
        fresh = [{**racers[0], "learning_rate": 0.03, "beta": 0.5}]
        expected = Paths(configure(ws, optimizers=fresh, surface=surface, seed=3)[2])
        ws.send_json({"type": "step", "n": 40})
        expected.until(ws, "a", 40)
    a, b = by_id(frame)["a"], by_id(frame)["b"]
    assert state["optimizers"][0]["learning_rate"] == 0.03 and state["optimizers"][0]["beta"] == 0.5
    assert a["points_from"] == 0 and a["steps"] == 40 and len(a["points"]) == len(a["costs"]) == 41
    assert a["points"] == expected.points["a"] and a["costs"] == pytest.approx(expected.costs["a"], rel=1e-12)
    assert b["points"] == [] and b["points_from"] == 41  # the other racer is untouched
    if "batch_points" in a:
        assert a["batch_points_from"] == 0 and len(a["batch_points"]) == len(a["batch_costs"]) == 41
    assert after["points_from"] == 41 and len(after["points"]) == 2  # then the race goes on


def test_replay_of_a_dragged_slider_is_coalesced_and_fast(lab_client):
    """30 `set`s with replay sent at once (a drag): within the message rate, each whole path of
    500 steps recomputed in well under a millisecond per step, the last values win."""
    with lab_client.websocket_connect("/ws/lab") as ws:
        recv(ws)
        client = Paths(configure(ws, optimizers=[{"id": "g", "name": "gd", "learning_rate": 0.001}],
                                 max_steps=10_000)[2])
        ws.send_json({"type": "step", "n": 500})
        client.until(ws, "g", 500)
        started = time.monotonic()
        for k in range(30):
            ws.send_json({"type": "set", "id": "g", "learning_rate": 0.001 + 0.0001 * (k + 1), "replay": True})
        while True:
            msg = recv(ws)
            assert msg["type"] != "error", msg
            if msg["type"] == "frame" and by_id(msg)["g"]["learning_rate"] == pytest.approx(0.004):
                break
        elapsed = time.monotonic() - started
    p = by_id(msg)["g"]
    assert p["points_from"] == 0 and len(p["points"]) == 501
    assert p["points"][1] == pytest.approx([-1.8 * (1 - 0.004), 0.9 * (1 - 0.004 * 20)], abs=1e-6)
    assert elapsed < 30 * 500 * 1e-3  # 30 replays of 500 steps at < 1 ms a step (coalesced: far fewer)


def test_replay_of_an_unknown_racer_is_an_error(lab_client):
    with lab_client.websocket_connect("/ws/lab") as ws:
        recv(ws)
        configure(ws)
        ws.send_json({"type": "set", "id": "nobody", "learning_rate": 0.1, "replay": True})
        err = recv_until(ws, lambda m: m["type"] == "error")[-1]
    assert err["field"] == "id" and "gd, mom, adam" in err["message"]


def test_surface_message_gives_the_bowl_axes_and_gd_limit(lab_client):
    with lab_client.websocket_connect("/ws/lab") as ws:
        recv(ws)
        quad, _, _ = configure(ws, surface={"name": "quadratic", "condition": 50, "rotation": 30}, resolution=21)
        rosen, _, _ = configure(ws, surface={"name": "rosenbrock"}, resolution=21)
        saddle, _, _ = configure(ws, surface={"name": "saddle"}, resolution=21)
    assert quad["lr_limit"] == pytest.approx(2 / 50) and quad["equal_axes"] is True
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    steep, flat = quad["axes"]
    assert steep["curvature"] == pytest.approx(50) and flat["curvature"] == pytest.approx(1)
    assert steep["direction"] == pytest.approx([s, -c]) and flat["direction"] == pytest.approx([c, s])
    # Rosenbrock's Hessian at (1, 1) is [[802, -400], [-400, 200]]: λ = 501 ± √(501² − 400)
    assert rosen["lr_limit"] == pytest.approx(2 / (501 + math.sqrt(501 ** 2 - 400)))
    assert rosen["equal_axes"] is False
    assert saddle["lr_limit"] is None and saddle["axes"] is None and saddle["equal_axes"] is False


def test_presets_endpoint(lab_client):
    body = lab_client.get("/api/lab/presets").json()
    assert body["default"] == "default"
    assert [p["id"] for p in body["presets"]][:2] == ["default", "gd-zigzag"]
    assert body["presets"][0]["state"]["optimizers"][0]["learning_rate"] < 0.04  # below 2/κ


def test_nesterov_races_in_the_lab_hand_worked(lab_client):
    """Nesterov on J = ½(w1² + 20 w2²), α = 0.01, β = 0.9: VdW = 0.1 dW, then
    W -= α (β VdW + (1-β) dW) = α · 0.19 dW on the first step."""
    with lab_client.websocket_connect("/ws/lab") as ws:
        recv(ws)
        configure(ws, optimizers=[{"id": "n", "name": "nesterov", "learning_rate": 0.01, "beta": 0.9}])
        ws.send_json({"type": "step", "n": 1})
        p = recv_until(ws, lambda m: m["type"] == "frame" and m["step"] == 1)[-1]["paths"][0]
    assert p["name"] == "nesterov"
    assert p["points"] == [pytest.approx([-1.8 + 0.01 * 0.19 * 1.8, 0.9 - 0.01 * 0.19 * 18])]


# --- the lab's own bounded executor and socket cap (issue #12, point 6; server/lab_executor.py) ---

HEAVY = [{"id": f"o{i}", "name": name, "learning_rate": 0.001}
         for i, name in enumerate(["gd", "momentum", "nesterov", "rmsprop", "adam", "gd"])]
MINIBATCH = {"name": "logistic", "batch_size": 8}


def test_a_costly_tick_is_bounded_in_time_and_streams_every_point_once(lab_client, monkeypatch):
    """6 racers × 1000 steps per frame on the mini-batch surface (~0.3 s of numpy a tick) run as
    jobs of at most ~TICK_SECONDS each on the lab's one thread; each point still arrives once."""
    from server import lab_executor, limits
    jobs = []
    run = lab_executor._rested

    def timed(fn, args):
        started = time.perf_counter()
        try:
            return run(fn, args)
        finally:
            jobs.append((fn.__name__, time.perf_counter() - started))
    monkeypatch.setattr(lab_executor, "_rested", timed)
    with lab_client.websocket_connect("/ws/lab") as ws:
        recv(ws)
        configure(ws, optimizers=HEAVY, surface=MINIBATCH, max_steps=20_000, tolerance=1e-12)
        ws.send_json({"type": "speed", "steps_per_frame": 1000, "fps": 60})
        ws.send_json({"type": "play"})
        counts = {p["id"]: 1 for p in HEAVY}
        while min(counts.values()) < 300:
            msg = recv(ws)
            if msg["type"] == "frame":
                for p in msg["paths"]:
                    assert p["points_from"] == counts[p["id"]] == p["batch_points_from"]
                    counts[p["id"]] += len(p["points"])
        ws.send_json({"type": "pause"})
    ticks = [seconds for name, seconds in jobs if name == "advance_within"]
    assert len(ticks) >= 3
    # measured ~4-6 ms (TICK_SECONDS 4 ms + REST); one unchunked tick was ~300 ms
    assert sorted(ticks)[len(ticks) // 2] < 10 * limits.LAB_TICK_SECONDS * (1 + lab_executor.REST)


def test_a_slow_frame_rate_still_gets_only_the_new_points(lab_client):
    """At 2 fps a costly tick is many bounded jobs, but one snapshot: each frame continues the
    paths (a snapshot per job would push the viewer's last frame out of the race's history and
    send whole paths every time)."""
    with lab_client.websocket_connect("/ws/lab") as ws:
        recv(ws)
        configure(ws, optimizers=HEAVY, surface=MINIBATCH, max_steps=20_000, tolerance=1e-12)
        ws.send_json({"type": "speed", "steps_per_frame": 1000, "fps": 2})
        ws.send_json({"type": "play"})
        counts, frames = {p["id"]: 1 for p in HEAVY}, 0
        while frames < 3:
            msg = recv(ws)
            if msg["type"] == "frame" and msg["step"] > 0:
                frames += 1
                for p in msg["paths"]:
                    assert p["points_from"] == counts[p["id"]] and p["points"]
                    counts[p["id"]] += len(p["points"])
        ws.send_json({"type": "pause"})


def test_step_is_computed_in_bounded_chunks_and_sent_as_one_frame(lab_client):
    with lab_client.websocket_connect("/ws/lab") as ws:
        recv(ws)
        configure(ws, optimizers=HEAVY[:2], surface=MINIBATCH, max_steps=20_000, tolerance=1e-12)
        ws.send_json({"type": "step", "n": 1000})
        frame = recv_until(ws, lambda m: m["type"] == "frame")[-1]
    for p in frame["paths"]:
        assert p["points_from"] == 1 and len(p["points"]) == 1000 and p["steps"] == 1000


def test_a_replay_in_chunks_equals_one_computed_at_once():
    from server import lab_protocol as lp
    from server.lab_session import LabSession
    msg = lp.Configure.model_validate({"type": "configure", "surface": {**MINIBATCH, "normalized": True},
                                       "optimizers": HEAVY[:2], "seed": 5, "max_steps": 2000})
    whole, chunked = LabSession(msg), LabSession(msg)
    for session in (whole, chunked):
        session.advance(700)
    whole.replay("o1", {"learning_rate": 0.01, "beta": 0.5})
    replay = chunked.start_replay("o1", {"learning_rate": 0.01, "beta": 0.5})
    parts = 1
    while not replay.advance_within(0.0, chunk=50):
        parts += 1
    chunked.finish_replay(replay)
    assert parts >= 14  # 700 steps in chunks of 50
    a, b = whole.racer("o1"), chunked.racer("o1")
    for x, y in ((a.main, b.main), (a.twin, b.twin)):
        assert x.length == y.length == 701
        assert (x.points[:701] == y.points[:701]).all() and (x.costs[:701] == y.costs[:701]).all()


def test_one_contour_grid_serves_every_race_on_the_same_surface():
    from server import lab_protocol as lp
    from server.lab_session import LabSession

    def surface(**params):
        msg = lp.Configure.model_validate({"type": "configure", "optimizers": HEAVY[:1], "resolution": 40,
                                           "surface": {"name": "logistic", **params}})
        return LabSession(msg).surface_message()
    full, minibatch, normalized = surface(), surface(batch_size=8), surface(normalized=True)
    assert minibatch["z"] is full["z"] and minibatch["minibatch"] and not full["minibatch"]
    assert normalized["z"] != full["z"]


def test_the_lab_socket_cap_refuses_one_more_with_1013(lab_client, monkeypatch):
    from starlette.websockets import WebSocketDisconnect
    monkeypatch.setattr(lab, "MAX_LAB_SOCKETS", 2)
    with lab_client.websocket_connect("/ws/lab") as a, lab_client.websocket_connect("/ws/lab") as b:
        assert recv(a)["type"] == recv(b)["type"] == "state"
        with lab_client.websocket_connect("/ws/lab") as c:
            error = recv(c)
            assert error["type"] == "error" and "2 lab sockets" in error["message"] and error["field"] == ""
            with pytest.raises(WebSocketDisconnect) as closed:
                c.receive_text()
            assert closed.value.code == 1013
    with lab_client.websocket_connect("/ws/lab") as d:  # closed sockets freed their slots
        assert recv(d)["type"] == "state"


# --- issue #13: one source for each fact ------------------------------------------------------------

def test_the_lab_schema_is_the_models(lab_client):
    """GET /api/lab/schema is the models' JSON schema: the page's ranges and defaults are the
    engine's (OptimizerConfig, SurfaceConfig), which hyperparameters each optimizer uses is its
    class's `uses`, and the live keys are `set`'s."""
    from engine.config import OptimizerConfig
    from engine.optimizers import OPTIMIZERS, PATH_ONLY
    from engine.surfaces import SurfaceConfig
    from server.lab_protocol import LIVE_FIELDS, Configure, Set

    r = lab_client.get("/api/lab/schema")
    assert r.status_code == 200
    body = r.json()
    assert set(body["models"]) == {"Configure", "Set", "Step", "Speed", "SchedulePreview", "EwmaQuery"}
    configure = body["models"]["Configure"]
    racer = configure["$defs"]["LabOptimizer"]["properties"]
    engine = OptimizerConfig.model_json_schema()["properties"]
    for key in LIVE_FIELDS:
        assert {k: v for k, v in racer[key].items() if k != "title"} == \
            {k: v for k, v in engine[key].items() if k != "title"}, key
    assert racer["learning_rate"]["exclusiveMinimum"] == 0 and racer["learning_rate"]["maximum"] == 100
    assert racer["name"]["enum"] == ["gd", "momentum", "rmsprop", "adam", "nesterov"]
    assert configure["$defs"]["SurfaceConfig"] == SurfaceConfig.model_json_schema()
    assert configure["properties"]["optimizers"]["maxItems"] == 6
    preview = body["models"]["SchedulePreview"]["properties"]
    assert {k: preview["alpha0"][k] for k in ("exclusiveMinimum", "maximum")} == \
        {k: engine["learning_rate"][k] for k in ("exclusiveMinimum", "maximum")}  # α₀ is a learning rate
    assert body["uses"] == {name: list(cls.uses) for name, cls in {**OPTIMIZERS, **PATH_ONLY}.items()}
    assert body["uses"]["adam"] == ["beta1", "beta2", "epsilon", "bias_correction"] and body["uses"]["gd"] == []
    assert body["live"] == list(LIVE_FIELDS) == [k for k in Set.model_fields if k not in ("type", "id", "replay")]
    assert set(LIVE_FIELDS) == set(OptimizerConfig.model_fields) - {"name"}
    assert body["models"]["Configure"] == Configure.model_json_schema()
    json.dumps(body, allow_nan=False)


def test_the_previews_use_the_engines_formulas(lab_client):
    """Each schedule's formula text, parameters and curve are engine/schedules.py's; the EWMA
    window is engine/ewma.py's averaging_window."""
    from engine.config import ScheduleConfig
    from engine.ewma import averaging_window
    from engine.schedules import FORMULAS, PARAMS, learning_rate

    body = lab_client.get("/api/lab/schedules", params={"alpha0": 0.3, "epochs": 6, "interval": 2, "k": 3}).json()
    assert [s["name"] for s in body["schedules"]] == list(FORMULAS)
    for s in body["schedules"]:
        assert s["formula"] == FORMULAS[s["name"]] and list(s["params"]) == list(PARAMS[s["name"]])
        cfg = ScheduleConfig(name=s["name"], **s["params"])
        assert s["alpha"] == pytest.approx([learning_rate(cfg, 0.3, e) for e in range(6)], rel=1e-15)
    assert lab_client.get("/api/lab/schedules", params={"alpha0": 101}).status_code == 400  # OptimizerConfig's range
    curves = lab_client.get("/api/lab/ewma", params={"betas": "0.9,0.97", "days": 10}).json()["curves"]
    assert [c["window"] for c in curves] == [averaging_window(0.9), averaging_window(0.97)]
