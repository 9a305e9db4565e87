"""The Search page's routes (issue #14, docs/protocol.md "Sweeps"): `GET /search` (the page),
`GET /api/sweeps` (the server's sweeps and limits) and the `/ws/sweep` websocket, on which one
client runs one sweep at a time (server/sweeps.py) and gets each finished trial as it comes.

`install(app)` is the one line server/app.py needs: the router, `app.state.sweeps` and the
pool's shutdown with the app's lifespan.
"""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import Any, Literal, Optional

from fastapi import APIRouter, FastAPI, Request, WebSocket
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from server import limits
from server.page_routes import CONFIG_SCHEMA, page
from server.protocol import MessageParser, ProtocolError, by_type
from server.socket_base import SERVER_FULL, SocketBase
from server.sweeps import Sweep, SweepService, check_sweep

router = APIRouter()
CONNECTIONS: set["SweepConnection"] = set()  # live /ws/sweep sockets (the socket cap counts them)


def install(app: FastAPI) -> None:
    """Route the Search page and its socket; the sweep pool ends with the app."""
    service = app.state.sweeps = SweepService(app.state.settings.worker_count)
    app.include_router(router)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: FastAPI):
        async with inner(app_) as state:
            try:
                yield state
            finally:
                service.stop()

    app.router.lifespan_context = lifespan


# --- HTTP ---------------------------------------------------------------------------------------

@router.get("/search", response_class=HTMLResponse, include_in_schema=False)
def search_page(request: Request) -> Response:
    return page(request, "search.html", config_schema=CONFIG_SCHEMA, sweep_limits=limits.SWEEP_LIMITS)


@router.get("/api/sweeps")
def sweeps_stats(request: Request) -> dict:
    """{running, max_sweeps, workers, trials_in_pool, pool_started, limits}."""
    return {**request.app.state.sweeps.stats(), "limits": limits.SWEEP_LIMITS}


# --- messages -----------------------------------------------------------------------------------

class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Start(_Message):
    type: Literal["start"]
    sweep: dict[str, Any] = Field(description="a sweep spec as for `python -m engine sweep` (docs/config.md)")
    csv_id: Optional[str] = Field(None, min_length=1, max_length=64, description="id from POST /api/csv")


class Cancel(_Message):
    type: Literal["cancel"]


parse_sweep_message = MessageParser(by_type(Start, Cancel))


def sweep_problem(err: ValueError) -> ProtocolError:
    """The engine's SweepError (one 'dotted.field: message' line per problem): the first problem,
    its field under `sweep.` (the page marks that control)."""
    first = (getattr(err, "lines", None) or str(err).splitlines() or [""])[0]
    field, sep, message = first.partition(": ")
    if not sep or " " in field:
        field, message = "", first
    return ProtocolError(f"sweep.{field}" if field else "sweep", message, "start")


def parse_spec(obj: dict) -> Any:
    """engine.sweep.parse_sweep, its errors as a ProtocolError with a field under `sweep.`."""
    from engine.sweep import parse_sweep

    try:
        return parse_sweep(obj)
    except ValueError as err:  # SweepError: pydantic's problems too, one line each
        raise sweep_problem(err) from None


def check_all(spec: Any, csv: Optional[str], rows: Optional[int]) -> None:
    """This server's limits, then what the engine checks with the data (the metric needs a dev
    set, accuracy needs classes, the CSV): every refusal before the sweep starts."""
    from engine.sweep import check_sweep as engine_check

    check_sweep(spec, rows)
    try:
        engine_check(spec, csv)
    except ValueError as err:
        raise sweep_problem(err) from None


def csv_text(data: Any) -> str:
    """An uploaded CSV (engine.csvdata.CsvData) written back as CSV text (run_sweep's csv_text)."""
    regression = data.classes is None
    lines = [",".join([f"x{i + 1}" for i in range(data.n_x)] + ["label"] + (["split"] if data.split else []))]
    for j in range(data.m):
        label = repr(float(data.labels[j])) if regression else str(int(data.labels[j]))
        cells = [repr(float(v)) for v in data.X[:, j]] + [label] + ([data.split[j]] if data.split else [])
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


