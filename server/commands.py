"""The playground's training commands (/ws messages, docs/protocol.md), checked against the
server's limits and sent to a LiveRun's worker session. Shared by /ws and a room's teacher and
own-mode students, so every socket that trains a run obeys exactly the same rules."""
from __future__ import annotations

import asyncio
import json
import sqlite3
from typing import Callable

from pydantic import ValidationError

from server import limits
from server.live_run import LiveRun
from server.protocol import Configure, ProtocolError, Save, error_message
from server.runs import RunRecord, RunStore, history_csv
from server.uploads import CsvUploads


class TrainingCommands:
    def __init__(self, uploads: CsvUploads, runs: RunStore):
        self.uploads, self.runs = uploads, runs

    async def forward(self, run: LiveRun, request) -> None:
        """One validated /ws message (not `ready`: that is the viewer's flow control)."""
        if isinstance(request, Configure):
            await self._configure(run, request)
        elif isinstance(request, Save):
            run.send("save", name=request.name, store=request.store)
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
        if csv is not None:  # the config itself was checked against the limits when it was parsed
            problems = limits.config_violations(config, csv.n_x)
            if problems:
                raise ProtocolError(*problems[0], "configure")
        saved = None
        if request.run_id is not None:
            saved = await asyncio.to_thread(self.runs.get, request.run_id)
            if saved is None:
                raise ProtocolError("run_id", f"no saved run with id {request.run_id}", "configure")
        run.csv = csv
        if saved is None:
            run.send("configure", config=config, csv=csv)
        else:  # the saved weights, and the run carries on from its iteration with its curves
            run.send("configure", config=config, csv=csv, init_parameters=saved["weights"],
                     saved={"history": saved["history"], "summary": saved["summary"]})

    async def store(self, body: bytes, reply: Callable[[dict], None]) -> None:
        """A `save` from the worker ({"store", "record"}): into SQLite, replying `saved`, or when
        store is false straight back as `record` (an error names `name` either way)."""
        try:
            saved = json.loads(body)
            run = RunRecord.model_validate(saved["record"])
            if not saved["store"]:
                reply({"type": "record", "name": run.name, "record": run.model_dump(mode="json"),
                       "history_csv": history_csv(run.history)})
                return
            run_id = await asyncio.to_thread(self.runs.save, run)
        except (ValidationError, sqlite3.Error, OSError, ValueError) as exc:
            reply(error_message("name", f"could not save the run: {exc}", "save"))
            return
        reply({"type": "saved", "id": run_id, "name": run.name})
