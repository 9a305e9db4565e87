"""The optimizer lab's routes (docs/lab.md): the `/ws/lab` race websocket and two HTTP previews.

Per connection: the handler receives and validates messages; a runner task advances the race
(`steps_per_frame` updates per tick, in a worker thread) at `fps` ticks per second while playing;
a sender task delivers JSON replies first, then the latest race snapshot from a one-slot mailbox,
at most `fps` frames per second — a slow client gets fewer, fresher frames, never a backlog.
Each frame carries only the points a client has not received yet. Closing the socket cancels both
tasks. The app includes this with `app.include_router(server.lab.router)`.
"""
from __future__ import annotations

import asyncio
import json
import time
from typing import Optional

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import JSONResponse

from engine.ewma import ewma, temperature_series, window_reading
from engine.schedules import schedule_curve
from server import lab_protocol as lp
from server.lab_session import LabSession, Snapshot
from server.protocol import ProtocolError, error_message
from server.socket_base import SocketBase, accept

router = APIRouter()
CONNECTIONS: set["LabConnection"] = set()  # live lab sockets (tests check a closed one is freed)

SCHEDULE_FORMULAS = {
    "constant": "α = α₀",
    "inverse_time": "α = α₀ / (1 + decay_rate·epoch)",
    "exponential": "α = base^epoch · α₀",
    "inverse_sqrt": "α = k / √(epoch + 1) · α₀",
}


def dumps(message: dict) -> str:
    """Compact JSON; allow_nan=False makes a NaN/inf that slipped through an error, not a frame."""
    return json.dumps(message, allow_nan=False, separators=(",", ":"), ensure_ascii=False)


# --- HTTP ---------------------------------------------------------------------------------------

def _problem(exc: ProtocolError) -> JSONResponse:
    return JSONResponse({"field": exc.field, "message": exc.message}, status_code=400)


@router.get("/api/lab/schedules")
def lab_schedules(request: Request):
    """α over epochs 0..epochs-1 for every learning-rate schedule of the engine."""
    try:
        q = lp.parse_query(lp.SchedulePreview, dict(request.query_params))
    except ProtocolError as exc:
        return _problem(exc)
    schedules = []
    for name, formula in SCHEDULE_FORMULAS.items():
        cfg = q.schedule(name)
        params = {"constant": {}, "inverse_time": {"decay_rate": cfg.decay_rate, "interval": cfg.interval},
                  "exponential": {"base": cfg.base}, "inverse_sqrt": {"k": cfg.k}}[name]
        schedules.append({"name": name, "formula": formula, "params": params,
                          "alpha": schedule_curve(cfg, q.alpha0, q.epochs).tolist()})
    return {"alpha0": q.alpha0, "epochs": list(range(q.epochs)), "schedules": schedules}


@router.get("/api/lab/ewma")
def lab_ewma(request: Request):
    """A noisy daily temperature series and its exponentially weighted averages, per β, with and
    without bias correction, and the ≈ 1/(1-β) days reading."""
    try:
        q = lp.parse_query(lp.EwmaQuery, dict(request.query_params))
    except ProtocolError as exc:
        return _problem(exc)
    day, temperature = temperature_series(q.days, q.seed)
    curves = [{"beta": beta, "window": 1.0 / (1.0 - beta), "reading": window_reading(beta),
               "corrected": ewma(temperature, beta, True).round(4).tolist(),
               "uncorrected": ewma(temperature, beta, False).round(4).tolist()} for beta in q.betas]
    return {"day": day.astype(int).tolist(), "temperature": temperature.round(4).tolist(), "curves": curves}


# --- websocket ----------------------------------------------------------------------------------

@router.websocket("/ws/lab")
async def lab_socket(ws: WebSocket) -> None:
    if not await accept(ws):  # the training socket's origin rule (server/socket_base.py)
        return
    connection = LabConnection(ws)
    CONNECTIONS.add(connection)
    try:
        await connection.serve()
    finally:
        CONNECTIONS.discard(connection)


class Mailbox:
    """One slot: `put` replaces what was not taken yet (the latest snapshot wins)."""

    def __init__(self) -> None:
        self.item: Optional[Snapshot] = None

    def put(self, item: Snapshot) -> None:
        self.item = item

    def take(self) -> Optional[Snapshot]:
        item, self.item = self.item, None
        return item


