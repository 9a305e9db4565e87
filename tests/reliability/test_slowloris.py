"""Issue #12 point 10 (second half), re-run against the real server: slowloris. Raw TCP connections
that send a request's headers one byte a second (or nothing at all, or dribble the next request
on a kept-alive connection) are closed by the server within HEADER_TIMEOUT (+ a margin), a body
dribbled after complete headers within BODY_TIMEOUT, while a normal request is answered during the
attack and an open websocket is not affected."""
from __future__ import annotations

import select
import socket
import time

import httpx

from server.limits import BODY_TIMEOUT, HEADER_TIMEOUT, KEEP_ALIVE_TIMEOUT
from tests.reliability.conftest import tracebacks

ATTACKERS = 12
MARGIN = 4.0  # seconds past the timeout (timer granularity, a loaded CI machine)


class Dribbler:
    """One attacking connection: `start` (bytes sent at once), then `tick()` sends one more byte."""

    def __init__(self, port: int, start: bytes, drip: bytes):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.setblocking(False)
        self.since = time.monotonic()
        self.drip, self.received, self.closed_after = drip, b"", None
        if start:
            self.sock.sendall(start)

    def tick(self) -> None:
        if self.closed_after is not None:
            return
        self._read()
        if self.closed_after is None and self.drip:
            try:
                self.sock.send(self.drip[:1])
                self.drip = self.drip[1:]
            except OSError:
                self._closed()

    def _read(self) -> None:
        while select.select([self.sock], [], [], 0)[0]:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                self._closed()
                return
            self.received += chunk

    def _closed(self) -> None:
        self.closed_after = time.monotonic() - self.since
        self.sock.close()


def kept_alive(port: int, first: bytes, status: bytes, rest: bytes = b"") -> Dribbler:
    """A connection that gets one full answer to `first` (then sends `rest`: the body the server
    answered without reading), then dribbles its next request."""
    attacker = Dribbler(port, first, b"")
    deadline = time.monotonic() + 10
    while b"\r\n\r\n" not in attacker.received and time.monotonic() < deadline:
        attacker._read()
        time.sleep(0.01)
    assert attacker.received.startswith(b"HTTP/1.1 " + status), attacker.received[:80]
    time.sleep(0.1)  # the rest of the answer's body
    attacker.sock.sendall(rest)
    attacker.received, attacker.since = b"", time.monotonic()
    attacker.drip = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: ".encode() + b"a" * 100
    return attacker


def test_slow_headers_are_closed_within_the_timeout_while_others_are_served(server):
    port = server.port
    slow_request = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: ".encode() + b"a" * 100
    with server.client() as ws:  # opened before the attack, used after it: websockets are not timed out
        attackers = [Dribbler(port, b"", slow_request) for _ in range(ATTACKERS)]
        attackers += [Dribbler(port, b"", b"")]            # connects and sends nothing
        host = f"Host: 127.0.0.1:{port}\r\n".encode()
        attackers += [kept_alive(port, b"GET /healthz HTTP/1.1\r\n" + host + b"\r\n", b"200"),  # slow 2nd request
                      kept_alive(port, b"POST /api/runs HTTP/1.1\r\n" + host + b"Origin: https://evil.example\r\n"
                                 b"Content-Length: 5\r\n\r\n", b"403", rest=b"{}{}{")]  # after an unread body
        slow_body = Dribbler(port, b"POST /api/csv HTTP/1.1\r\n" + host + b"Content-Length: 1000\r\n\r\nx1,",
                             b"0" * 1000)  # headers complete, then a byte a second
        answered = []
        deadline = time.monotonic() + max(HEADER_TIMEOUT, BODY_TIMEOUT) + MARGIN
        while time.monotonic() < deadline and any(a.closed_after is None for a in [*attackers, slow_body]):
            for attacker in [*attackers, slow_body]:
                attacker.tick()
            started = time.monotonic()
            reply = httpx.get(server.http + "/healthz", timeout=5)  # an honest client, during the attack
            answered.append((reply.status_code, time.monotonic() - started))
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
        open_left = [i for i, a in enumerate(attackers) if a.closed_after is None]
        assert open_left == [], f"{len(open_left)} slow connections still open after {HEADER_TIMEOUT + MARGIN} s"
        for attacker in attackers:
            assert HEADER_TIMEOUT - 1 <= attacker.closed_after <= HEADER_TIMEOUT + MARGIN, attacker.closed_after
        for attacker in attackers[:ATTACKERS] + attackers[-2:]:  # they had sent part of a request: told why
            assert attacker.received.startswith(b"HTTP/1.1 408"), attacker.received[:80]
            assert b"not complete within" in attacker.received
        assert attackers[ATTACKERS].received == b""  # sent nothing: closed without an answer
        assert slow_body.closed_after is not None and BODY_TIMEOUT - 1 <= slow_body.closed_after <= BODY_TIMEOUT + MARGIN, \
            slow_body.closed_after
        assert answered and all(status == 200 and seconds < 2.0 for status, seconds in answered), answered
        ws.send({"type": "no-such-message"})
        assert ws.until("error")["type"] == "error"


def test_an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout(server):
    attacker = Dribbler(server.port, f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode(), b"")
    deadline = time.monotonic() + KEEP_ALIVE_TIMEOUT + MARGIN
    while attacker.closed_after is None and time.monotonic() < deadline:
        attacker.tick()
        time.sleep(0.05)
    assert attacker.received.startswith(b"HTTP/1.1 200")
    assert attacker.closed_after is not None and attacker.closed_after <= KEEP_ALIVE_TIMEOUT + MARGIN


def test_no_traceback_in_the_log(server):
    assert tracebacks(server) == []
