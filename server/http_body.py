"""Request bodies read with a size cap: a declared Content-Length over the cap is refused before a
byte is read, and a body streamed without one (chunked) is refused as soon as it passes the cap,
so a 200 MB upload costs the server at most `limit` bytes of memory, never the whole body."""
from __future__ import annotations

from fastapi import HTTPException, Request
from starlette.requests import ClientDisconnect


async def read_capped(request: Request, limit: int, what: str) -> bytes:
    """The whole body of `request`, at most `limit` bytes; HTTPException 413 naming `what` (e.g.
    "the CSV file") and the limit otherwise. Used by every route that reads a body itself."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"{what} is {declared} bytes; at most {limit} are allowed")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise HTTPException(413, f"{what} is over the limit: at most {limit} bytes are allowed")
    except ClientDisconnect:  # gone before the body was complete (or closed by the body timeout)
        raise HTTPException(400, f"the connection closed before {what} was complete") from None
    return bytes(body)
