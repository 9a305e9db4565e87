"""`POST /api/csv`: a CSV dataset uploaded for the `csv` dataset (server/uploads.py keeps it)."""
from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException, Request

from server import limits
from server.http_body import read_capped

router = APIRouter()


@router.post("/api/csv")
async def upload_csv(request: Request) -> dict:
    body = await read_capped(request, limits.MAX_CSV_BYTES, "the CSV file")
    try:
        key, data = await asyncio.to_thread(request.app.state.uploads.add, body)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return {"id": key, "rows": data.m, "n_x": data.n_x, "kind": data.kind, "classes": data.classes}
