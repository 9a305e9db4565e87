"""The playground's training commands (/ws messages, docs/protocol.md), checked against the
server's limits and sent to a LiveRun's worker session. Shared by /ws and a room's teacher and
own-mode students, so every socket that trains a run obeys exactly the same rules."""
from __future__ import annotations

import asyncio
import sqlite3
from typing import Callable

from pydantic import ValidationError

from server import limits
from server.live_run import LiveRun
from server.protocol import Configure, ProtocolError, Save, error_message
from server.runs import RunRecord, RunStore
from server.uploads import CsvUploads


class TrainingCommands:
    def __init__(self, uploads: CsvUploads, runs: RunStore):
        self.uploads, self.runs = uploads, runs

    async def forward(self, run: LiveRun, request) -> None:
        """One validated /ws message (not `ready`: that is the viewer's flow control)."""
        if isinstance(request, Configure):
            await self._configure(run, request)
        elif isinstance(request, Save):
            run.send("save", name=request.name)
        elif request.type == "set":
            run.send("set", changes=request.changes())
        else:
            run.send(request.type, **request.model_dump(exclude={"type"}, exclude_none=True))

    async def _configure(self, run: LiveRun, request: Configure) -> None:
        config, csv = request.config, None
        if config.data.name == "csv":
            if request.csv_id is None:
                raise ProtocolError("csv_id", "config.data.name 'csv' needs csv_id, the id POST /api/csv returned",
                                    "configure")
            csv = self.uploads.get(request.csv_id)
            if csv is None:
                raise ProtocolError("csv_id", f"unknown or expired CSV id {request.csv_id!r}: upload the file "
                                    "again with POST /api/csv", "configure")
        problems = limits.config_violations(config, csv.n_x if csv is not None else None)
        if problems:
            raise ProtocolError(*problems[0], "configure")
        weights = None
        if request.run_id is not None:
            run_record = await asyncio.to_thread(self.runs.get, request.run_id)
            if run_record is None:
                raise ProtocolError("run_id", f"no saved run with id {request.run_id}", "configure")
            weights = run_record["weights"]
        run.csv = csv
        run.send("configure", config=config, csv=csv, init_parameters=weights)

    async def store(self, record: bytes, reply: Callable[[dict], None]) -> None:
        """A `save` record from the worker into SQLite; replies `saved` (or an error naming `name`)."""
        try:
            run = RunRecord.model_validate_json(record)
            run_id = await asyncio.to_thread(self.runs.save, run)
        except (ValidationError, sqlite3.Error, OSError, ValueError) as exc:
            reply(error_message("name", f"could not save the run: {exc}", "save"))
            return
        reply({"type": "saved", "id": run_id, "name": run.name})
