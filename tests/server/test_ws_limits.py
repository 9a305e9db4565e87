"""Websocket robustness: validation errors keep the connection and the session, rate and size
limits, origin checks, and cleanup of closed or dropped connections."""
from __future__ import annotations

import json
import socket
import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from server import limits
from tests.fresh_loop import run_fresh
from tests.server.conftest import ALLOWED_ORIGIN

SMALL = {"data": {"name": "circle"}, "network": {"hidden": [4]}}


def error_for(client, message) -> dict:
    client.send(message)
    return client.until("error")


@pytest.mark.parametrize("message, field, words", [
    ({"type": "jump"}, "type", ["unknown message type", "configure", "predict_grid"]),
    ({"type": ["play"]}, "type", ["unknown message type", "configure"]),  # not a string: no crash
    ({"type": "predict_grid"}, "resolution", ["required", "10 ≤ resolution ≤ 200"]),
    ({"type": "step", "n": 20000}, "n", ["1 ≤ n ≤ 10000", "20000"]),
    ({"type": "step", "epochs": 0}, "epochs", ["1 ≤ epochs ≤ 100"]),
    ({"type": "speed", "steps_per_frame": 0}, "steps_per_frame", ['"max"', "1 ≤ steps_per_frame ≤ 1000"]),
    ({"type": "speed", "fps": 61}, "fps", ["1 ≤ fps ≤ 60"]),
    ({"type": "set", "learning_rate": 0}, "learning_rate", ["0 < learning_rate ≤ 100"]),
    ({"type": "set", "beta2": 1.0}, "beta2", ["0 ≤ beta2 < 1"]),
    ({"type": "set", "keep_prob": [0.5, 1.5]}, "keep_prob.1", ["0 < keep_prob[i] ≤ 1"]),
    ({"type": "save", "name": ""}, "name", ["1..100 characters"]),
    ({"type": "play", "speed": 3}, "speed", ["unknown field"]),
    ({"type": "configure", "config": {"optimizer": {"learning_rate": 500}}}, "config.optimizer.learning_rate",
     ["0 < learning_rate ≤ 100", "500"]),
    ({"type": "configure", "config": {"optimizer": {"name": "sgd"}}}, "config.optimizer.name", ['"adam"']),
    ({"type": "configure", "config": {"network": {"hidden": [4] * 7}}}, "config.network.hidden",
     ["most 6 hidden layers"]),
    ({"type": "configure", "config": {"network": {"hidden": [4, 17]}}}, "config.network.hidden.1", ["[1, 16]"]),
    ({"type": "configure", "config": {"data": {"n": 3000}}}, "config.data.n", ["[10, 2000]"]),
    ({"type": "configure", "config": {"features": ["x1", "x3"]}}, "config.features", ["x3"]),
])
def test_validation_errors_name_the_field_and_range(client, message, field, words):
    client.configure(**SMALL)
    client.send({"type": "step", "n": 3})
    before, _ = client.until("frame")
    error = error_for(client, message)
    assert error["field"] == field, error
    for word in words:
        assert word in error["message"], error
    client.send({"type": "step", "n": 1})  # still open, and the session kept its state
    after, _ = client.until("frame")
    assert after["iteration"] == before["iteration"] + 1


def test_bad_json_binary_and_oversize_messages(client):
    client.configure(**SMALL)
    assert error_for(client, "{not json")["message"].startswith("not valid JSON")
    client.ws.send(b"\x00\x01")
    assert "binary" in client.until("error")["message"]
    big = json.dumps({"type": "save", "name": "x" * (limits.MAX_MESSAGE_BYTES + 10)})
    error = error_for(client, big)
    assert "too large" in error["message"] and str(limits.MAX_MESSAGE_BYTES) in error["message"]
    client.send({"type": "step", "n": 2})
    assert client.until("frame")[0]["iteration"] == 2


