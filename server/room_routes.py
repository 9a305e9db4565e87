"""Classroom rooms over HTTP and websocket (docs/protocol.md "Rooms"): `POST /api/rooms` and
`/ws/room/{code}` (a lab room's socket is server/lab_room.py's). The app includes this router;
the RoomManager lives in app.state.rooms."""
from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException, Request, WebSocket

from server import limits
from server.lab_room import LabRoomSocket
from server.room_protocol import KINDS
from server.room_socket import RoomSocket

router = APIRouter()


@router.post("/api/rooms", status_code=201)
async def create_room(request: Request) -> dict:
    kind = await _kind(request)
    made = await request.app.state.rooms.create(kind)
    if made is None:
        raise HTTPException(503, f"this server has {limits.MAX_ROOMS} open rooms: try again later")
    code, token = made
    base = str(request.base_url).rstrip("/")
    # The token travels in the URL's fragment: browsers never send it to a server or in a Referer.
    return {"code": code, "kind": kind, "teacher_token": token,
            "student_url": f"{base}/room/{code}", "teacher_url": f"{base}/room/{code}#token={token}"}


async def _kind(request: Request) -> str:
    """The room's kind from the optional JSON body {"kind": "playground" | "lab"} (default playground)."""
    body = await request.body()
    if not body.strip():
        return "playground"
    try:
        data = json.loads(body)
    except ValueError:
        raise HTTPException(400, "the body must be JSON: {\"kind\": \"playground\" | \"lab\"} (or empty)") from None
    kind = data.get("kind", "playground") if isinstance(data, dict) else None
    if kind not in KINDS:
        raise HTTPException(400, f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
    return kind


@router.websocket("/ws/room/{code}")
async def room_socket(ws: WebSocket, code: str) -> None:
    await ws.accept()  # its Host and Origin were checked by server/origins.py
    state = ws.app.state
    record = await state.rooms.store.get_room(code.upper()[:12])
    kind = LabRoomSocket if record is not None and record.kind == "lab" else RoomSocket
    await kind(ws, code, state.rooms, state.commands).serve()
