"""Issue #12, websocket attacks (points 3, 7, 8, 9, 10), re-run against the real server: a client
that never reads, deeply nested JSON, a run_id beyond SQLite's integers, NaN/Infinity literals and
a message flood. Each is refused cheaply with what docs/limits.md says, and the session (or the
server, for the dropped client) carries on; no traceback is logged."""
from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time

import httpx
import numpy as np
import pytest

from server import limits
from server.limits import MAX_JSON_DEPTH
from tests.reliability.conftest import Client, tracebacks

SMALL = {"data": {"name": "circle"}, "network": {"hidden": [4]}, "epochs": 100000}


# --- a raw websocket client that never reads -----------------------------------------------------

def raw_socket(port: int, path: str = "/ws") -> socket.socket:
    """A handshaken websocket on a plain socket with a 4 KiB receive buffer, never read again."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.settimeout(5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                 f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert b" 101 " in head.split(b"\r\n", 1)[0], head
    return sock


def text_frame(message: dict) -> bytes:
    """One masked client text frame."""
    data = json.dumps(message).encode()
    mask = os.urandom(4)
    size = len(data)
    head = bytes([0x81]) + (bytes([0x80 | size]) if size < 126 else bytes([0x80 | 126]) + struct.pack("!H", size))
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return head + mask + masked


def server_rss(pid: int) -> int:
    """VmRSS in bytes of the server and its worker processes."""
    def rss(p: int) -> int:
        try:
            with open(f"/proc/{p}/status") as f:
                return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            return 0
    children = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                children += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return rss(pid) + sum(rss(c) for c in children)


def upload_big_csv(server) -> str:
    """A 5,000-row, 16-column CSV (the largest the server takes): its `data` message is ~0.6 MB."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(limits.MAX_CSV_ROWS, limits.MAX_INPUTS))
    label = (x[:, 0] + x[:, 1] > 0).astype(int)
    header = ",".join([f"x{i + 1}" for i in range(limits.MAX_INPUTS)] + ["label"])
    rows = "\n".join(",".join(f"{v:.3f}" for v in row) + f",{y}" for row, y in zip(x, label))
    reply = httpx.post(f"{server.http}/api/csv", content=header + "\n" + rows, timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.json()["id"]


def test_a_client_that_never_reads_is_dropped_and_its_session_freed(server):
    """Point 3: `set` at 50/s on a 5,000 × 16 CSV run, never reading. Old server: +257 MiB, the
    session kept until the TCP connection closed. Since `state` no longer carries the points
    (issue #13) a `set`'s reply is ~1.4 KB, so the attack also re-sends `configure` 5 times a
    second: each is answered with the run's ~0.6 MB `data`, which fills the kernel's buffers in
    about two seconds. Now: dropped within seconds of a send that does not complete (its
    connection is reset), the server's memory stays bounded and /healthz shows the session freed
    at once."""
    csv_id = upload_big_csv(server)
    server.wait_idle()
    sock = raw_socket(server.port)
    configure = text_frame({"type": "configure", "config": {"data": {"name": "csv"}, "network": {"hidden": [4]}},
                            "csv_id": csv_id})
    sock.sendall(configure)
    time.sleep(1.0)  # configured: its state waits unread
    assert server.health()["connections"] == 1
    before = server_rss(server.process.pid)
    peak, dropped_at, started = before, None, time.monotonic()
    for i in range(750):  # 15 s at 50/s at most
        try:
            sock.sendall(configure if i % 10 == 0 else
                         text_frame({"type": "set", "learning_rate": 0.01 + 0.0001 * (i % 50)}))
        except OSError:  # reset by the server: dropped
            dropped_at = time.monotonic()
            break
        if i % 5 == 0:
            peak = max(peak, server_rss(server.process.pid))
        time.sleep(0.02)
    assert dropped_at is not None, "a client that never reads was not dropped within 15 s"
    assert dropped_at - started < limits.SEND_TIMEOUT + 6
    health = server.wait_idle(timeout=2)
    freed = time.monotonic() - dropped_at
    assert health["connections"] == 0 and all(w["sessions"] == 0 for w in health["workers"]), health
    assert freed < 2.0
    grown = (peak - before) / 2**20
    assert grown < 64, f"server RSS grew {grown:.0f} MiB while the client did not read"
    sock.close()
    print(f"\nnever-reading client: dropped after {dropped_at - started:.2f} s, session freed "
          f"{freed:.2f} s later, RSS +{grown:.1f} MiB (peak over the server and its workers)")
    assert tracebacks(server) == []


# --- hostile messages: each gets an error and the session keeps working ---------------------------

def refused(client, text: str) -> dict:
    client.send(text)
    return client.until("error")


def still_trains(client) -> None:
    client.send({"type": "step", "n": 1})
    assert client.until("frame")[0]["iteration"] >= 1
    client.send({"type": "play"})
    assert client.until("state")["status"] == "running"
    client.send({"type": "pause"})


def test_deeply_nested_json_gets_an_error(server):
    """Point 7: `[` * 5000 used to raise RecursionError (socket dropped, 1006, traceback)."""
    nested = "[" * 5000 + "]" * 5000
    with server.client() as c:
        c.configure(**SMALL)
        error = refused(c, nested)
        assert error["field"] == "" and "too deeply nested" in error["message"]
        assert f"at most {MAX_JSON_DEPTH}" in error["message"]
        inside = json.dumps({"type": "set", "learning_rate": 0.1})[:-1] + ',"x":' + nested + "}"
        assert "too deeply nested" in refused(c, inside)["message"]
        still_trains(c)
    with Client(f"ws://127.0.0.1:{server.port}/ws/lab") as lab:
        assert "too deeply nested" in refused(lab, nested)["message"]
        lab.send({"type": "configure", "optimizers": [{"id": "a", "name": "gd", "learning_rate": 0.1}]})
        assert lab.until("state")["type"] == "state"
    assert tracebacks(server) == []


def test_run_id_beyond_64_bits_gets_an_error(server):
    """Point 8: run_id 2**63 overflowed SQLite's integer and dropped the socket."""
    with server.client() as c:
        c.configure(**SMALL)
        for run_id in (2**63, 10**30):
            error = refused(c, json.dumps({"type": "configure", "config": SMALL, "run_id": run_id}))
            assert error["field"] == "run_id" and error["request_type"] == "configure"
            assert "1 ≤ run_id ≤ 9223372036854775807" in error["message"], error
        error = refused(c, json.dumps({"type": "configure", "config": SMALL, "run_id": 2**63 - 1}))
        assert error["field"] == "run_id" and "no saved run" in error["message"]
        still_trains(c)
    assert tracebacks(server) == []


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_literals_are_refused(server, literal):
    """Point 9: NaN / Infinity literals (and numbers that overflow to infinity) are not JSON."""
    with server.client() as c:
        c.configure(**SMALL)
        error = refused(c, '{"type": "set", "learning_rate": %s}' % literal)
        assert error["field"] == "" and "not valid JSON" in error["message"] and literal in error["message"]
        error = refused(c, '{"type": "set", "learning_rate": "%s"}' % literal.lower().replace("1e999", "inf"))
        assert error["field"] == "learning_rate"
        still_trains(c)
    with Client(f"ws://127.0.0.1:{server.port}/ws/lab") as lab:
        text = '{"type": "configure", "optimizers": [{"id": "a", "name": "gd", "learning_rate": %s}]}' % literal
        assert "not valid JSON" in refused(lab, text)["message"]


def test_a_flood_gets_one_rate_error_per_second(server):
    """Point 10: "one error per burst" fired ~53 times a second for a steady flood."""
    with server.client() as c:
        c.configure(**SMALL)
        started = time.monotonic()
        sent = 0
        while time.monotonic() - started < 2.0 and sent < 1000:
            for _ in range(25):
                c.send({"type": "speed", "fps": 30})
                c.send("{not json")  # invalid messages spend tokens too: no error per message
                sent += 2
            time.sleep(0.05)
        rate_errors = other_errors = 0
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            try:
                message = c.recv(timeout=max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                break
            if isinstance(message, dict) and message["type"] == "error":
                if "too many messages" in message["message"]:
                    rate_errors += 1
                else:
                    other_errors += 1
        elapsed = time.monotonic() - started
        assert 1 <= rate_errors <= elapsed / limits.RATE_ERROR_SECONDS + 1, (rate_errors, elapsed)
        # what got through was rate-limited: at most a bucket plus the refill, half of it bad JSON
        assert other_errors <= limits.MAX_MESSAGES_PER_SECOND * (1 + elapsed), other_errors
        time.sleep(1.0)
        still_trains(c)
    assert tracebacks(server) == []

