"""What the room pages need besides the socket: the join QR code (an SVG of the student URL,
drawn server-side by segno so the page needs no QR library). Only for open rooms."""
from __future__ import annotations

import io

from fastapi import APIRouter, HTTPException, Request, Response

router = APIRouter()


@router.get("/api/rooms/{code}/qr.svg")
async def room_qr(request: Request, code: str) -> Response:
    import segno  # imported here: only a teacher's invite needs it

    code = code.upper()
    if len(code) > 12 or await request.app.state.rooms.store.get_room(code) is None:
        raise HTTPException(404, f"no open room with code {code!r}")
    url = f"{str(request.base_url).rstrip('/')}/room/{code}"
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=1, border=2, xmldecl=False,
                                     svgclass="qr", omitsize=True, title=f"Join room {code}", dark="#1c2b36")
    return Response(out.getvalue(), media_type="image/svg+xml", headers={"Cache-Control": "no-store"})
