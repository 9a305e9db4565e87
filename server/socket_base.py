"""What every websocket of the server shares (/ws, /ws/lab, /ws/room/{code}): the origin check,
a receive loop (JSON text only, size limit, a parser for the socket's message table, rate limits,
dispatch to `on_<type>`), one error shape, a bounded queue of JSON replies and one sender task
that sends the replies first, in order, then whatever frame the socket has ready (`next_frame`).

One rule for a client that stops reading: once MAX_PENDING_REPLIES replies wait, the socket is
closed with NOT_READING (1008, policy violation), whatever the socket.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from typing import Any, Callable, Optional, Union
from urllib.parse import urlsplit

from pydantic import BaseModel
from starlette.websockets import WebSocket, WebSocketDisconnect

from server import limits
from server.limits import RateLimiter
from server.protocol import ProtocolError, error_message
from server.tasks import cancel_and_wait

log = logging.getLogger("nn_playground.sockets")
NOT_READING = 1008      # the client stopped reading its replies
SERVER_FULL = 1013      # try again later: the server (or the room) is full
# `ready` is most of a viewer's traffic (one per frame): its usual spellings skip pydantic.
READY_TEXTS = frozenset(('{"type":"ready"}', '{"type": "ready"}'))


def origin_allowed(origin: Optional[str], host: Optional[str], extra: list[str]) -> bool:
    """Same origin (the Origin's host:port equals the Host header), an --allow-origin entry,
    or no Origin header at all (non-browser clients). '*' in `extra` allows every origin."""
    if origin is None:
        return True
    origin = origin.rstrip("/")
    if "*" in extra or origin in extra:
        return True
    netloc = urlsplit(origin).netloc
    return bool(host) and netloc.lower() == host.lower()


async def accept(ws: WebSocket) -> bool:
    """Accept the handshake if the origin is allowed (app.state.settings.allow_origins); else
    refuse it before accepting (the client sees HTTP 403) and return False."""
    settings = getattr(ws.app.state, "settings", None)
    if not origin_allowed(ws.headers.get("origin"), ws.headers.get("host"), getattr(settings, "allow_origins", [])):
        await ws.close(code=1008, reason="origin not allowed")
        return False
    await ws.accept()
    return True


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


class SocketBase:
    """Subclasses set the parser and write `on_<type>(request)` handlers (or override `dispatch`);
    `on_open` / `on_close` run once; `next_frame` returns (frame or None, seconds to wait before
    asking again or None = until woken)."""

    dumps: Callable[[dict], str] = staticmethod(json.dumps)

    def __init__(self, ws: WebSocket, parser: Callable[[str], BaseModel], *, label: str = "socket",
                 ready: Optional[BaseModel] = None):
        self.ws, self.parser, self.label = ws, parser, label
        self.ready_message = ready  # the parsed `ready`, when this socket's protocol has one
        self.replies: deque[Union[str, bytes]] = deque()
        self.wake = asyncio.Event()
        self.messages = RateLimiter(limits.MAX_MESSAGES_PER_SECOND)
        self.readies = RateLimiter(limits.MAX_READY_PER_SECOND)
        self.limited = False    # already told the client it is over the rate
        self.closed = False
        self.sender: Optional[asyncio.Task] = None
        self._tasks: set[asyncio.Task] = set()

    # ------------------------------------------------------------------ lifecycle
    async def serve(self) -> None:
        """Serve an accepted socket until it closes; on_close always runs."""
        self.sender = sender = asyncio.create_task(self._send_loop())
        try:
            await self.on_open()
            await self._receive_loop()
        finally:
            self.closed = True
            try:
                await self.on_close()
            finally:
                await cancel_and_wait([sender, *self._tasks])

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
        """Close from the server side (the receive loop then sees the disconnect)."""
        if not self.closed:
            self.closed = True
            self.spawn(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        try:
            while self.replies:  # what was said before closing (e.g. the error) goes out first
                reply = self.replies.popleft()
                await (self.ws.send_bytes(reply) if isinstance(reply, bytes) else self.ws.send_text(reply))
            await self.ws.close(code=code, reason=reason)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass

    # ------------------------------------------------------------------ to the client
    def reply(self, message: dict) -> None:
        self.reply_text(self.dumps(message))

    def error(self, field: str, message: str, request_type: Optional[str] = None) -> None:
        """The one error shape: {type: error, field ("" = the message as a whole), message, request_type}."""
        self.reply(error_message(field, message, request_type))

    def reply_binary(self, data: bytes) -> None:
        """A binary message that is not a frame (e.g. a room's thumbnails): queued like a reply."""
        self.reply_text(data)  # type: ignore[arg-type]  - the queue holds both

    def reply_text(self, text: str) -> None:
        if self.closed:
            return
        if len(self.replies) >= limits.MAX_PENDING_REPLIES:
            log.warning("%s: client stopped reading replies; closing", self.label)
            self.replies.clear()
            self.close(NOT_READING, "not reading")
            return
        self.replies.append(text)
        self.wake.set()

    def next_frame(self) -> tuple[Optional[Union[bytes, str]], Optional[float]]:
        return None, None

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
                        reply = self.replies.popleft()
                        await (self.ws.send_bytes(reply) if isinstance(reply, bytes) else self.ws.send_text(reply))
                    frame, wait = self.next_frame()
                    if frame is None:
                        break
                    if isinstance(frame, bytes):
                        await self.ws.send_bytes(frame)
                    else:
                        await self.ws.send_text(frame)
        except (WebSocketDisconnect, RuntimeError, OSError):
            return  # the socket closed: the receiver sees the disconnect and cleans up
        except Exception:  # noqa: BLE001 - a sender that died silently would freeze the client
            log.exception("%s: sending failed; closing the socket", self.label)
            await self.ws.close(code=1011)

    # ------------------------------------------------------------------ from the client
    async def _receive_loop(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            if self.closed:
                continue  # closing: the disconnect is on its way
            text = message.get("text")
            if text is None:
                self.error("", "binary messages are not accepted: send JSON text")
                continue
            size = len(text.encode())
            if size > limits.MAX_MESSAGE_BYTES:
                self.error("", f"message of {size} bytes is too large: at most {limits.MAX_MESSAGE_BYTES} bytes")
                continue
            kind = None
            try:
                request = self.ready_message if self.ready_message is not None and text in READY_TEXTS \
                    else self.parser(text)
                kind = request.type
                if not self._within_rate(request):
                    continue
                await self.dispatch(request)
            except ProtocolError as err:
                self.reply(err.reply())
            except ValueError as exc:  # an engine range check the models did not anticipate
                self.error("", str(exc), kind)

    def _within_rate(self, request: Any) -> bool:
        is_ready = request.type == "ready"
        if (self.readies if is_ready else self.messages).allow():
            self.limited = False
            return True
        if not self.limited:  # one error per burst, not one per dropped message
            self.limited = True
            self.error("type", f"too many messages: at most {limits.MAX_MESSAGES_PER_SECOND} per second "
                               f"({limits.MAX_READY_PER_SECOND} for ready); this one was dropped", request.type)
        return False

    async def dispatch(self, request: Any) -> None:
        """The handler table: on_<type> methods."""
        await getattr(self, "on_" + request.type)(request)