def test_message_above_the_socket_limit_closes_with_1009(server):
    with server.client() as c:
        c.send(json.dumps({"type": "save", "name": "x" * (limits.WS_MAX_SIZE + 10)}))
        with pytest.raises(ConnectionClosed) as info:
            c.recv(timeout=5)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1009


def test_too_many_messages_per_second(client):
    client.configure(**SMALL)
    for _ in range(3 * limits.MAX_MESSAGES_PER_SECOND):
        client.send({"type": "speed", "fps": 30})
    error = client.until("error")
    assert error["field"] == "type" and f"at most {limits.MAX_MESSAGES_PER_SECOND} per second" in error["message"]
    time.sleep(1.1)  # the bucket refills; the connection and session are still there
    client.send({"type": "step", "n": 1})
    assert client.until("frame")[0]["iteration"] == 1


def test_commands_before_configure(client):
    for kind in ("play", "step", "reset", "gradcheck", "save"):
        message = {"type": kind, "name": "x"} if kind == "save" else {"type": kind}
        error = error_for(client, message)
        assert error["request_type"] == kind and "configure" in error["message"]


def test_origin_check(server):
    with pytest.raises(InvalidStatus) as info:
        server.client(origin="http://evil.example")
    assert info.value.response.status_code == 403
    for origin in (ALLOWED_ORIGIN, f"http://127.0.0.1:{server.port}"):  # --allow-origin, same origin
        with server.client(origin=origin) as c:
            state, _ = c.configure(**SMALL)
            assert state["status"] == "ready"


def test_no_session_worker_or_thread_left_after_100_cycles(server):
    before = server.wait_idle()
    threads = server.threads()
    for i in range(100):
        with server.client() as c:
            if i % 10 == 0:  # some of them train while they close
                c.configure(**SMALL)
                c.send({"type": "play"})
    after = server.wait_idle()
    assert after["connections"] == 0
    assert [w["sessions"] for w in after["workers"]] == [0] * len(before["workers"])
    assert [w["pid"] for w in after["workers"]] == [w["pid"] for w in before["workers"]]
    assert all(w["alive"] for w in after["workers"])
    assert server.threads() <= threads + 2


def test_dropped_connection_frees_its_session_promptly(server):
    c = server.client()
    c.configure(**SMALL)
    c.send({"type": "play"})
    c.until("frame")
    assert server.health()["connections"] >= 1
    c.ws.socket.shutdown(socket.SHUT_RDWR)  # vanish without a closing handshake
    c.ws.socket.close()
    started = time.monotonic()
    health = server.wait_idle(timeout=5)
    assert health["connections"] == 0 and all(w["sessions"] == 0 for w in health["workers"])
    assert time.monotonic() - started < 5


def test_a_killed_worker_is_replaced_and_its_clients_told(server):
    import os
    import signal

    with server.client() as c:
        c.configure(**SMALL)
        health = server.health()
        busy = next(w for w in health["workers"] if w["sessions"] == 1)
        os.kill(busy["pid"], signal.SIGKILL)
        error = c.until("error")
        assert "worker stopped" in error["message"] and "configure" in error["message"]
        state, frame = c.configure(**SMALL)  # the same socket trains again on the new worker
        assert state["status"] == "ready" and frame[0]["iteration"] == 0
    health = server.wait_idle()
    assert all(w["alive"] for w in health["workers"]) and busy["pid"] not in [w["pid"] for w in health["workers"]]


# --- issue #12: replies bounded in bytes, non-reading clients dropped, strict JSON -------------------

def test_reply_queue_is_bounded_in_bytes_and_keeps_the_newest_state():
    from server.reply_queue import ReplyQueue

    queue = ReplyQueue(1000, frozenset({"state"}))
    assert queue.put('{"type": "state", "n": 1}' + " " * 300)
    assert queue.put('{"type":"error"}')
    newest = '{"type": "state", "n": 2}' + " " * 300
    assert queue.put(newest)  # replaces the older state: one state queued, after the error
    assert len(queue) == 2 and queue.bytes == len('{"type":"error"}') + len(newest)
    assert queue.put(b"\x00" * 500)
    assert not queue.put(b"\x00" * 200)  # beyond 1000 bytes: refused (the caller drops the client)
    assert [queue.pop() for _ in range(3)] == ['{"type":"error"}', newest, b"\x00" * 500]
    assert queue.bytes == 0
    assert queue.put("é" * 10) and queue.bytes == 20  # bytes on the wire, not characters


