"""`POST /api/csv`: a CSV dataset uploaded for the `csv` dataset (server/uploads.py keeps it)."""
from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException, Request

from server import limits

router = APIRouter()


@router.post("/api/csv")
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
        key, data = await asyncio.to_thread(request.app.state.uploads.add, bytes(body))
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return {"id": key, "rows": data.m, "n_x": data.n_x, "kind": data.kind, "classes": data.classes}
