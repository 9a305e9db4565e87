"""The FastAPI application: pages, static files (plotly.js served locally; server/static_files.py), the JSON API and the
training websocket. `create_app(settings)` builds it; `python -m server` runs it with uvicorn.
"""
from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from typing import Optional

import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request, WebSocket
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from engine.config import DATASET_KINDS, TrainConfig, format_errors
from engine.data import DOMAIN, generate_points
from server import lab as lab_routes
from server import room_pages, room_routes
from server.commands import TrainingCommands
from server import limits
from server.connections import Connection
from server.presets import PRESETS
from server.rooms import RoomManager
from server.runs import RunRecord, RunStore, history_csv
from server.settings import Settings
from server.socket_base import SERVER_FULL, accept
from server.static_files import add_compression, add_static_routes
from server.uploads import CsvUploads
from server.workers import WorkerPool

VERSION = "0.1.0"


def create_app(settings: Optional[Settings] = None) -> FastAPI:
    settings = settings or Settings()
    pool = WorkerPool(settings.worker_count, settings.fps, limits.DEFAULT_STEPS_PER_FRAME)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await pool.start()
        app.state.rooms.start()
        try:
            yield
        finally:
            await app.state.rooms.stop()
            await pool.stop()

    app = FastAPI(title="nn-playground", version=VERSION, lifespan=lifespan)
    app.state.settings, app.state.pool = settings, pool
    app.state.runs, app.state.uploads = RunStore(settings.db_path), CsvUploads()
    app.state.commands = TrainingCommands(app.state.uploads, app.state.runs)
    app.state.rooms = RoomManager(pool, settings)  # in-memory store and bus (server/room_store.py)
    templates = Jinja2Templates(directory=str(settings.templates_dir))

    # ------------------------------------------------------------------ pages and files
    def page(request: Request, name: str, **extra) -> Response:
        if not (settings.templates_dir / name).is_file():
            return HTMLResponse(f"<h1>nn-playground</h1><p>templates/{name} is missing.</p>", status_code=503)
        context = {"version": VERSION, "limits": limits.LIMITS, "fps": settings.fps,
                   "plotly_url": plotly_url, **extra}
        return templates.TemplateResponse(request, name, context)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request) -> Response:
        return page(request, "index.html")

    @app.get("/lab", response_class=HTMLResponse, include_in_schema=False)
    def lab(request: Request) -> Response:
        return page(request, "lab.html")

    @app.get("/room/{code}", response_class=HTMLResponse, include_in_schema=False)
    async def room(request: Request, code: str) -> Response:
        # A classroom room (docs/protocol.md "Rooms"): the playground (a lab room: the optimizer
        # lab) driven by /ws/room/{code}; the page says so when the code is unknown (the socket's `error`).
        code = code.upper()[:12]
        record = await request.app.state.rooms.store.get_room(code)
        lab_room = record is not None and record.kind == "lab"
        return page(request, "lab_room.html" if lab_room else "room.html", code=code)

    # plotly.js compressed once, at a versioned immutable URL; own files revalidated (ETag, 304);
    # everything else gzip-compressed over 1 KB (server/static_files.py)
    plotly_url = add_static_routes(app, settings.static_dir)
    add_compression(app)

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok", "version": VERSION, "connections": pool.session_count,
                "workers": await pool.stats()}

    # ------------------------------------------------------------------ datasets, presets, schema
    @app.get("/api/datasets")
    def datasets() -> list[dict]:
        return [{"name": name, "kind": kind} for name, kind in DATASET_KINDS.items()]

    @app.get("/api/datasets/{name}/preview")
    def preview(name: str,
                noise: float = Query(0.0, ge=0.0, le=1.0),
                seed: int = Query(0, ge=0, le=2**32 - 1),
                classes: int = Query(3, ge=2, le=6),
                n: int = Query(400, ge=10, le=limits.MAX_POINTS)) -> dict:
        if name not in DATASET_KINDS or name == "csv":
            allowed = ", ".join(k for k in DATASET_KINDS if k != "csv")
            raise HTTPException(404, f"unknown dataset {name!r}: allowed {allowed}")
        X, labels = generate_points(name, n, noise, seed, classes)
        return {"name": name, "kind": DATASET_KINDS[name], "domain": [DOMAIN[0], DOMAIN[1], DOMAIN[0], DOMAIN[1]],
                "x1": np.round(X[0], 5).tolist(), "x2": np.round(X[1], 5).tolist(),
                "y": labels.tolist() if labels.dtype.kind in "iu" else np.round(labels, 5).tolist()}

    @app.get("/api/presets")
    def presets() -> list[dict]:
        return PRESETS

    @app.get("/api/config-schema")
    def config_schema() -> dict:
        return TrainConfig.model_json_schema()

    @app.get("/api/limits")
    def server_limits() -> dict:
        return limits.LIMITS

    # ------------------------------------------------------------------ CSV upload
    @app.post("/api/csv")
    async def upload_csv(request: Request) -> dict:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limits.MAX_CSV_BYTES:
            raise HTTPException(413, f"the CSV file is {declared} bytes; at most {limits.MAX_CSV_BYTES} are allowed")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limits.MAX_CSV_BYTES:
                raise HTTPException(413, f"the CSV file is over {limits.MAX_CSV_BYTES} bytes")
        try:
            key, data = await asyncio.to_thread(app.state.uploads.add, bytes(body))
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        return {"id": key, "rows": data.m, "n_x": data.n_x, "kind": data.kind, "classes": data.classes}

    # ------------------------------------------------------------------ saved runs
    def run_or_404(run_id: int) -> dict:
        run = app.state.runs.get(run_id)
        if run is None:
            raise HTTPException(404, f"no saved run with id {run_id}")
        return run

    @app.get("/api/runs")
    def list_runs() -> list[dict]:
        return app.state.runs.list()

    @app.post("/api/runs", status_code=201)
    async def save_run(request: Request) -> dict:
        body = await request.body()
        if len(body) > limits.MAX_RUN_BYTES:
            raise HTTPException(413, f"a saved run is at most {limits.MAX_RUN_BYTES} bytes")
        try:
            record = RunRecord.model_validate_json(body)
        except ValidationError as err:
            return JSONResponse({"detail": format_errors(err)}, status_code=422)
        problems = limits.config_violations(record.config)
        if problems:
            return JSONResponse({"detail": [f"{f}: {m}" for f, m in problems]}, status_code=422)
        run_id = await asyncio.to_thread(app.state.runs.save, record)
        return {"id": run_id, "name": record.name}

    @app.get("/api/runs/{run_id}")
    def get_run(run_id: int) -> dict:
        return run_or_404(run_id)

    @app.delete("/api/runs/{run_id}")
    def delete_run(run_id: int) -> dict:
        if not app.state.runs.delete(run_id):
            raise HTTPException(404, f"no saved run with id {run_id}")
        return {"deleted": run_id}

    @app.get("/api/runs/{run_id}/export.json")
    def export_run(run_id: int) -> Response:
        run = run_or_404(run_id)
        return Response(json.dumps(run, indent=1), media_type="application/json",
                        headers={"Content-Disposition": f'attachment; filename="run-{run_id}.json"'})

    @app.get("/api/runs/{run_id}/history.csv")
    def export_history(run_id: int) -> Response:
        run = run_or_404(run_id)
        return PlainTextResponse(history_csv(run["history"]), media_type="text/csv",
                                 headers={"Content-Disposition": f'attachment; filename="run-{run_id}-history.csv"'})

    app.include_router(lab_routes.router)  # the optimizer lab: /ws/lab and /api/lab/* (docs/lab.md)
    app.include_router(room_routes.router)  # classroom rooms: /api/rooms and /ws/room/{code}
    app.include_router(room_pages.router)   # a room's join QR code

    # ------------------------------------------------------------------ websocket
    @app.websocket("/ws")
    async def training_socket(ws: WebSocket) -> None:
        if not await accept(ws):  # origin refused before the handshake: HTTP 403
            return
        if pool.session_count >= limits.MAX_SESSIONS:
            await ws.send_json({"type": "error", "field": "", "request_type": None,
                                "message": f"the server is full ({limits.MAX_SESSIONS} sessions): try again later"})
            await ws.close(code=SERVER_FULL)
            return
        await Connection(ws, pool, app.state.uploads, app.state.runs).serve()

    return app
