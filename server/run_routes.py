"""Saved runs over HTTP (server/runs.py stores them): list, save, get, delete, and the JSON and
history-CSV downloads. A run id is an integer in 1..2^63-1 (SQLite's INTEGER): any other is a 422
naming `run_id` before the database is asked; a body is read with a size cap (server/http_body.py)."""
from __future__ import annotations

import asyncio
import json
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import ValidationError

from engine.config import format_errors
from server import limits
from server.http_body import read_capped
from server.runs import MAX_RUN_ID, RunRecord, history_csv

router = APIRouter()

RunId = Annotated[int, Path(ge=1, le=MAX_RUN_ID, description=f"a saved run's id, 1..{MAX_RUN_ID}")]


def run_or_404(request: Request, run_id: int) -> dict:
    run = request.app.state.runs.get(run_id)
    if run is None:
        raise HTTPException(404, f"no saved run with id {run_id}")
    return run


@router.get("/api/runs")
def list_runs(request: Request) -> list[dict]:
    return request.app.state.runs.list()


@router.post("/api/runs", status_code=201)
async def save_run(request: Request) -> dict:
    body = await read_capped(request, limits.MAX_RUN_BYTES, "a saved run")
    try:
        record = RunRecord.model_validate_json(body)
    except ValidationError as err:
        return JSONResponse({"detail": format_errors(err)}, status_code=422)
    problems = limits.config_violations(record.config)
    if problems:
        return JSONResponse({"detail": [f"{f}: {m}" for f, m in problems]}, status_code=422)
    run_id = await asyncio.to_thread(request.app.state.runs.save, record)
    return {"id": run_id, "name": record.name}


@router.get("/api/runs/{run_id}")
def get_run(request: Request, run_id: RunId) -> dict:
    return run_or_404(request, run_id)


@router.delete("/api/runs/{run_id}")
def delete_run(request: Request, run_id: RunId) -> dict:
    if not request.app.state.runs.delete(run_id):
        raise HTTPException(404, f"no saved run with id {run_id}")
    return {"deleted": run_id}


@router.get("/api/runs/{run_id}/export.json")
def export_run(request: Request, run_id: RunId) -> Response:
    run = run_or_404(request, run_id)
    return Response(json.dumps(run, indent=1, allow_nan=False), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="run-{run_id}.json"'})


@router.get("/api/runs/{run_id}/history.csv")
def export_history(request: Request, run_id: RunId) -> Response:
    run = run_or_404(request, run_id)
    return PlainTextResponse(history_csv(run["history"]), media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="run-{run_id}-history.csv"'})
