"""A live run: one training session in a worker process whose output goes to its viewers.

One computed run, many viewers (a /ws client alone; a teacher and the students following it):
- frames go to every viewer's one-slot mailbox (server.socket_base.FrameSlot), replacing an
  unsent one, and the worker is asked for the next frame (`want`) while at least one viewer can
  take one: the fastest viewer paces the run, a viewer without credits only gets fresher frames
  (when this process's event loop lags, the viewers other than the owner are offered only a
  share of the frames, down to a third, in turns: server/fanout.py);
- run-wide messages (`data`, `state`, `done`, `diverged`) go to every viewer, and a viewer that
  joins later gets them replayed (`replayed`): the run's `data` (its points, sent once per
  configure or import), its latest `state` and the done/diverged after it, then the last frame
  (the run may be paused: no new frame);
- the rest (`error`, `gradcheck`, a saved-run record) answer a command: they go to the owner.
"""
from __future__ import annotations

import asyncio
import re
from typing import Any, Optional, Protocol

from server.fanout import FANOUT
from server.reply_queue import message_kind
from server.socket_base import FrameSlot
from server.workers import WorkerPool

BROADCAST = frozenset(("data", "state", "done", "diverged"))
_RUNNING = re.compile(r'"status":\s*"running"')


class Viewer(Protocol):
    slot: FrameSlot

    def send_text(self, text: str) -> None: ...   # a JSON message, in order
    def offer(self, frame: bytes) -> None: ...    # a frame for the mailbox


class Owner(Viewer, Protocol):
    def on_save(self, record: bytes) -> None: ...


class SocketViewer:
    """Viewer and Owner for a socket (server.socket_base.SocketBase, with `slot`, and `commands`
    for saving): frames go through its one-slot mailbox, each `ready` credit and each frame sent
    asks `viewed` (the run whose frames it takes now, None for none) for the next one."""

    viewed: Optional["LiveRun"] = None

    def send_text(self, text: str) -> None:
        self.reply_text(text)

    def offer(self, frame: bytes) -> None:
        self.slot.put(frame)
        self.wake.set()

    def on_save(self, record: bytes) -> None:
        self.spawn(self.commands.store(record, self.reply))

    def next_frame(self):
        frame = self.slot.take()
        if frame is not None and self.viewed is not None:
            self.viewed.ask()
        return frame, None

    def credit(self) -> None:
        """A `ready`: one more frame may come (a frame that waited for it is woken up)."""
        self.slot.ready()
        if self.viewed is not None:
            self.viewed.ask()
        if self.slot.frame is not None:
            self.wake.set()


def replayed(replay: list[str], text: str) -> list[str]:
    """What a viewer joining now needs replayed, after the run-wide `text` (BROADCAST): a `data`
    starts a new session (its `state` follows); a `state` replaces the previous one and what
    followed it, keeping the session's `data`; a done/diverged is added after its `state`."""
    kind = message_kind(text)
    if kind == "data":
        return [text]
    if kind == "state":
        return [t for t in replay[:1] if message_kind(t) == "data"] + [text]
    return replay + [text]


def is_running(replay: list[str]) -> bool:
    """Whether a run's replay (`data`, latest `state`, a done/diverged after it) says it is
    training. Only then may its frames be thinned for followers: a frame after a pause, a step or
    a reset is the one the class must end on, so it goes to every viewer."""
    kinds = [message_kind(text) for text in replay]
    return "state" in kinds and kinds[-1] == "state" and bool(_RUNNING.search(replay[-1]))


class LiveRun:
    def __init__(self, pool: WorkerPool, owner: Optional[Owner] = None, affinity: Optional[str] = None):
        self.pool, self.owner = pool, owner
        self.sid = pool.open(self, affinity)  # same affinity, same worker: trained in one batch there
        self.viewers: list[Viewer] = []
        self.replay: list[str] = []          # `data`, latest `state`, the done/diverged after it
        self.last_frame: Optional[bytes] = None
        self.running = False                 # is_running(self.replay), kept with it
        self.asked = False                   # a `want` is on its way to the worker
        self.csv: Any = None                 # the uploaded data of the last configure (for `push`)
        self.export_waiters: list[asyncio.Future] = []  # forks waiting for the exported state
        self.watched = False                 # viewers other than the owner (the worker knows)
        self.closed = False

    @property
    def configured(self) -> bool:
        return any(message_kind(text) == "state" for text in self.replay)

    # ------------------------------------------------------------------ viewers
    def attach(self, viewer: Viewer, replay: bool = True) -> None:
        if viewer in self.viewers:
            return
        self.viewers.append(viewer)
        if replay:
            for text in self.replay:
                viewer.send_text(text)
            if self.last_frame is not None:
                viewer.offer(self.last_frame)
        self._tell_watched()
        self.ask()

    def detach(self, viewer: Viewer) -> None:
        if viewer in self.viewers:
            self.viewers.remove(viewer)
            self._tell_watched()

    def _tell_watched(self) -> None:
        """Tell the worker when this run starts or stops being watched by more than its owner (a
        class follows it; or it is a room's teacher run, on the projector, with the teacher
        connected): its scheduler then keeps it out of batches and trains it first on every
        other turn (server/scheduler.py, `watched`), so the class's own runs on that worker do
        not slow it down."""
        watched = any(viewer is not self.owner for viewer in self.viewers) \
            or (self.owner in self.viewers and getattr(self.owner, "role", None) == "teacher")
        if watched != self.watched and not self.closed:
            self.watched = watched
            self.send("watched", on=watched)

    def ask(self) -> None:
        """Ask the worker for a frame if some viewer can take one and none is on its way."""
        if not self.asked and not self.closed:
            for viewer in self.viewers:
                if viewer.slot.hungry():
                    self.asked = True
                    self.pool.want(self.sid)
                    return

    # ------------------------------------------------------------------ commands
    def send(self, op: str, **args: Any) -> None:
        self.pool.send(self.sid, op, **args)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.viewers.clear()
            self.pool.close(self.sid)

    # ------------------------------------------------------------------ from the worker (Sink)
    def on_text(self, text: str) -> None:
        kind = message_kind(text)
        if kind in BROADCAST:
            self.replay = replayed(self.replay, text)
            self.running = is_running(self.replay)
            for viewer in self.viewers:
                viewer.send_text(text)
        elif self.owner is not None:
            self.owner.send_text(text)

    def on_frame(self, frame: bytes) -> None:
        self.last_frame = frame
        self.asked = False
        FANOUT.offer(self, frame, thin=self.running)  # the owner first; followers thinned when the loop lags
        self.ask()

    def on_save(self, record: bytes) -> None:
        if self.owner is not None:
            self.owner.on_save(record)

    def on_export(self, blob: bytes) -> None:
        """The session's exported state: every fork that asked for it gets the same bytes."""
        waiters, self.export_waiters = self.export_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(blob)

    async def export(self, timeout: float = 10.0) -> bytes:
        """The session's whole state (server/session_state.py), taken right after a frame of it.
        asyncio.TimeoutError if the worker does not answer (e.g. no session configured)."""
        waiter = asyncio.get_running_loop().create_future()
        self.export_waiters.append(waiter)
        if len(self.export_waiters) == 1:
            self.send("export")
        return await asyncio.wait_for(waiter, timeout)
