"""Saved runs over HTTP (server/runs.py stores them): list, save, get, delete, and the JSON and
history-CSV downloads."""
from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import ValidationError

from engine.config import format_errors
from server import limits
from server.runs import RunRecord, history_csv

router = APIRouter()


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
    run_id = await asyncio.to_thread(request.app.state.runs.save, record)
    return {"id": run_id, "name": record.name}


@router.get("/api/runs/{run_id}")
def get_run(request: Request, run_id: int) -> dict:
    return run_or_404(request, run_id)


@router.delete("/api/runs/{run_id}")
def delete_run(request: Request, run_id: int) -> dict:
    if not request.app.state.runs.delete(run_id):
        raise HTTPException(404, f"no saved run with id {run_id}")
    return {"deleted": run_id}


@router.get("/api/runs/{run_id}/export.json")
def export_run(request: Request, run_id: int) -> Response:
    run = run_or_404(request, run_id)
    return Response(json.dumps(run, indent=1), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="run-{run_id}.json"'})


@router.get("/api/runs/{run_id}/history.csv")
def export_history(request: Request, run_id: int) -> Response:
    run = run_or_404(request, run_id)
    return PlainTextResponse(history_csv(run["history"]), media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="run-{run_id}-history.csv"'})
