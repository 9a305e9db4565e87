"""One optimizer-lab race computed once and shown to many sockets (docs/lab.md): a `/ws/lab`
client alone, or a lab room's teacher and the students following them (docs/protocol.md "Rooms").

- `LabRace` holds the race (server/lab_session.py), its status and speed, and the runner task
  that advances it `steps_per_frame` updates per tick at `fps` ticks per second on the lab's own
  thread (server/lab_executor.py: jobs of at most LAB_TICK_SECONDS, every race's in turn; a race that
  thread cannot keep up with gets fewer steps per tick). Commands come from its owner
  (`command`); the run-wide messages (`surface`, `state`, `diverged`) go to every viewer as the
  same JSON text, and the latest of them are replayed to a viewer that joins later. Each tick's
  snapshot is numbered (`seq`) and kept with its path lengths.
- `RaceFeed` is one socket's view of a race: the newest snapshot not sent yet (a newer one
  replaces it: a slow socket never holds a backlog and never slows the race), at most `fps`
  frames per second. A frame carries only the points the socket has not received; sockets that
  got the same previous frame share one encoded text (so followers in step cost one encoding
  per tick), a socket that missed frames gets the points since its last one (or the whole
  paths, `points_from` 0, when that is too old).
- A `set` with `replay` (a dragged slider) recomputes that racer's whole path in a background
  task (`_replay_loop`, under the lock, in bounded chunks on the lab's thread); `set`s arriving
  meanwhile only update the values of the next computation. The racer's new `revision` makes
  every viewer's next frame send its path whole (`points_from` 0), whatever that viewer had.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from typing import Any, Optional, Protocol

from server import lab_executor
from server.limits import LAB_TICK_SECONDS
from server import lab_protocol as lp
from server.lab_session import LabSession, Snapshot
from server.protocol import ProtocolError
from server.tasks import cancel_and_wait

log = logging.getLogger(__name__)
HISTORY = 64  # snapshots whose path lengths are kept (a socket further behind gets whole paths)
BROADCAST = ("surface", "state", "diverged")


def track_lengths(snap: Snapshot) -> dict:
    """{(racer id, "points" | "batch_points"): (revision, length)} of a snapshot: what a viewer
    that got it has of each path (a replay's new revision makes the next frame send it whole)."""
    lengths = {}
    for racer in snap.racers:
        for key, view in (("points", racer.main), ("batch_points", racer.twin)):
            if view is not None:
                lengths[(racer.id, key)] = (view.revision, view.length)
    return lengths


def dumps(message: dict) -> str:
    """Compact JSON; allow_nan=False makes a NaN/inf that slipped through an error, not a frame."""
    return json.dumps(message, allow_nan=False, separators=(",", ":"), ensure_ascii=False)


class RaceViewer(Protocol):
    def send_text(self, text: str) -> None: ...   # a run-wide JSON message, in order
    def race_changed(self) -> None: ...           # a newer snapshot is ready


class LabRace:
    def __init__(self) -> None:
        self.session: Optional[LabSession] = None
        self.generation = 0
        self.status = "idle"      # idle | ready | running | paused | done
        self.steps_per_frame, self.fps = lp.DEFAULT_STEPS_PER_FRAME, lp.DEFAULT_FPS
        self.lock = asyncio.Lock()  # one session mutation or computation at a time
        self.runner: Optional[asyncio.Task] = None
        self.viewers: list[RaceViewer] = []
        self.surface_text: Optional[str] = None
        self.state_text: Optional[str] = None
        self.diverged_texts: list[str] = []
        self.seq = 0
        self.snapshot: Optional[Snapshot] = None
        self.snapshot_status = "idle"
        self.lengths: OrderedDict[int, tuple[int, dict]] = OrderedDict()  # seq -> (generation, lengths)
        self._texts: dict[Optional[int], str] = {}  # frames of the latest snapshot, by the viewer's last seq
        self.closed = False
        self.replays: dict[str, dict] = {}     # racer id -> changes of a `set` with replay not computed yet
        self.replayer: Optional[asyncio.Task] = None

    # ------------------------------------------------------------------ viewers
    @property
    def configured(self) -> bool:
        return self.session is not None

    @property
    def replay(self) -> list[str]:
        """The latest run-wide messages, as a viewer that joins now needs them."""
        return [t for t in (self.surface_text, self.state_text) if t is not None] + self.diverged_texts

    last_frame = None  # no binary frames (a room's thumbnails skip this run)
    csv = None         # no uploaded data (a playground run's, for a room's `push`)

    def attach(self, viewer: RaceViewer, replay: bool = True) -> None:
        if viewer in self.viewers:
            return
        self.viewers.append(viewer)
        if replay:
            for text in self.replay:
                viewer.send_text(text)
        if self.snapshot is not None:
            viewer.race_changed()

    def detach(self, viewer: RaceViewer) -> None:
        if viewer in self.viewers:
            self.viewers.remove(viewer)

    def ask(self) -> None:
        """(LiveRun's credit hook: a race is paced by time, not by its viewers.)"""

    def idle_state(self) -> dict:
        return {"type": "state", "status": "idle", "limits": lp.LAB_LIMITS, "speed": self.speed()}

    def speed(self) -> dict:
        return {"steps_per_frame": self.steps_per_frame, "fps": self.fps}

    def close(self) -> None:
        self.closed = True
        self.status = "closed"
        self.viewers.clear()
        for task in (self.runner, self.replayer):
            if task is not None:
                task.cancel()

    async def aclose(self) -> None:
        self.close()
        await cancel_and_wait([self.runner, self.replayer])

    # ------------------------------------------------------------------ to the viewers
    def broadcast(self, message: dict) -> None:
        text = dumps(message)
        kind = message["type"]
        if kind == "surface":
            self.surface_text, self.state_text, self.diverged_texts = text, None, []
        elif kind == "state":
            self.state_text = text
        else:
            self.diverged_texts.append(text)
        for viewer in list(self.viewers):
            viewer.send_text(text)

    def send_state(self) -> None:
        self.broadcast(self.session.state_message(self.status, self.speed()))

    def publish(self) -> None:
        """The race as it is now becomes the newest snapshot (each viewer sends it when it can)."""
        snap = self.session.snapshot()
        self.seq += 1
        self.snapshot, self.snapshot_status, self._texts = snap, self.status, {}
        self.lengths[self.seq] = (snap.generation, track_lengths(snap))
        while len(self.lengths) > HISTORY:
            self.lengths.popitem(last=False)
        for viewer in list(self.viewers):
            viewer.race_changed()

    def frame_text(self, base: Optional[int]) -> str:
        """The newest snapshot as a frame for a viewer whose last frame was snapshot `base`."""
        text = self._texts.get(base)
        if text is None:
            text = self._texts[base] = dumps(self._frame(base))
        return text

    def _frame(self, base: Optional[int]) -> dict:
        snap = self.snapshot
        known = self.lengths.get(base) if base is not None else None
        sent = known[1] if known is not None and known[0] == snap.generation else {}
        paths = []
        for racer in snap.racers:
            entry = {**racer.info}
            for key, costs, view in (("points", "costs", racer.main), ("batch_points", "batch_costs", racer.twin)):
                if view is None:
                    continue
                revision, length = sent.get((racer.id, key), (None, 0))
                done = min(length, view.length) if revision == view.revision else 0  # replayed: whole path
                entry[key] = self.session.rounded(view.points[done:view.length]) if view.length > done else []
                entry[key + "_from"] = done
                entry[costs] = self.session.rounded_costs(view.costs[done:view.length]) if view.length > done else []
            paths.append(entry)
        return {"type": "frame", "seq": self.seq, "server_time": int(time.time() * 1000),
                "generation": snap.generation, "status": self.snapshot_status, "step": snap.step, "paths": paths}

    # ------------------------------------------------------------------ commands (the owner's)
    async def command(self, msg: Any) -> None:
        """A lab message (server/lab_protocol.py) from the race's owner. ProtocolError: the
        owner's error reply (the race is kept)."""
        kind = msg.type
        if kind != "configure" and kind != "speed" and self.session is None:
            raise ProtocolError("type", f"send 'configure' before {kind!r}", kind)
        await getattr(self, f"on_{kind}")(msg)

    async def on_configure(self, msg: lp.Configure) -> None:
        self.replays = {}  # pending replays were for the race this one replaces
        async with self.lock:
            session = await lab_executor.run(LabSession, msg, self.generation + 1)
            surface = await lab_executor.run(session.surface_message)
            if self.closed:
                return
            self.session, self.generation = session, session.generation
            self.status = "ready"
            self.broadcast(surface)
            self.send_state()
            self.publish()

    async def on_start_point(self, msg: lp.StartPoint) -> None:
        async with self.lock:
            await self._apply_replays()  # their values are kept, like every live change
            self.session.set_start(msg.x, msg.y)
            self._restarted()

    async def on_reset(self, msg: lp.Reset) -> None:
        async with self.lock:
            await self._apply_replays()
            self.session.restart()
            self._restarted()

    def _restarted(self) -> None:
        self.generation = self.session.generation
        self.diverged_texts = []
        if self.status in ("done", "idle"):
            self.status = "ready"
        self.send_state()
        self.publish()

    async def on_set(self, msg: lp.Set) -> None:
        if msg.replay:
            self.session.racer(msg.id)  # an unknown id is the sender's error now
            self.replays[msg.id] = {**self.replays.get(msg.id, {}), **msg.changes()}
            if self.replayer is None or self.replayer.done():
                self.replayer = asyncio.create_task(self._replay_loop())
            return
        async with self.lock:
            await self._apply_replays()  # a replay asked before this `set` comes first
            self.session.set(msg.id, msg.changes())
            self.send_state()
            self.publish()

    async def _replay_loop(self) -> None:
        """Computes the pending replays, newest values only: while one is computed, the `set`s of
        a dragged slider that arrive only update what the next computation uses (coalesced)."""
        try:
            while self.replays and not self.closed:
                async with self.lock:
                    await self._apply_replays()
        except Exception:  # noqa: BLE001 - a replay that failed must not fail silently
            log.exception("lab: replaying a path failed")
            self.replays = {}

    async def _apply_replays(self) -> None:
        """The pending replays (caller holds the lock): whole paths recomputed on the lab's thread
        in chunks of LAB_TICK_SECONDS (other races' ticks run in between), then `state`, any
        `diverged`, and a snapshot whose frame sends those paths from 0."""
        if not self.replays:
            return
        pending, self.replays = self.replays, {}
        session = self.session
        events = []
        for racer_id, changes in pending.items():
            try:
                replay = session.start_replay(racer_id, changes)
            except ProtocolError:
                continue  # the racer left the race (a new configure) since the `set`
            while not await lab_executor.run(replay.advance_within, LAB_TICK_SECONDS):
                if self.closed:
                    return  # bounded chunks: other races' ticks run in between
            events += session.finish_replay(replay)
        if session is not self.session or self.closed:
            return
        self.diverged_texts = [t for t in self.diverged_texts if json.loads(t)["id"] not in pending]
        self.send_state()
        for event in events:
            self.broadcast(event)
        if self.status == "done" and not session.finished:
            self.status = "paused"  # a replayed path that runs on: the race can be played again
            self.send_state()
        elif session.finished and self.status not in ("done", "idle"):
            self.status = "done"
            self.send_state()
        self.publish()

    async def on_play(self, msg: lp.Play) -> None:
        if self.session.finished:
            raise ProtocolError("type", "every path has finished: press reset to race again", "play")
        self.status = "running"
        self.send_state()
        if self.runner is None or self.runner.done():
            self.runner = asyncio.create_task(self._run_loop())

    async def on_pause(self, msg: lp.Pause) -> None:
        self.pause()

    def pause(self) -> None:
        if self.status == "running":
            self.status = "paused"
        if self.session is not None:
            self.send_state()

    async def on_step(self, msg: lp.Step) -> None:
        """n updates, computed in bounded chunks (other races' ticks run in between), then one frame."""
        async with self.lock:
            if self.status == "ready":
                self.status = "paused"
            session, left = self.session, msg.n
            while left > 0:
                made = await self._advance(left, publish=False)
                left -= made
                if made == 0 or session is not self.session or self.closed:
                    break
            if session is self.session and not self.closed:
                self.publish()

    async def on_speed(self, msg: lp.Speed) -> None:
        self.steps_per_frame = msg.steps_per_frame or self.steps_per_frame
        self.fps = msg.fps or self.fps
        if self.session is not None:
            self.send_state()

    def configure_message(self) -> Optional[dict]:
        """The race's settings with their live changes, as a `configure` message (push, fork)."""
        if self.session is None:
            return None
        config = self.session.config.model_dump()
        config["optimizers"] = [r.spec.model_dump() for r in self.session.racers]
        config["start"] = list(self.session.start)
        return config

    async def settings(self) -> Optional[dict]:
        """configure_message(), as a mirror of a race on another process gets it (server/room_redis.py)."""
        return self.configure_message()

    # ------------------------------------------------------------------ the runner
    async def _advance(self, n: int, publish: bool = True) -> int:
        """Up to n updates of every path (caller holds the lock) in one job of the lab's executor,
        at most LAB_TICK_SECONDS long; then divergence news and (publish) a snapshot. Returns the
        number of updates made (0: every path has finished)."""
        session = self.session
        events, made = await lab_executor.run(session.advance_within, n, LAB_TICK_SECONDS)
        if session is not self.session or self.closed:
            return made
        for event in events:
            self.broadcast(event)
        if session.finished and self.status != "done":
            self.status = "done"
            self.send_state()
        if publish:
            self.publish()
        return made

    async def _run_loop(self) -> None:
        """Each 1/fps tick: `steps_per_frame` updates, in bounded jobs queued behind the other
        races' (round-robin), then one snapshot. What the tick's time did not allow is dropped,
        not owed: a race the lab cannot keep up with gets fewer steps per tick, never a backlog.
        The lock is taken per job, so commands (pause, set, configure) wait one job at most."""
        loop = asyncio.get_running_loop()
        while self.status == "running":
            tick, owed, session, moved = loop.time(), self.steps_per_frame, self.session, False
            while owed > 0:
                async with self.lock:
                    if self.status != "running" or self.session is not session:
                        break
                    made = await self._advance(owed, publish=False)
                moved, owed = moved or made > 0, owed - made
                if made == 0 or loop.time() - tick >= 1.0 / self.fps:
                    break
            if moved and self.session is session and not self.closed:
                self.publish()  # one snapshot per tick: a viewer's last frame stays in HISTORY
            await asyncio.sleep(max(0.0, 1.0 / self.fps - (loop.time() - tick)))


class RaceFeed:
    """One socket's frames of the race it watches: the newest snapshot it has not sent, at most
    `fps` per second (`next_frame` returns the text or how long to wait)."""

    def __init__(self) -> None:
        self.race: Optional[LabRace] = None
        self.sent_seq: Optional[int] = None
        self.next_time = 0.0

    def watch(self, race: Optional[LabRace]) -> None:
        if race is not self.race:
            self.race, self.sent_seq = race, None  # another race: whole paths first

    def next_frame(self) -> tuple[Optional[str], Optional[float]]:
        race = self.race
        if race is None or race.snapshot is None or race.seq == self.sent_seq:
            return None, None
        now = asyncio.get_running_loop().time()
        if now < self.next_time:
            return None, self.next_time - now
        self.next_time = now + 1.0 / race.fps
        text = race.frame_text(self.sent_seq)
        self.sent_seq = race.seq
        return text, None