class LabConnection(SocketBase):
    """A lab socket (server/socket_base.py: receive loop, replies, rate limit, close rule); its
    frames are JSON race snapshots, paced at `fps` from a one-slot mailbox."""

    dumps = staticmethod(dumps)

    def __init__(self, ws: WebSocket):
        super().__init__(ws, lp.parse_lab_message, label="lab")
        self.session: Optional[LabSession] = None
        self.generation = 0
        self.status = "idle"      # idle | ready | running | paused | done
        self.steps_per_frame, self.fps = lp.DEFAULT_STEPS_PER_FRAME, lp.DEFAULT_FPS
        self.lock = asyncio.Lock()  # one session mutation or computation at a time
        self.mailbox = Mailbox()
        self.runner: Optional[asyncio.Task] = None
        self.sent: dict = {}      # (racer id, "main"/"twin") -> points already sent, this generation
        self.sent_generation = 0
        self.seq = 0
        self.next_frame_time = 0.0

    # --- lifecycle ---
    async def on_open(self) -> None:
        self.reply({"type": "state", "status": "idle", "limits": lp.LAB_LIMITS, "speed": self.speed()})

    async def on_close(self) -> None:
        self.status = "closed"
        if self.runner is not None:
            self.runner.cancel()
            await asyncio.gather(self.runner, return_exceptions=True)

    def speed(self) -> dict:
        return {"steps_per_frame": self.steps_per_frame, "fps": self.fps}

    def publish(self) -> None:
        """The race as it is now goes to the mailbox (replacing a snapshot not sent yet)."""
        self.mailbox.put(self.session.snapshot())
        self.wake.set()

    def send_state(self) -> None:
        self.reply(self.session.state_message(self.status, self.speed()))

    # --- messages ---
    async def dispatch(self, msg) -> None:
        kind = msg.type
        if kind != "configure" and kind != "speed" and self.session is None:
            raise ProtocolError("type", f"send 'configure' before {kind!r}", kind)
        await getattr(self, f"on_{kind}")(msg)

    async def on_configure(self, msg: lp.Configure) -> None:
        async with self.lock:
            session = await asyncio.to_thread(LabSession, msg, self.generation + 1)
            surface = await asyncio.to_thread(session.surface_message)
            self.session, self.generation = session, session.generation
            self.status = "ready"
            self.reply(surface)
            self.send_state()
            self.publish()

    async def on_start_point(self, msg: lp.StartPoint) -> None:
        async with self.lock:
            self.session.set_start(msg.x, msg.y)
            self._restarted()

    async def on_reset(self, msg: lp.Reset) -> None:
        async with self.lock:
            self.session.restart()
            self._restarted()

    def _restarted(self) -> None:
        self.generation = self.session.generation
        if self.status in ("done", "idle"):
            self.status = "ready"
        self.send_state()
        self.publish()

    async def on_set(self, msg: lp.Set) -> None:
        async with self.lock:
            self.session.set(msg.id, msg.changes())
            self.send_state()
            self.publish()

    async def on_play(self, msg: lp.Play) -> None:
        if self.session.finished:
            self.reply(error_message("type", "every path has finished: press reset to race again", "play"))
            return
        self.status = "running"
        self.send_state()
        if self.runner is None or self.runner.done():
            self.runner = asyncio.create_task(self._run_loop())

    async def on_pause(self, msg: lp.Pause) -> None:
        if self.status == "running":
            self.status = "paused"
        self.send_state()

    async def on_step(self, msg: lp.Step) -> None:
        async with self.lock:
            if self.status == "ready":
                self.status = "paused"
            await self._advance(msg.n)

    async def on_speed(self, msg: lp.Speed) -> None:
        self.steps_per_frame = msg.steps_per_frame or self.steps_per_frame
        self.fps = msg.fps or self.fps
        if self.session is not None:
            self.send_state()

    # --- tasks ---
    async def _advance(self, n: int) -> None:
        """n updates of every path (caller holds the lock), then divergence news and a snapshot."""
        session = self.session
        events = await asyncio.to_thread(session.advance, n)
        if session is not self.session:
            return
        for event in events:
            self.reply(event)
        if session.finished and self.status != "done":
            self.status = "done"
            self.send_state()
        self.publish()

    async def _run_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while self.status == "running":
            tick = loop.time()
            async with self.lock:
                if self.status != "running":
                    break
                await self._advance(self.steps_per_frame)
            await asyncio.sleep(max(0.0, 1.0 / self.fps - (loop.time() - tick)))

    def next_frame(self):
        """The latest snapshot as a frame, at most `fps` per second (else: how long to wait)."""
        if self.mailbox.item is None:
            return None, None
        now = asyncio.get_running_loop().time()
        if now < self.next_frame_time:
            return None, self.next_frame_time - now
        frame = self._frame(self.mailbox.take())
        if frame is None:
            return None, None
        self.next_frame_time = now + 1.0 / self.fps
        return dumps(frame), None

    def _frame(self, snap: Snapshot) -> Optional[dict]:
        """The snapshot as a frame holding only the points this client has not received (None for
        a snapshot of a race that has since been restarted)."""
        if snap.generation != self.session.generation:
            return None
        if snap.generation != self.sent_generation:
            self.sent, self.sent_generation = {}, snap.generation
        paths = []
        for racer in snap.racers:
            entry = {**racer.info}
            for key, view in (("points", racer.main), ("batch_points", racer.twin)):
                if view is None:
                    continue
                done = self.sent.get((racer.id, key), 0)
                entry[key] = self.session.rounded(view.points[done:view.length]) if view.length > done else []
                entry[key + "_from"] = done
                self.sent[(racer.id, key)] = max(done, view.length)
            paths.append(entry)
        self.seq += 1
        return {"type": "frame", "seq": self.seq, "server_time": int(time.time() * 1000),
                "generation": snap.generation, "status": self.status, "step": snap.step, "paths": paths}
