"""One websocket connection: a receiver (validation, limits, commands to the worker) and one
sender task with a one-slot "latest frame" mailbox and client credits.

Flow control: the client starts with FRAME_CREDITS credits and returns one with every `ready`.
The worker is asked for a frame (`want`) only while the client has a credit and nothing waits
in the mailbox, so frames are computed just in time and a slow client simply gets fewer, fresher
frames. A frame that arrives while the client has no credit waits in the mailbox, replaced by any
newer one. JSON replies are never dropped: they go first, in order, through a bounded queue.
"""
from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections import deque
from typing import Optional
from urllib.parse import urlsplit

from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from server import limits
from server.limits import RateLimiter
from server.protocol import Configure, ProtocolError, Ready, Save, error_message, parse_client_message
from server.runs import RunRecord, RunStore
from server.uploads import CsvUploads
from server.workers import WorkerPool

log = logging.getLogger("nn_playground.connections")
# `ready` is most of the client's traffic (one per frame): its usual spellings skip pydantic.
_READY_TEXTS = frozenset(('{"type":"ready"}', '{"type": "ready"}'))
_READY = Ready(type="ready")


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


class Connection:
    def __init__(self, ws: WebSocket, pool: WorkerPool, uploads: CsvUploads, runs: RunStore):
        self.ws, self.pool, self.uploads, self.runs = ws, pool, uploads, runs
        self.replies: deque[str] = deque()
        self.mailbox: Optional[bytes] = None
        self.credits = limits.FRAME_CREDITS
        self.asked = False                  # a `want` is on its way to the worker
        self.wake = asyncio.Event()
        self.messages = RateLimiter(limits.MAX_MESSAGES_PER_SECOND)
        self.readies = RateLimiter(limits.MAX_READY_PER_SECOND)
        self.limited = False                # already told the client it is over the rate
        self.closed = False
        self.sid = 0
        self._tasks: set[asyncio.Task] = set()

    # ------------------------------------------------------------------ lifecycle
    async def run(self) -> None:
        """Serve an accepted socket until it closes; always frees the session."""
        self.sid = self.pool.open(self)
        sender = asyncio.create_task(self._send_loop())
        try:
            self._ask_for_frame()
            await self._receive_loop()
        finally:
            self.closed = True
            self.pool.close(self.sid)
            sender.cancel()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(sender, *self._tasks, return_exceptions=True)

    # ------------------------------------------------------------------ from the worker
    def on_text(self, text: str) -> None:
        self.reply_text(text)

    def on_frame(self, frame: bytes) -> None:
        self.mailbox = frame  # a newer frame replaces an unsent one
        self.asked = False
        self.wake.set()

    def on_save(self, record: bytes) -> None:
        task = asyncio.create_task(self._store(record))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _store(self, record: bytes) -> None:
        try:
            run = RunRecord.model_validate_json(record)
            run_id = await asyncio.to_thread(self.runs.save, run)
        except (ValidationError, sqlite3.Error, OSError, ValueError) as exc:
            self.reply(error_message("name", f"could not save the run: {exc}", "save"))
            return
        self.reply({"type": "saved", "id": run_id, "name": run.name})

    # ------------------------------------------------------------------ to the client
    def reply(self, message: dict) -> None:
        self.reply_text(json.dumps(message))

    def reply_text(self, text: str) -> None:
        if len(self.replies) >= limits.MAX_PENDING_REPLIES:
            log.warning("session %d: client stopped reading replies; closing", self.sid)
            asyncio.ensure_future(self.ws.close(code=1008, reason="not reading"))
            return
        self.replies.append(text)
        self.wake.set()

    def _ask_for_frame(self) -> None:
        if self.credits > 0 and not self.asked and self.mailbox is None and not self.closed:
            self.asked = True
            self.pool.want(self.sid)

    async def _send_loop(self) -> None:
        try:
            while True:
                await self.wake.wait()
                self.wake.clear()
                while self.replies:
                    await self.ws.send_text(self.replies.popleft())
                if self.mailbox is not None and self.credits > 0:
                    frame, self.mailbox = self.mailbox, None
                    self.credits -= 1
                    await self.ws.send_bytes(frame)
                    self._ask_for_frame()
        except (WebSocketDisconnect, RuntimeError, OSError):
            return  # the socket closed: the receiver sees the disconnect and cleans up
        except Exception:  # noqa: BLE001 - a sender that died silently would freeze the client
            log.exception("session %d: sending failed; closing the socket", self.sid)
            await self.ws.close(code=1011)

    # ------------------------------------------------------------------ from the client
    async def _receive_loop(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                self.reply(error_message("", "binary messages are not accepted: send JSON text", None))
                continue
            size = len(text.encode())
            if size > limits.MAX_MESSAGE_BYTES:
                self.reply(error_message("", f"message of {size} bytes is too large: at most "
                                         f"{limits.MAX_MESSAGE_BYTES} bytes", None))
                continue
            try:
                request = _READY if text in _READY_TEXTS else parse_client_message(text)
                if not self._within_rate(request):
                    continue
                await self._dispatch(request)
            except ProtocolError as err:
                self.reply(err.reply())

    def _within_rate(self, request) -> bool:
        allowed = (self.readies if isinstance(request, Ready) else self.messages).allow()
        if allowed:
            self.limited = False
            return True
        if not self.limited:  # one error per burst, not one per dropped message
            self.limited = True
            self.reply(error_message(
                "type", f"too many messages: at most {limits.MAX_MESSAGES_PER_SECOND} per second "
                        f"({limits.MAX_READY_PER_SECOND} for ready); this one was dropped", request.type))
        return False

    async def _dispatch(self, request) -> None:
        if isinstance(request, Ready):
            self.credits = min(self.credits + 1, limits.FRAME_CREDITS)
            self._ask_for_frame()
            if self.mailbox is not None:  # a frame waited for this credit (else: no wake-up)
                self.wake.set()
        elif isinstance(request, Configure):
            await self._configure(request)
        elif isinstance(request, Save):
            self.pool.send(self.sid, "save", name=request.name)
        elif request.type == "set":
            self.pool.send(self.sid, "set", changes=request.changes())
        else:
            args = request.model_dump(exclude={"type"}, exclude_none=True)
            self.pool.send(self.sid, request.type, **args)

    async def _configure(self, request: Configure) -> None:
        config, csv = request.config, None
        if config.data.name == "csv":
            if request.csv_id is None:
                raise ProtocolError("csv_id", "config.data.name 'csv' needs csv_id, the id POST /api/csv returned",
                                    "configure")
            csv = self.uploads.get(request.csv_id)
            if csv is None:
                raise ProtocolError("csv_id", f"unknown or expired CSV id {request.csv_id!r}: upload the file "
                                    "again with POST /api/csv", "configure")
        problems = limits.config_violations(config, csv.n_x if csv is not None else None)
        if problems:
            raise ProtocolError(*problems[0], "configure")
        weights = None
        if request.run_id is not None:
            run = await asyncio.to_thread(self.runs.get, request.run_id)
            if run is None:
                raise ProtocolError("run_id", f"no saved run with id {request.run_id}", "configure")
            weights = run["weights"]
        self.pool.send(self.sid, "configure", config=config, csv=csv, init_parameters=weights)
