"""One /ws connection: a playground socket (server/socket_base.py) that owns one LiveRun and is
its only viewer.

Flow control: the client starts with FRAME_CREDITS credits and returns one with every `ready`.
The worker is asked for a frame (`want`) only while the client has a credit and nothing waits
in the mailbox, so frames are computed just in time and a slow client simply gets fewer, fresher
frames. A frame that arrives while the client has no credit waits in the mailbox, replaced by any
newer one. JSON replies go first, in order, through a queue bounded in bytes where a newer
`state` (the whole run as it is now) or `data` (a new session's points) replaces a queued older
one; a client that lets replies
pile up beyond the bound is dropped and its worker session freed (server/socket_base.py).
"""
from __future__ import annotations

from typing import Optional

from starlette.websockets import WebSocket

from server.commands import TrainingCommands
from server.live_run import LiveRun, SocketViewer
from server.protocol import Ready, parse_client_message
from server.runs import RunStore
from server.socket_base import FrameSlot, SocketBase
from server.uploads import CsvUploads
from server.workers import WorkerPool

READY = Ready(type="ready")


class Connection(SocketViewer, SocketBase):
    snapshot_kinds = frozenset({"data", "state"})  # only the newest queued of each: server/reply_queue.py

    def __init__(self, ws: WebSocket, pool: WorkerPool, uploads: CsvUploads, runs: RunStore):
        super().__init__(ws, parse_client_message, label="session", ready=READY)
        self.pool = pool
        self.commands = TrainingCommands(uploads, runs)
        self.slot = FrameSlot()
        self.run: Optional[LiveRun] = None

    async def on_open(self) -> None:
        self.run = LiveRun(self.pool, owner=self)
        self.label = f"session {self.run.sid}"
        self.run.attach(self)

    async def on_close(self) -> None:
        if self.run is not None:
            self.run.close()  # frees the worker's session at once

    @property
    def viewed(self) -> Optional[LiveRun]:
        return self.run

    # ------------------------------------------------------------------ from the client
    async def dispatch(self, request) -> None:
        if isinstance(request, Ready):
            self.credit()
        else:
            await self.commands.forward(self.run, request)
