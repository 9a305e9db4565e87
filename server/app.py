"""The FastAPI application. `create_app(settings)` builds the shared state (worker pool, saved
runs, uploads, rooms) and wires the routers, one per concept; `python -m server` runs it with uvicorn.
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Optional

from fastapi import FastAPI
from fastapi.templating import Jinja2Templates

from server import (cnn_socket, csv_routes, data_routes, lab, limits, page_routes, room_pages, room_routes, run_routes,
                    sweep_routes, training_routes)
from server.commands import TrainingCommands
from server.origins import OriginGuard
from server.rooms import RoomManager
from server.runs import RunStore
from server.settings import Settings
from server.static_files import add_compression, add_static_routes
from server.uploads import CsvUploads
from server.version import VERSION
from server.workers import WorkerPool

__all__ = ["create_app", "VERSION"]


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
    state = app.state
    state.settings, state.pool = settings, pool
    state.runs, state.uploads = RunStore(settings.db_path), CsvUploads()
    state.commands = TrainingCommands(state.uploads, state.runs)
    state.rooms = RoomManager(pool, settings)  # in-memory store and bus (server/room_store.py)
    state.templates = Jinja2Templates(directory=str(settings.templates_dir))

    # plotly.js compressed once, at a versioned immutable URL; own files revalidated (ETag, 304);
    # everything else gzip-compressed over 1 KB (server/static_files.py)
    state.plotly_url = add_static_routes(app, settings.static_dir)
    add_compression(app)
    # Host allow-list on every request, Origin check on POST/PUT/PATCH/DELETE and websockets (server/origins.py)
    app.add_middleware(OriginGuard, allow_origins=settings.allow_origins, allow_hosts=settings.allow_hosts,
                       bind_host=settings.host)

    app.include_router(page_routes.router)      # /, /lab, /room/{code}
    app.include_router(training_routes.router)  # /ws and /healthz
    app.include_router(cnn_socket.router)       # /ws/cnn: the CNN lab's Live ConvNet (server/cnn_socket.py)
    app.include_router(data_routes.router)      # datasets, presets, config schema, limits
    app.include_router(csv_routes.router)       # POST /api/csv
    app.include_router(run_routes.router)       # /api/runs
    app.include_router(lab.router)              # the optimizer lab: /ws/lab and /api/lab/* (docs/lab.md)
    app.include_router(room_routes.router)      # classroom rooms: /api/rooms and /ws/room/{code}
    app.include_router(room_pages.router)       # a room's join QR code
    sweep_routes.install(app)                   # the Search page: /search, /ws/sweep, /api/sweeps (its own pool)
    return app
