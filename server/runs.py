"""Saved runs in SQLite (stdlib sqlite3): config + cost history + final weights.

The database file and its folder are created on the first write; reads of a missing database
see no runs. One short-lived connection per call keeps it safe from any thread.
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

# One history row per recorded snapshot; the CSV export uses these columns in this order.
HISTORY_COLUMNS = [
    "iteration", "epoch", "learning_rate", "minibatch_cost",
    "train_cost", "train_data_cost", "train_reg_cost", "train_accuracy",
    "dev_cost", "dev_data_cost", "dev_reg_cost", "dev_accuracy",
]

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
    """What a saved run holds (the body of POST /api/runs and of a ws `save`)."""

    model_config = ConfigDict(extra="forbid")
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
                raise ValueError(f"history row {i} must be a list of {len(columns)} values")
            for value in row:
                if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value)):
                    raise ValueError(f"history row {i}: values must be finite numbers or null")
        return v


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
                    (record.name, time.time(), record.config.model_dump_json(), json.dumps(record.history),
                     json.dumps(record.weights), json.dumps(record.summary)),
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
        return [{"id": r["id"], "name": r["name"], "created": r["created"], "summary": json.loads(r["summary"])}
                for r in rows]

    def get(self, run_id: int) -> Optional[dict]:
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
                "config": json.loads(row["config"]), "history": json.loads(row["history"]),
                "weights": json.loads(row["weights"]), "summary": json.loads(row["summary"])}

    def delete(self, run_id: int) -> bool:
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
