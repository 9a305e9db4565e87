"""`/ws`, the playground's training websocket (docs/protocol.md), and `/healthz`."""
from __future__ import annotations

from fastapi import APIRouter, Request, WebSocket

from server import limits
from server.connections import Connection
from server.socket_base import SERVER_FULL
from server.version import VERSION

router = APIRouter()


@router.get("/healthz")
async def healthz(request: Request) -> dict:
    pool = request.app.state.pool
    return {"status": "ok", "version": VERSION, "connections": pool.session_count,
            "workers": await pool.stats()}


@router.websocket("/ws")
async def training_socket(ws: WebSocket) -> None:
    await serve_session(ws, Connection)


async def serve_session(ws: WebSocket, connection: type[Connection]) -> None:
    """A socket whose client trains a session in the worker processes (`/ws`, `/ws/cnn`): refused
    with SERVER_FULL beyond MAX_SESSIONS."""
    await ws.accept()  # its Host and Origin were checked by server/origins.py
    state = ws.app.state
    if state.pool.session_count >= limits.MAX_SESSIONS:
        await ws.send_json({"type": "error", "field": "", "request_type": None,
                            "message": f"the server is full ({limits.MAX_SESSIONS} sessions): try again later"})
        await ws.close(code=SERVER_FULL)
        return
    await connection(ws, state.pool, state.uploads, state.runs).serve()
