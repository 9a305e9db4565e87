"""A worker process's side of server/workers.py: its entry point (`python -m server.worker_process
FD`, started by server.workers.Worker.start) and the Outbox its scheduler writes to the main
process with (the framing is server/workers.py's).
"""
from __future__ import annotations

import os
import pickle
import socket
import sys
import time
from multiprocessing.connection import Connection
from typing import Any

from server.memory_trim import Trimmer, fix_mmap_threshold
from server.scheduler import CHUNK_SECONDS, Scheduler
from server.workers import HEAD, LENGTH

_MAX_PARTS = 512  # buffers per sendmsg (the system limit, IOV_MAX, is 1024 on Linux)


def worker_main(conn: Any) -> None:
    """Entry point of a worker process: serve commands and train until the pipe closes.

    Workers keep the event loop's priority: at a lower one (nice 5, tried) every wake-up of the
    relay preempted them, and 100 clients got about a tenth fewer frames (bench/ws_bench.py)."""
    outbox = Outbox(socket.socket(fileno=os.dup(conn.fileno())))
    scheduler = Scheduler(outbox.emit, flush=outbox.flush)
    fix_mmap_threshold()  # large blocks never fragment the heap, and
    trimmer = Trimmer()  # freed heap goes back to the system after sessions end (server/memory_trim.py)
    try:
        while True:
            timeout = trimmer.cap(scheduler.tick())
            if conn.poll(timeout):
                # messages are read until none is left or CHUNK_SECONDS went by, then a tick (the
                # due frames, one turn): commands that run at once (a session's budget allows a
                # burst, server/command_queue.py) never hold the other sessions' frames for long;
                # queued ones cost next to nothing to read, so a `close` is reached at once
                started = time.perf_counter()
                while True:
                    sid, op, args = pickle.loads(conn.recv_bytes())
                    scheduler.handle(sid, op, args)
                    trimmer.saw(op)
                    if not conn.poll(0) or time.perf_counter() - started > CHUNK_SECONDS:
                        break
                outbox.flush()
            trimmer.maybe_trim()
    except (EOFError, OSError, KeyboardInterrupt):
        return  # the main process went away


class Outbox:
    """Worker → main messages, written together: `emit` queues one (Connection framing: 4-byte
    big-endian length, then sid + kind + body) and `flush` sends every queued one with a single
    sendmsg: no copy of the frame bytes, and one wake-up of the main process for several frames."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.parts: list[bytes] = []

    def emit(self, sid: int, kind: bytes, body: bytes) -> None:
        self.parts += (LENGTH.pack(HEAD.size + len(body)) + HEAD.pack(sid, kind[0]), body)

    def flush(self) -> None:
        parts, self.parts = self.parts, []
        while parts:  # a blocking socket, but sendmsg may still send only a part
            sent = self.sock.sendmsg(parts[:_MAX_PARTS])
            while parts and sent >= len(parts[0]):
                sent -= len(parts[0])
                parts.pop(0)
            if sent:
                parts[0] = memoryview(parts[0])[sent:]


if __name__ == "__main__":
    worker_main(Connection(int(sys.argv[1])))
