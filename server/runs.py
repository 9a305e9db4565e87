"""Saved runs in SQLite (stdlib sqlite3): config + cost history + final weights.

The database file and its folder are created on the first write; reads of a missing database
see no runs. One short-lived connection per call keeps it safe from any thread.

Everything stored and returned is strict JSON: a RunRecord refuses NaN and ±Infinity anywhere
(a browser's JSON.parse rejects them), writes use allow_nan=False, and a row written by an older
version with such a value reads back as null.
"""
from __future__ import annotations

import csv
import io
import json
import math
import sqlite3
import time
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.config import TrainConfig
from server.cost_curve import HISTORY_COLUMNS  # a saved run's history: a CostCurve's rows; the CSV's columns


# SQLite's INTEGER is 64-bit signed: a larger id would raise OverflowError in a query, so RunStore
# answers "no such run" for ids outside 1..MAX_RUN_ID and the routes refuse them (422).
MAX_RUN_ID = 2**63 - 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    name     TEXT NOT NULL,
    created  REAL NOT NULL,
    config   TEXT NOT NULL,
    history  TEXT NOT NULL,
    weights  TEXT NOT NULL,
    summary  TEXT NOT NULL
)
"""


class RunRecord(BaseModel):
    """What a saved run holds (the body of POST /api/runs and of a ws `save`). Every number in it
    is finite: a run's own history and summary hold null where a cost was not finite (a diverged
    run's, engine.snapshot.finite_or_none), so NaN or Infinity can only come from a hand-made body."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: str = Field(min_length=1, max_length=100)
    config: TrainConfig
    history: dict = Field(default_factory=lambda: {"columns": HISTORY_COLUMNS, "rows": []},
                          description='{"columns": [...], "rows": [[...], ...]}, numbers or null')
    weights: dict[str, list] = Field(default_factory=dict, description="W1, b1, ... as nested lists")
    summary: dict[str, Any] = Field(default_factory=dict, description="final iteration, costs, status")

    @field_validator("history")
    @classmethod
    def _history_shape(cls, v: dict) -> dict:
        columns, rows = v.get("columns"), v.get("rows")
        if not isinstance(columns, list) or not isinstance(rows, list):
            raise ValueError('history must be {"columns": [...], "rows": [[...], ...]}')
        for i, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != len(columns):
                raise ValueError(f"row {i} must be a list of {len(columns)} values")
            for column, value in zip(columns, row):
                if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value)):
                    raise ValueError(f"row {i}, column {column!r}: {value!r} must be a finite number or null")
        return v

    @field_validator("weights", "summary")
    @classmethod
    def _finite(cls, v: dict) -> dict:
        """Refuse NaN/±Infinity at any depth, naming where (the check itself runs at C speed)."""
        try:
            json.dumps(v, allow_nan=False)
        except ValueError:
            raise ValueError(f"{_nonfinite_path(v)} must be a finite number "
                             "(NaN and Infinity are not JSON)") from None
        return v


def _nonfinite_path(value: Any) -> Optional[str]:
    """Where the first NaN/±Infinity is inside nested dicts and lists: a dotted path ('' = `value`
    itself), or None if there is none. Only called once json.dumps has found one."""
    if isinstance(value, float):
        return None if math.isfinite(value) else ""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        inner = _nonfinite_path(item)
        if inner is not None:
            return f"{key}.{inner}" if inner else str(key)
    return None


def _null(constant: str) -> None:
    """json.loads(parse_constant=...): NaN / Infinity in a row stored by an older version → null."""
    return None


def _loads(text: str) -> Any:
    return json.loads(text, parse_constant=_null)


def _valid_id(run_id: int) -> bool:
    return isinstance(run_id, int) and 1 <= run_id <= MAX_RUN_ID


class RunStore:
    def __init__(self, path: Path):
        self.path = Path(path)

    def _connect(self, create: bool) -> Optional[sqlite3.Connection]:
        if not create and not self.path.exists():
            return None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        db.execute(_SCHEMA)
        return db

    def save(self, record: RunRecord) -> int:
        db = self._connect(create=True)
        try:
            with db:
                cur = db.execute(
                    "INSERT INTO runs (name, created, config, history, weights, summary) VALUES (?, ?, ?, ?, ?, ?)",
                    (record.name, time.time(), record.config.model_dump_json(),
                     json.dumps(record.history, allow_nan=False), json.dumps(record.weights, allow_nan=False),
                     json.dumps(record.summary, allow_nan=False)),
                )
            return int(cur.lastrowid)
        finally:
            db.close()

    def list(self) -> list[dict]:
        """Newest first: id, name, created (s since epoch), summary."""
        db = self._connect(create=False)
        if db is None:
            return []
        try:
            rows = db.execute("SELECT id, name, created, summary FROM runs ORDER BY id DESC").fetchall()
        finally:
            db.close()
        return [{"id": r["id"], "name": r["name"], "created": r["created"], "summary": _loads(r["summary"])}
                for r in rows]

    def get(self, run_id: int) -> Optional[dict]:
        """The run, or None: also for an id SQLite cannot hold (any int is safe to pass)."""
        if not _valid_id(run_id):
            return None
        db = self._connect(create=False)
        if db is None:
            return None
        try:
            row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        finally:
            db.close()
        if row is None:
            return None
        return {"id": row["id"], "name": row["name"], "created": row["created"],
                "config": _loads(row["config"]), "history": _loads(row["history"]),
                "weights": _loads(row["weights"]), "summary": _loads(row["summary"])}

    def delete(self, run_id: int) -> bool:
        """True if the run was deleted; False if there was none (also for an id SQLite cannot hold)."""
        if not _valid_id(run_id):
            return False
        db = self._connect(create=False)
        if db is None:
            return False
        try:
            with db:
                return db.execute("DELETE FROM runs WHERE id = ?", (run_id,)).rowcount > 0
        finally:
            db.close()


def history_csv(history: dict) -> str:
    """The cost history as CSV text: a header row, then one row per record (empty = null)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(history["columns"])
    for row in history["rows"]:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()
