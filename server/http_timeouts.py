"""Slowloris: a request's headers must be complete within HEADER_TIMEOUT seconds, its body
within BODY_TIMEOUT seconds of its headers.

uvicorn has no header timeout: its keep-alive timer runs only between requests and any byte
received cancels it, so a client that opens connections and sends a header byte every few
seconds keeps each one (and its file descriptor) forever. `HeaderTimeoutProtocol` is uvicorn's
h11 HTTP protocol with one timer more (`uvicorn.run(http=HeaderTimeoutProtocol)`, server/__main__.py).
When it fires, a client that had sent part of a request gets `408 Request Timeout` and the
connection is closed; one that sent nothing is just closed. A body still arriving BODY_TIMEOUT
seconds after its headers (a slow upload dribbled a byte at a time) closes the connection too
(without a reply: the app may be answering already). The app's own time and websockets (once
upgraded they run on uvicorn's websockets protocol) are not affected. Idle kept-alive
connections are closed by uvicorn after KEEP_ALIVE_TIMEOUT seconds, as before.

Why h11: it is what uvicorn runs here (its "auto" choice takes httptools only if installed, and
our dependencies do not install it), and one protocol keeps one tested code path.

Not used: uvicorn's `limit_concurrency`. It counts every open connection, websockets included,
and answers 503 to any new HTTP request beyond the cap, so a slowloris (or a large class's open
sockets) would turn into refused page loads for everyone; the header timeout bounds how long an
attacker's connection lives instead.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Optional

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from server.limits import BODY_TIMEOUT, HEADER_TIMEOUT


TIMEOUT_REPLY = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
                 b"connection: close\r\ncontent-length: %d\r\n\r\n%s")
TIMEOUT_TEXT = b"request headers not complete within %g s: connection closed\n" % HEADER_TIMEOUT

log = logging.getLogger("uvicorn.error")


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol with the header timer. The timer runs exactly while the connection
    waits for a request's line and headers (h11's `their_state` is IDLE): checked when the
    connection is made, after each chunk of data and after each response. So it starts at the
    connection, again when a kept-alive connection is ready for its next request (also when that
    happens only once the rest of an unread body has arrived), and stops when h11 has parsed the
    headers (a websocket upgrade included)."""

    header_timeout = HEADER_TIMEOUT
    body_timeout = BODY_TIMEOUT
    _header_timer: Optional[asyncio.TimerHandle] = None
    _body_timer: Optional[asyncio.TimerHandle] = None
    _partial = False  # bytes of the awaited request received (then a 408 says why we close)

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._sync_timers()

    def data_received(self, data: bytes) -> None:
        if self._header_timer is not None:
            self._partial = True
        super().data_received(data)
        self._sync_timers()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may start the next cycle, and parse a pipelined request
        self._sync_timers()

    def connection_lost(self, exc) -> None:
        self._cancel_header_timer()
        self._cancel_body_timer()
        super().connection_lost(exc)

    def _sync_timers(self) -> None:
        state = self.conn.their_state
        # once upgraded, the transport belongs to the websocket protocol (h11 is left in SEND_BODY)
        open_ = not self.transport.is_closing() and self.transport.get_protocol() is self
        waiting = state is h11.IDLE and open_
        if waiting and self._header_timer is None:
            self._partial = False
            self._header_timer = self.loop.call_later(self.header_timeout, self._header_timer_expired)
        elif not waiting:
            self._cancel_header_timer()
        receiving = state is h11.SEND_BODY and open_  # h11 names the peer's state: it is sending its body
        if receiving and self._body_timer is None:
            self._body_timer = self.loop.call_later(self.body_timeout, self._body_timer_expired)
        elif not receiving:
            self._cancel_body_timer()

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _cancel_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _body_timer_expired(self) -> None:
        self._body_timer = None
        if not self.transport.is_closing() and self.transport.get_protocol() is self:
            log.info("closing %s: request body not complete within %g s", self.client, self.body_timeout)
            self.transport.close()

    def _header_timer_expired(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self._partial:
            log.info("closing %s: request headers not complete within %g s", self.client, self.header_timeout)
            self.transport.write(TIMEOUT_REPLY % (len(TIMEOUT_TEXT), TIMEOUT_TEXT))
        self.transport.close()
