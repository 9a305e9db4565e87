"""Classroom rooms over HTTP and websocket (docs/protocol.md "Rooms"): `POST /api/rooms` and
`/ws/room/{code}`. The app includes this router; the RoomManager lives in app.state.rooms."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, WebSocket

from server import limits
from server.room_socket import RoomSocket
from server.socket_base import accept

router = APIRouter()


@router.post("/api/rooms", status_code=201)
async def create_room(request: Request) -> dict:
    made = await request.app.state.rooms.create()
    if made is None:
        raise HTTPException(503, f"this server has {limits.MAX_ROOMS} open rooms: try again later")
    code, token = made
    base = str(request.base_url).rstrip("/")
    # The token travels in the URL's fragment: browsers never send it to a server or in a Referer.
    return {"code": code, "teacher_token": token,
            "student_url": f"{base}/room/{code}", "teacher_url": f"{base}/room/{code}#token={token}"}


@router.websocket("/ws/room/{code}")
async def room_socket(ws: WebSocket, code: str) -> None:
    if not await accept(ws):
        return
    state = ws.app.state
    await RoomSocket(ws, code, state.rooms, state.commands).serve()
