"""Worker processes that host the training sessions; the event loop only relays bytes.

Why processes: small-matrix NumPy holds the GIL most of the time, so training threads would
share about one core. Each worker (one per core by default) runs a server.scheduler.Scheduler
for many sessions. Main ↔ worker traffic goes over one socket pair per worker, in the framing of
multiprocessing.Connection (4-byte big-endian length + body) so the worker can use
Connection.send_bytes / recv_bytes / poll and the main process asyncio streams:
- main → worker: pickle of (sid, op, args);
- worker → main: 4-byte little-endian sid, 1-byte kind (T text, F frame, S saved-run record,
  I info, X exported session state), then the body, already the bytes the client gets (text JSON or a binary frame).
This module is the main process's side (Worker, WorkerPool); the worker process's own side (its
entry point, `python -m server.worker_process FD`, and its Outbox) is server/worker_process.py.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import pickle
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional, Protocol

from server.scheduler import EXPORT, FRAME, INFO, SAVE, TEXT

log = logging.getLogger("nn_playground.workers")
HEAD = struct.Struct("<IB")  # worker → main: sid, kind (written by server/worker_process.py's Outbox)
LENGTH = struct.Struct("!i")  # multiprocessing.Connection framing
_INFO_IDS = 1 << 31
# Sessions of one affinity (a room's class) per worker before the next worker takes some: a
# batch of 16 already amortizes a step's or a frame's per-call cost (bench/batched_bench.py).
AFFINITY_BATCH = 16
# The workers' environment, tuned for many small networks (measured with bench/ws_bench.py):
# - glibc malloc serves blocks >= 128 KiB with fresh mmap pages and hands freed heap tops back to
#   the system: every frame's grid pass (float32 arrays of ~330 KB) then page-faulted its memory
#   anew, which more than doubled its cost. Workers keep such blocks on the heap for reuse
#   (ignored by other C libraries); worst case, a worker keeps MALLOC_TRIM_THRESHOLD_ of freed
#   memory beyond what its sessions hold.
# - one BLAS thread per worker: the workers already take one core each, and the server's networks
#   are small (server/limits.py), so OpenBLAS's helper threads only woke up, or spun, on the core
#   another worker (or the event loop) needed. In one worker process hosting 50 sessions of the
#   benchmark (bench/ws_bench.py's network), one thread gave 7-33 % more frames in 3 of 3 paired runs.
WORKER_ENV = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(128 << 20),
              "OPENBLAS_NUM_THREADS": "1"}


class Sink(Protocol):
    """What a worker's output is delivered to (server.live_run.LiveRun)."""

    def on_text(self, text: str) -> None: ...
    def on_frame(self, frame: bytes) -> None: ...
    def on_save(self, record: bytes) -> None: ...
    def on_export(self, state: bytes) -> None: ...


def command_bytes(sid: int, op: str, args: dict) -> bytes:
    """A main → worker message: 4-byte big-endian length + pickle of (sid, op, args)."""
    body = pickle.dumps((sid, op, args), protocol=pickle.HIGHEST_PROTOCOL)
    return struct.pack("!i", len(body)) + body


