"""The optimizer lab's routes (docs/lab.md): the `/ws/lab` race websocket, the lab's presets, its
schema (the ranges and defaults the page reads) and two HTTP previews.

At most MAX_LAB_SOCKETS lab sockets at a time (server/limits.py); one more gets an
`error` and close code 1013. Per connection: the handler receives and validates messages and
drives one race (server/lab_race.py: a runner task advances it `steps_per_frame` updates per
tick, on the lab's own bounded executor, at `fps` ticks per second while playing); a sender task
delivers JSON replies first, then the newest race snapshot, at most `fps` frames per second — a
slow client gets fewer, fresher frames, never a backlog. Each frame carries only the points a
client has not received yet.
Closing the socket cancels both tasks. A lab room (server/lab_room.py) shows one such race to a
class. The app includes this with `app.include_router(server.lab.router)`.
"""
from __future__ import annotations

import asyncio
from typing import Optional

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import JSONResponse

from engine.ewma import averaging_window, ewma, temperature_series, window_reading
from engine.schedules import FORMULAS, PARAMS, schedule_curve
from server import lab_protocol as lp
from server.limits import MAX_LAB_SOCKETS
from server.lab_presets import presets_payload
from server.lab_race import LabRace, RaceFeed, dumps
from server.lab_session import Snapshot
from server.protocol import ProtocolError
from server.socket_base import SERVER_FULL, SocketBase

router = APIRouter()
CONNECTIONS: set["LabConnection"] = set()  # live lab sockets: the cap counts them (a closed one is freed)


# --- HTTP ---------------------------------------------------------------------------------------

def _problem(exc: ProtocolError) -> JSONResponse:
    return JSONResponse({"field": exc.field, "message": exc.message}, status_code=400)


@router.get("/api/lab/presets")
def lab_presets():
    """The lab's presets: {"default": id, "presets": [{id, title, lesson, state}]} (server/lab_presets.py)."""
    return presets_payload()


@router.get("/api/lab/schema")
def lab_schema_route():
    """The lab's schema for the browser (server/lab_protocol.py `lab_schema`: the JSON schema of
    every message and query, which hyperparameters each optimizer uses, the live keys)."""
    return lp.lab_schema()


@router.get("/api/lab/schedules")
def lab_schedules(request: Request):
    """α over epochs 0..epochs-1 for every learning-rate schedule of the engine, with its formula
    and the parameters it reads (engine/schedules.py FORMULAS, PARAMS)."""
    try:
        q = lp.parse_query(lp.SchedulePreview, dict(request.query_params))
    except ProtocolError as exc:
        return _problem(exc)
    schedules = []
    for name, formula in FORMULAS.items():
        cfg = q.schedule(name)
        schedules.append({"name": name, "formula": formula, "params": {key: getattr(cfg, key) for key in PARAMS[name]},
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
    curves = [{"beta": beta, "window": averaging_window(beta), "reading": window_reading(beta),
               "corrected": ewma(temperature, beta, True).round(4).tolist(),
               "uncorrected": ewma(temperature, beta, False).round(4).tolist()} for beta in q.betas]
    return {"day": day.astype(int).tolist(), "temperature": temperature.round(4).tolist(), "curves": curves}


# --- websocket ----------------------------------------------------------------------------------

@router.websocket("/ws/lab")
async def lab_socket(ws: WebSocket) -> None:
    await ws.accept()  # its Host and Origin were checked by server/origins.py
    if len(CONNECTIONS) >= MAX_LAB_SOCKETS:  # like /ws's MAX_SESSIONS (server/training_routes.py)
        await ws.send_json({"type": "error", "field": "", "request_type": None,
                            "message": f"the lab is full ({MAX_LAB_SOCKETS} lab sockets): try again later"})
        await ws.close(code=SERVER_FULL)
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
    """A lab socket (server/socket_base.py: receive loop, replies, rate limit, close rule): the
    owner and only viewer of one race (server/lab_race.py); its frames are JSON race snapshots,
    the newest one at most `fps` times per second."""

    dumps = staticmethod(dumps)

    def __init__(self, ws: WebSocket):
        super().__init__(ws, lp.parse_lab_message, label="lab")
        self.race = LabRace()
        self.feed = RaceFeed()

    @property
    def runner(self) -> Optional[asyncio.Task]:
        return self.race.runner

    async def on_open(self) -> None:
        self.reply(self.race.idle_state())
        self.race.attach(self)
        self.feed.watch(self.race)

    async def on_close(self) -> None:
        await self.race.aclose()

    async def dispatch(self, msg) -> None:
        await self.race.command(msg)

    # --- as the race's viewer ---
    def send_text(self, text: str) -> None:
        self.reply_text(text)

    def race_changed(self) -> None:
        self.wake.set()

    def next_frame(self):
        return self.feed.next_frame()