# --- websocket ----------------------------------------------------------------------------------

@router.websocket("/ws/sweep")
async def sweep_socket(ws: WebSocket) -> None:
    await ws.accept()  # its Host and Origin were checked by server/origins.py
    if len(CONNECTIONS) >= limits.MAX_SWEEP_SOCKETS:
        await ws.send_json({"type": "error", "field": "", "request_type": None,
                            "message": f"the Search page is full ({limits.MAX_SWEEP_SOCKETS} sockets): try again later"})
        await ws.close(code=SERVER_FULL)
        return
    connection = SweepConnection(ws, ws.app.state.sweeps, ws.app.state.uploads)
    CONNECTIONS.add(connection)
    try:
        await connection.serve()
    finally:
        CONNECTIONS.discard(connection)


class SweepConnection(SocketBase):
    """One client of the Search page: at most MAX_SWEEPS_PER_SOCKET (1) sweep at a time, cancelled
    when the client asks or leaves. The sweep's thread hands trials to the event loop."""

    def __init__(self, ws: WebSocket, service: SweepService, uploads):
        super().__init__(ws, parse_sweep_message, label="sweep")
        self.service, self.uploads = service, uploads
        self.sweep: Optional[Sweep] = None
        self.loop = asyncio.get_running_loop()

    async def on_open(self) -> None:
        if not self.service.pool_started:
            await asyncio.to_thread(self.service.warm)
        self.reply({"type": "limits", "limits": limits.SWEEP_LIMITS, "workers": self.service.workers})

    async def on_close(self) -> None:
        if self.sweep is not None:
            self.sweep.cancel("the client left")

    async def on_start(self, request: Start) -> None:
        if self.sweep is not None:
            raise ProtocolError("", "a sweep is already running on this connection (at most "
                                f"{limits.MAX_SWEEPS_PER_SOCKET}): cancel it or wait for its `done`", "start")
        spec = parse_spec(request.sweep)
        csv, rows = None, None
        if spec.base.get("data", {}).get("name") == "csv":
            data = self.uploads.get(request.csv_id) if request.csv_id else None
            if data is None:
                raise ProtocolError("csv_id", "a sweep of an uploaded CSV needs its id from POST /api/csv (unknown "
                                    "or expired: upload the file again)", "start")
            csv, rows = csv_text(data), data.m
        await asyncio.to_thread(check_all, spec, csv, rows)
        from engine.sweep import trial_config

        def on_trial(entry: dict, progress: dict) -> None:  # in the sweep's thread
            try:
                config = trial_config(spec, entry["params"], entry["trial"])
            except Exception:  # noqa: BLE001 - the trial is still shown, without its link
                config = None
            self._from_thread({"type": "trial", "trial": entry, "config": config, "progress": progress})

        def on_end(outcome: dict) -> None:
            self._from_thread({"type": "done", **outcome}, ended=True)

        self.sweep = self.service.start(spec, csv, on_trial, on_end)
        self.reply({"type": "started", "total": spec.total, "metric": spec.metric, "trials": spec.trials,
                    "seed": spec.seed, "space": {path: dist.to_json() for path, dist in spec.space.items()},
                    "refine": None if spec.refine is None else spec.refine.model_dump()})

    async def on_cancel(self, request: Cancel) -> None:
        if self.sweep is None:
            raise ProtocolError("", "no sweep is running on this connection", "cancel")
        self.sweep.cancel("cancelled by the client")

    def _from_thread(self, message: dict, ended: bool = False) -> None:
        """Hand a message from the sweep's thread to the event loop (nothing once the client left)."""
        def deliver() -> None:
            if ended:
                self.sweep = None
            self.reply(message)
        try:
            self.loop.call_soon_threadsafe(deliver)
        except RuntimeError:  # the loop has closed (server stopped)
            pass
