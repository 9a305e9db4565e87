"""Issue #12 point 5, re-run against the real server: a page on another site posting to us from a
visitor's browser (text/plain form, no-cors fetch), and DNS rebinding (our address behind a
foreign name, so the browser sends `Host: evil.example:PORT`) reading, deleting and opening /ws.
Same origin, --allow-origin and non-browser clients still pass (docs/limits.md "Origins and hosts")."""
from __future__ import annotations

import json
import socket

import httpx
import pytest

from engine.config import TrainConfig
from tests.reliability.conftest import ALLOWED_ORIGIN, tracebacks

EVIL = "https://evil.example"


def record(name: str) -> str:
    return json.dumps({"name": name, "config": TrainConfig().model_dump(mode="json")})


def run_names(server) -> list[str]:
    return [run["name"] for run in httpx.get(server.http + "/api/runs", timeout=10).json()]


def handshake(server, path: str, host: str, origin: str | None = None) -> bytes:
    """A websocket opening handshake on a raw socket (any Host header); the status line answered."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"]
    if origin:
        lines.append(f"Origin: {origin}")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        reply = b""
        while b"\r\n" not in reply:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply.split(b"\r\n", 1)[0]


@pytest.mark.parametrize("headers", [
    {"Origin": EVIL, "Content-Type": "text/plain"},                      # a text/plain form or no-cors fetch
    {"Origin": EVIL, "Content-Type": "application/json"},
    {"Origin": "null", "Content-Type": "text/plain"},                    # a sandboxed frame or file:// page
    {"Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"},      # no Origin, but a browser says cross-site
], ids=["origin-text-plain", "origin-json", "origin-null", "sec-fetch-site"])
def test_a_cross_site_post_creates_no_run(server, headers):
    before = run_names(server)
    reply = httpx.post(server.http + "/api/runs", content=record("planted"), headers=headers, timeout=10)
    assert reply.status_code == 403, reply.text
    detail = reply.json()["detail"]
    assert "cross-site request refused" in detail and "--allow-origin" in detail
    assert run_names(server) == before
    for path, body in (("/api/csv", "x1,label\n1,0\n2,1\n"), ("/api/rooms", "")):
        assert httpx.post(server.http + path, content=body, headers=headers, timeout=10).status_code == 403, path


def test_a_foreign_host_reads_deletes_and_opens_nothing(server):
    created = httpx.post(server.http + "/api/runs", content=record("kept"), timeout=10)
    assert created.status_code == 201
    run_id = created.json()["id"]
    rebound = {"Host": f"evil.example:{server.port}"}
    for method, path in (("GET", "/api/runs"), ("GET", f"/api/runs/{run_id}"),
                         ("GET", f"/api/runs/{run_id}/export.json"), ("DELETE", f"/api/runs/{run_id}"),
                         ("GET", "/"), ("POST", "/api/rooms")):
        # the rebound page is "same origin" with itself: Origin http://evil.example:PORT matches its Host
        headers = {**rebound, "Origin": f"http://evil.example:{server.port}"} if method != "GET" else rebound
        reply = httpx.request(method, server.http + path, headers=headers, timeout=10)
        assert reply.status_code == 400, (method, path, reply.status_code)
        assert "evil.example" in reply.text and "--allow-host" in reply.text
    assert "kept" in run_names(server)  # not deleted
    for path in ("/ws", "/ws/lab"):
        for origin in (None, f"http://evil.example:{server.port}"):
            status = handshake(server, path, f"evil.example:{server.port}", origin)
            assert status.startswith(b"HTTP/1.1 403"), (path, origin, status)
    assert handshake(server, "/ws", f"127.0.0.1:{server.port}").startswith(b"HTTP/1.1 101")


def test_same_origin_allowed_origin_and_non_browser_clients_pass(server):
    page = f"http://127.0.0.1:{server.port}"
    for name, headers in (("same-origin", {"Origin": page, "Sec-Fetch-Site": "same-origin"}),
                          ("allowed-origin", {"Origin": ALLOWED_ORIGIN, "Sec-Fetch-Site": "cross-site"}),
                          ("no-origin", {})):
        reply = httpx.post(server.http + "/api/runs", content=record(name),
                           headers={**headers, "Content-Type": "application/json"}, timeout=10)
        assert reply.status_code == 201, (name, reply.text)
        assert httpx.post(server.http + "/api/rooms", headers=headers, timeout=10).status_code == 201, name
    assert {"same-origin", "allowed-origin", "no-origin"} <= set(run_names(server))
    localhost = f"http://localhost:{server.port}"
    assert httpx.get(localhost + "/api/runs", timeout=10).status_code == 200
    assert httpx.post(localhost + "/api/runs", content=record("by-name"), headers={"Origin": localhost},
                      timeout=10).status_code == 201
    for origin in (page, ALLOWED_ORIGIN):
        assert handshake(server, "/ws", f"127.0.0.1:{server.port}", origin).startswith(b"HTTP/1.1 101"), origin
    assert handshake(server, "/ws", f"127.0.0.1:{server.port}", EVIL).startswith(b"HTTP/1.1 403")


def test_the_test_client_host_is_not_served_by_a_real_server(server):
    reply = httpx.get(server.http + "/api/runs", headers={"Host": "testserver"}, timeout=10)
    assert reply.status_code == 400


def test_no_traceback_in_the_log(server):
    assert tracebacks(server) == []