class Worker:
    """The main process's handle on one worker process."""

    def __init__(self, index: int):
        self.index = index
        self.sessions: set[int] = set()
        self.process: Optional[subprocess.Popen] = None
        self.started = 0.0
        self.writer: Optional[asyncio.StreamWriter] = None
        self.reader_task: Optional[asyncio.Task] = None
        self._pending: list[bytes] = []  # messages written at the end of this event-loop turn

    async def start(self, pool: "WorkerPool") -> None:
        # A plain subprocess (not multiprocessing's spawn): it never re-imports the caller's
        # __main__, so any script, test runner or server can create the app.
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server.worker_process", str(theirs.fileno())],
            pass_fds=[theirs.fileno()], cwd=str(Path(__file__).resolve().parent.parent),
            env={**os.environ, **WORKER_ENV},
        )
        theirs.close()
        self.started = time.monotonic()
        self._pending = []  # not for this process: a restarted worker starts with `open`s
        reader, self.writer = await asyncio.open_unix_connection(sock=ours)
        self.reader_task = asyncio.create_task(pool._read(self, reader))

    def send(self, sid: int, op: str, args: dict) -> None:
        self.write(command_bytes(sid, op, args))

    def write(self, message: bytes) -> None:
        """Send a message built by command_bytes. Messages of one event-loop turn (e.g. the `want`s
        of many clients' `ready`s) go out in one write: one system call, one worker wake-up."""
        if self.writer is None or self.writer.is_closing():
            return
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        self._pending.append(message)

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending and self.writer is not None and not self.writer.is_closing():
            self.writer.write(b"".join(pending))

    async def stop(self) -> None:
        """Closing the socket ends the worker (it reads EOF); killed if it does not exit."""
        if self.writer is not None:
            self.writer.close()
        if self.reader_task is not None and self.reader_task is not asyncio.current_task():
            self.reader_task.cancel()
        if self.process is not None:
            for _ in range(40):
                if self.process.poll() is not None:
                    break
                await asyncio.sleep(0.05)
            else:
                self.process.kill()
                self.process.wait()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class WorkerPool:
    """Places each session on the least busy worker and routes the worker's output to its sink.

    Sessions opened with the same `affinity` (a classroom room's students' runs) are kept together
    in batches of AFFINITY_BATCH per worker, where batch-compatible ones are trained as one
    (server/batching.py): the first picks the least busy worker, the next ones fill it up to
    AFFINITY_BATCH, then the next worker, then the first again up to 2 x AFFINITY_BATCH, ...; so a
    small class is one batch on one worker and a large one is spread over every core (100
    students on 2 workers: 2 batches of ~50, and twice the CPU a single worker can have)."""

    def __init__(self, count: int, fps: int, steps_per_frame: Optional[int]):
        self.workers = [Worker(i) for i in range(count)]
        self.fps, self.steps_per_frame = fps, steps_per_frame
        self.sinks: dict[int, Sink] = {}
        self.placement: dict[int, Worker] = {}
        self._wants: dict[int, bytes] = {}  # sid -> its `want` message, built once (one per frame)
        self._ids = itertools.count(1)
        self._info: dict[int, asyncio.Future] = {}
        self._closing = False
        self._affinity: dict[str, dict[Worker, set[int]]] = {}  # affinity -> worker -> its sessions there
        self._affinity_of: dict[int, str] = {}

    async def start(self) -> None:
        for worker in self.workers:
            await worker.start(self)

    async def stop(self) -> None:
        self._closing = True
        for worker in self.workers:
            await worker.stop()

    @property
    def session_count(self) -> int:
        return len(self.sinks)

    def open(self, sink: Sink, affinity: Optional[str] = None) -> int:
        sid = next(self._ids)
        if affinity is None:
            worker = min(self.workers, key=lambda w: len(w.sessions))
        else:
            held = self._affinity.setdefault(affinity, {})

            def fill(w: Worker) -> tuple:  # the fullest worker below the lowest AFFINITY_BATCH level
                n = len(held.get(w, ()))
                return n // AFFINITY_BATCH, -n, len(w.sessions)

            worker = min(self.workers, key=fill)
            held.setdefault(worker, set()).add(sid)
            self._affinity_of[sid] = affinity
        worker.sessions.add(sid)
        self.sinks[sid] = sink
        self.placement[sid] = worker
        worker.send(sid, "open", {"fps": self.fps, "steps_per_frame": self.steps_per_frame})
        return sid

    def send(self, sid: int, op: str, **args: Any) -> None:
        worker = self.placement.get(sid)
        if worker is not None:
            worker.send(sid, op, args)

    def want(self, sid: int) -> None:
        """The connection can take a frame (sent once per frame: its bytes are kept per session)."""
        worker = self.placement.get(sid)
        if worker is not None:
            message = self._wants.get(sid)
            if message is None:
                message = self._wants[sid] = command_bytes(sid, "want", {})
            worker.write(message)

    def close(self, sid: int) -> None:
        worker = self.placement.pop(sid, None)
        self.sinks.pop(sid, None)
        self._wants.pop(sid, None)
        affinity = self._affinity_of.pop(sid, None)
        if affinity is not None:
            held = self._affinity[affinity]
            held[worker].discard(sid)
            if not held[worker]:
                del held[worker]
            if not held:
                del self._affinity[affinity]
        if worker is not None:
            worker.sessions.discard(sid)
            worker.send(sid, "close", {})

    async def stats(self) -> list[dict]:
        """Per worker: pid, alive, sessions the main process placed there, sessions the worker holds."""
        out = []
        for worker in self.workers:
            key = _INFO_IDS + worker.index  # session ids stay far below
            future = asyncio.get_running_loop().create_future()
            self._info[key] = future
            worker.send(key, "stats", {})
            try:
                info = await asyncio.wait_for(future, timeout=5)
            except asyncio.TimeoutError:
                info = {"sessions": None}
            finally:
                self._info.pop(key, None)
            out.append({"pid": worker.process.pid if worker.process else None, "alive": worker.alive,
                        "placed": len(worker.sessions), "sessions": info["sessions"],
                        "batched": info.get("batched")})
        return out

    async def _read(self, worker: Worker, reader: asyncio.StreamReader) -> None:
        try:
            while True:  # length + sid + kind first, then the body as its own bytes (no copy)
                head = await reader.readexactly(LENGTH.size + HEAD.size)
                (length,) = LENGTH.unpack_from(head)
                sid, kind = HEAD.unpack_from(head, LENGTH.size)
                body = await reader.readexactly(length - HEAD.size) if length > HEAD.size else b""
                self._deliver(sid, kind, body)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        if not self._closing:
            await self._restart(worker)

    def _deliver(self, sid: int, kind: int, body: bytes) -> None:
        if kind == INFO[0]:
            future = self._info.get(sid)
            if future is not None and not future.done():
                future.set_result(json.loads(body))
            return
        sink = self.sinks.get(sid)
        if sink is None:
            return  # the connection closed meanwhile
        if kind == FRAME[0]:
            sink.on_frame(body)
        elif kind == TEXT[0]:
            sink.on_text(body.decode())
        elif kind == SAVE[0]:
            sink.on_save(body)
        elif kind == EXPORT[0]:
            sink.on_export(body)

    async def _restart(self, worker: Worker) -> None:
        """A worker died (e.g. killed): its sessions are lost; tell their clients, start a new one."""
        lived = time.monotonic() - worker.started
        log.error("training worker %d stopped unexpectedly after %.1f s; restarting it", worker.index, lived)
        lost = list(worker.sessions)
        await worker.stop()
        if lived < 1.0:
            await asyncio.sleep(2.0)  # crashing at start-up: do not spin
        await worker.start(self)
        for sid in lost:
            worker.send(sid, "open", {"fps": self.fps, "steps_per_frame": self.steps_per_frame})
            sink = self.sinks.get(sid)
            if sink is not None:
                sink.on_text('{"type":"error","field":"","message":"the training worker stopped '
                             'unexpectedly: send configure again","request_type":null}')