class StuckSocket:
    """A websocket whose client never reads: every send waits forever; receive waits for `inbox`."""

    def __init__(self):
        import asyncio
        self.inbox: "asyncio.Queue[dict]" = asyncio.Queue()
        self.sent = 0

    async def receive(self) -> dict:
        return await self.inbox.get()

    async def send_text(self, text):
        import asyncio
        self.sent += 1
        await asyncio.Event().wait()

    send_bytes = send_text

    async def close(self, code=1000, reason=""):
        await self.send_text("")


def stuck_connection():
    from server.protocol import parse_client_message
    from server.socket_base import SocketBase

    class Probe(SocketBase):
        closed_at = None

        async def on_close(self):
            import time as t
            self.closed_at = t.monotonic()

    return Probe(StuckSocket(), parse_client_message)


def drop_scenario(act) -> tuple:
    """A stuck connection served; `act(conn)` after 10 ms; returns (conn, when act began) once
    serve() has ended by itself (no close handshake awaited), at most 2 s later."""
    import asyncio

    async def scenario():
        conn = stuck_connection()
        serving = asyncio.create_task(conn.serve())
        await asyncio.sleep(0.01)
        started = time.monotonic()
        act(conn)
        await asyncio.wait_for(serving, 2)
        return conn, started

    return run_fresh(scenario())


def test_a_send_that_does_not_complete_drops_the_client_and_frees_it_at_once(monkeypatch):
    monkeypatch.setattr(limits, "SEND_TIMEOUT", 0.2)
    conn, started = drop_scenario(lambda conn: conn.reply({"type": "x"}))
    assert conn.dropped and conn.ws.sent == 1
    assert 0.15 < conn.closed_at - started < 1.0


def test_too_many_pending_reply_bytes_drop_the_client_at_once(monkeypatch):
    monkeypatch.setattr(limits, "MAX_PENDING_REPLY_BYTES", 10_000)

    def flood(conn):
        for i in range(20):
            conn.reply({"type": "error", "i": i, "pad": "x" * 1000})

    conn, started = drop_scenario(flood)
    assert conn.dropped and conn.closed_at - started < 0.5 and conn.replies.bytes == 0


def test_a_close_to_a_stuck_peer_does_not_wait_for_it(monkeypatch):
    monkeypatch.setattr(limits, "SEND_TIMEOUT", 0.2)

    def bye(conn):
        conn.error("", "bye")
        conn.close(1008, "policy")

    conn, _ = drop_scenario(bye)
    assert conn.dropped


def test_json_depth_and_strict_json():
    from server.strict_json import JsonRefused, dumps, json_depth, loads, strict_text

    assert json_depth("[" * 5000 + "]" * 5000) == 5000
    assert json_depth(json.dumps({"a": "[" * 100, "b": [[["\\\"["] * 40]]})) == 4  # brackets in strings ignored
    assert json_depth('["\\\\", ' + "[" * 40 + "]" * 40 + "]") == 41  # an escaped backslash ends no string
    for text in ("[NaN]", '{"a": -Infinity}', "[1e999]", "[" * 40 + "]" * 40):
        with pytest.raises(JsonRefused):
            loads(text)
    assert loads('{"a": [1.5, "NaN", 2]}') == {"a": [1.5, "NaN", 2]}
    assert dumps({"type": "x", "v": [float("nan"), 1.0, float("inf")]}) == '{"type": "x", "v": [null, 1.0, null]}'
    assert strict_text('{"type": "state", "a": NaN, "b": "NaN"}') == '{"type": "state", "a": null, "b": "NaN"}'
    same = '{"type": "state", "name": "NaN"}'
    assert strict_text(same) is same
