"""What every websocket of the server shares (/ws, /ws/lab, /ws/room/{code}; their Host and
Origin are checked before the handshake by server/origins.py): a receive loop (JSON text only,
rate limits checked before any parsing, size limit, a parser for the socket's message table,
dispatch to `on_<type>`), one error shape, a queue of JSON replies bounded in bytes
(server/reply_queue.py) and one sender task that sends the replies first, in order, then
whatever frame the socket has ready (`next_frame`), then a close if one was asked.

One rule for a client that stops reading (issue #12: such a client pinned ~257 MiB and its
session outlived the 1008 close, which itself waited on the stuck peer): it is *dropped* when
more than MAX_PENDING_REPLY_BYTES of replies wait, or when one send is not taken by the
transport within SEND_TIMEOUT seconds. Dropping aborts the TCP connection (a close frame could
not reach a peer that does not read, and waiting for it is what kept the session alive) and ends
the receive loop at once, so `on_close` frees the session and its worker state immediately.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from functools import partial
from typing import Any, Callable, Optional, Union

from pydantic import BaseModel
from starlette.websockets import WebSocket, WebSocketDisconnect

from server import limits, strict_json
from server.limits import RateLimiter
from server.protocol import ProtocolError, error_message
from server.reply_queue import ReplyQueue
from server.tasks import cancel_and_wait

log = logging.getLogger("nn_playground.sockets")
SERVER_FULL = 1013      # try again later: the server (or the room) is full
# `ready` is most of a viewer's traffic (one per frame): its usual spellings skip pydantic.
READY_TEXTS = frozenset(('{"type":"ready"}', '{"type": "ready"}'))


class FrameSlot:
    """A viewer's flow control: credits (one per frame sent, one back per `ready`) and a one-slot
    mailbox holding the latest frame not sent yet (a newer frame replaces it)."""

    __slots__ = ("credits", "frame")

    def __init__(self, credits: int = limits.FRAME_CREDITS):
        self.credits, self.frame = credits, None

    def put(self, frame: bytes) -> None:
        self.frame = frame

    def ready(self) -> None:
        self.credits = min(self.credits + 1, limits.FRAME_CREDITS)

    def hungry(self) -> bool:
        """Could take a new frame now (so it is worth computing one)."""
        return self.credits > 0 and self.frame is None

    def take(self) -> Optional[bytes]:
        if self.frame is None or self.credits <= 0:
            return None
        frame, self.frame = self.frame, None
        self.credits -= 1
        return frame


def _transport(ws: WebSocket) -> Any:
    """The asyncio transport under a Starlette websocket, or None (e.g. the in-process TestClient).

    ASGI gives an app no way to abort a connection, and a close frame cannot pass a peer whose
    receive window is full (uvicorn's send waits for the write buffer to drain, forever). The
    server's `send` callable is a bound method of uvicorn's protocol, possibly wrapped in
    middlewares' closures: follow those to the protocol's `transport`."""
    send: Any = getattr(ws, "_send", None)
    for _ in range(8):
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        if transport is not None and hasattr(transport, "abort"):
            return transport
        cells = [cell.cell_contents for cell in (getattr(send, "__closure__", None) or ())]
        send = next((c for c in cells if callable(c) and "send" in getattr(c, "__name__", "")), None)
        if send is None:
            return None
    return None


class SocketBase:
    """Subclasses set the parser and write `on_<type>(request)` handlers (or override `dispatch`);
    `on_open` / `on_close` run once; `next_frame` returns (frame or None, seconds to wait before
    asking again or None = until woken). `snapshot_kinds`: reply types of which only the newest
    queued one is kept (server/reply_queue.py)."""

    dumps: Callable[[Any], str] = staticmethod(partial(json.dumps, allow_nan=False))
    snapshot_kinds: frozenset = frozenset()

    def __init__(self, ws: WebSocket, parser: Callable[[str], BaseModel], *, label: str = "socket",
                 ready: Optional[BaseModel] = None):
        self.ws, self.parser, self.label = ws, parser, label
        self.ready_message = ready  # the parsed `ready`, when this socket's protocol has one
        self.replies = ReplyQueue(limits.MAX_PENDING_REPLY_BYTES, self.snapshot_kinds)
        self.wake = asyncio.Event()
        self.messages = RateLimiter(limits.MAX_MESSAGES_PER_SECOND)
        self.readies = RateLimiter(limits.MAX_READY_PER_SECOND)
        self.rate_error_at = float("-inf")   # when the client was last told it is over the rate
        self.closed = False
        self.dropped = False
        self.closing: Optional[tuple[int, str]] = None   # (code, reason) for the sender to send
        self.sender: Optional[asyncio.Task] = None
        self.receiver: Optional[asyncio.Task] = None
        self._tasks: set[asyncio.Task] = set()

    # ------------------------------------------------------------------ lifecycle
    async def serve(self) -> None:
        """Serve an accepted socket until it closes or is dropped; on_close always runs, at once."""
        self.sender = asyncio.create_task(self._send_loop())
        self.receiver = asyncio.create_task(self._receive())
        try:
            await asyncio.wait({self.receiver})  # not `await receiver`: a drop cancels it
        finally:
            self.closed = True
            self.receiver.cancel()  # when serve itself is cancelled (server shutting down)
            try:
                await self.on_close()
            finally:
                await cancel_and_wait([self.receiver, self.sender, *self._tasks])

    async def _receive(self) -> None:
        await self.on_open()
        await self._receive_loop()

    async def on_open(self) -> None:
        pass

    async def on_close(self) -> None:
        pass

    def spawn(self, coro) -> asyncio.Task:
        """A task cancelled when the socket closes."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def close(self, code: int, reason: str = "") -> None:
        """Close from the server side: the replies queued so far go out first, then the close
        frame (each send bounded by SEND_TIMEOUT, else the client is dropped)."""
        if not self.closed:
            self.closed = True
            self.closing = (code, reason)
            self.wake.set()

    def drop(self, why: str) -> None:
        """Drop a client that does not read: abort its TCP connection (no close frame: it could
        not get through) and end the receive loop now, so `serve` frees the session at once."""
        if self.dropped:
            return
        self.dropped = self.closed = True
        log.warning("%s: %s; dropping the client", self.label, why)
        self.replies.clear()
        transport = _transport(self.ws)
        if transport is not None:
            transport.abort()  # uvicorn then ends the pending send and reports the disconnect
        if self.receiver is not None:
            self.receiver.cancel()

    # ------------------------------------------------------------------ to the client
    def reply(self, message: dict) -> None:
        """A JSON reply, strict (a non-finite number is sent as null: server/strict_json.py)."""
        self.reply_text(strict_json.dumps(message, self.dumps))

    def error(self, field: str, message: str, request_type: Optional[str] = None) -> None:
        """The one error shape: {type: error, field ("" = the message as a whole), message, request_type}."""
        self.reply(error_message(field, message, request_type))

    def reply_binary(self, data: bytes) -> None:
        """A binary message that is not a frame (e.g. a room's thumbnails): queued like a reply."""
        self.reply_text(data)  # type: ignore[arg-type]  - the queue holds both

    def reply_text(self, text: Union[str, bytes]) -> None:
        """Queue JSON text (a worker's relayed message too: made strict here if it is not)."""
        if self.closed:
            return
        if isinstance(text, str):
            text = strict_json.strict_text(text)
        if not self.replies.put(text):
            self.drop(f"more than {limits.MAX_PENDING_REPLY_BYTES} bytes of replies wait (not reading)")
            return
        self.wake.set()

    def next_frame(self) -> tuple[Optional[Union[bytes, str]], Optional[float]]:
        return None, None

    async def _send(self, message: Union[str, bytes, tuple[int, str]]) -> None:
        """One send, bounded: not taken by the transport within SEND_TIMEOUT, the client is dropped
        (a timer, not wait_for: no task per send on the hot path of frames)."""
        timer = asyncio.get_running_loop().call_later(
            limits.SEND_TIMEOUT, self.drop, f"a send waited over {limits.SEND_TIMEOUT:g} s (not reading)")
        try:
            if isinstance(message, bytes):
                await self.ws.send_bytes(message)
            elif isinstance(message, str):
                await self.ws.send_text(message)
            else:
                await self.ws.close(code=message[0], reason=message[1])
        finally:
            timer.cancel()

    async def _send_loop(self) -> None:
        try:
            wait: Optional[float] = None
            while True:
                if wait is None:
                    await self.wake.wait()
                else:
                    try:
                        await asyncio.wait_for(self.wake.wait(), wait)
                    except asyncio.TimeoutError:
                        pass
                self.wake.clear()
                while True:
                    while self.replies:
                        await self._send(self.replies.pop())
                    if self.closing is not None:
                        await self._send(self.closing)
                        return
                    frame, wait = self.next_frame()
                    if frame is None:
                        break
                    await self._send(frame)
        except (WebSocketDisconnect, RuntimeError, OSError):
            return  # the socket closed: the receiver sees the disconnect and cleans up
        except Exception:  # noqa: BLE001 - a sender that died silently would freeze the client
            log.exception("%s: sending failed; closing the socket", self.label)
            self.drop("sending failed")

    # ------------------------------------------------------------------ from the client
    async def _receive_loop(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            if self.closed:
                continue  # closing: the disconnect is on its way
            text = message.get("text")
            if not self._within_rate(text):
                continue  # dropped before any parsing: a flood costs a token-bucket check each
            if text is None:
                self.error("", "binary messages are not accepted: send JSON text")
                continue
            size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
            if size > limits.MAX_MESSAGE_BYTES:
                self.error("", f"message of {size} bytes is too large: at most {limits.MAX_MESSAGE_BYTES} bytes")
                continue
            kind = None
            try:
                request = self.ready_message if self.ready_message is not None and text in READY_TEXTS \
                    else self.parser(text)
                kind = request.type
                await self.dispatch(request)
            except ProtocolError as err:
                self.reply(err.reply())
            except ValueError as exc:  # an engine range check the models did not anticipate
                self.error("", str(exc), kind)

    def _within_rate(self, text: Optional[str]) -> bool:
        """Rate limits on the raw message, before parsing: `ready` (its usual spellings) has its own
        budget; everything else, valid or not, spends a token. At most one `error` per
        RATE_ERROR_SECONDS tells a flooding client; the dropped messages cost nothing more."""
        is_ready = text is not None and text in READY_TEXTS
        if (self.readies if is_ready else self.messages).allow():
            return True
        now = time.monotonic()
        if now - self.rate_error_at >= limits.RATE_ERROR_SECONDS:
            self.rate_error_at = now
            self.error("type", f"too many messages: at most {limits.MAX_MESSAGES_PER_SECOND} per second "
                               f"({limits.MAX_READY_PER_SECOND} for ready); messages beyond are dropped, "
                               f"told at most once every {limits.RATE_ERROR_SECONDS:g} s", "ready" if is_ready else None)
        return False

    async def dispatch(self, request: Any) -> None:
        """The handler table: on_<type> methods."""
        await getattr(self, "on_" + request.type)(request)
