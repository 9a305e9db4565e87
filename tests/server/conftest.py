"""Fixtures: a real server (`python -m server` on a free loopback port) for websocket tests, an
in-process TestClient for HTTP routes, and a small frame decoder written from docs/protocol.md
(independent of server/frames.py, so an encoder bug cannot hide behind its own decoder)."""
from __future__ import annotations

import json
import struct
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import numpy as np
import pytest
from websockets.sync.client import connect

from tests.live_server import free_port, start_server, stop_server

ALLOWED_ORIGIN = "http://allowed.example:9999"


def decode_frame(data: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """Binary frame → (header, {name: float32 array}) following docs/protocol.md: float32 arrays
    as they are; each image of a uint8 array decodes to lo + q (hi - lo) / 255."""
    assert data[:4] == b"NNPF", "bad magic"
    (length,) = struct.unpack("<I", data[4:8])
    header = json.loads(data[8:8 + length].decode("utf-8"))
    start = 8 + length
    start += -start % 4  # zero padding to a multiple of 4
    assert set(data[8 + length:start]) <= {0}
    arrays = {}
    for name, meta in header["arrays"].items():
        shape = meta["shape"]
        count = int(np.prod(shape))
        if meta["dtype"] == "float32":
            assert meta["offset"] % 4 == 0
            arrays[name] = np.frombuffer(data, dtype="<f4", count=count, offset=start + meta["offset"]).reshape(shape).copy()
            continue
        assert meta["dtype"] == "uint8"
        q = np.frombuffer(data, dtype=np.uint8, count=count, offset=start + meta["offset"])
        images = len(meta["lo"])
        assert images == (shape[0] if len(shape) == 3 else 1) and len(meta["hi"]) == images
        lo = np.array(meta["lo"], dtype=np.float32).reshape(images, 1)
        hi = np.array(meta["hi"], dtype=np.float32).reshape(images, 1)
        values = lo + q.reshape(images, -1).astype(np.float32) * ((hi - lo) / 255) if count else q.astype(np.float32)
        arrays[name] = values.reshape(shape)
    return header, arrays


class Client:
    """A websocket client with timeouts: frames are decoded, JSON messages parsed."""

    def __init__(self, url: str, **kwargs):
        self.ws = connect(url, open_timeout=10, max_size=None, proxy=None, compression=None, **kwargs).__enter__()

    def send(self, message: dict | str) -> None:
        self.ws.send(message if isinstance(message, str) else json.dumps(message))

    def recv(self, timeout: float = 10.0):
        data = self.ws.recv(timeout=timeout)
        if isinstance(data, bytes):
            return decode_frame(data)
        return json.loads(data)

    def until(self, kind: str, timeout: float = 10.0, ready: bool = True):
        """Read until a message of `kind` ('frame' or a JSON type); answer frames with `ready`."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.recv(timeout=max(0.01, deadline - time.monotonic()))
            if isinstance(message, tuple):
                if ready:
                    self.send({"type": "ready"})
                if kind == "frame":
                    return message
            elif message["type"] == kind:
                return message

    def configure(self, **config) -> tuple[dict, tuple]:
        config.setdefault("epochs", 100000)
        self.send({"type": "configure", "config": config})
        state = self.until("state")
        frame = self.until("frame")
        return state, frame

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Server:
    def __init__(self, process: subprocess.Popen, port: int, db: Path):
        self.process, self.port, self.db = process, port, db
        self.http = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}/ws"

    def client(self, **kwargs) -> Client:
        return Client(self.ws_url, **kwargs)

    def health(self) -> dict:
        return httpx.get(self.http + "/healthz", timeout=10).json()

    def wait_idle(self, timeout: float = 5.0) -> dict:
        """/healthz once no connection and no worker session is left (or the last reading)."""
        deadline = time.monotonic() + timeout
        while True:
            health = self.health()
            idle = health["connections"] == 0 and all(w["sessions"] == 0 for w in health["workers"])
            if idle or time.monotonic() > deadline:
                return health
            time.sleep(0.05)

    def threads(self) -> int:
        with open(f"/proc/{self.process.pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("Threads:"))


@contextmanager
def running_server(folder: Path, workers: int = 2) -> Iterator[Server]:
    """`python -m server` with its database and log (`.log`) in `folder`, ALLOWED_ORIGIN allowed."""
    port = free_port()
    db, log = folder / "runs.sqlite3", folder / "server.log"
    process = start_server(port, log, "--db", str(db), "--workers", str(workers), "--allow-origin", ALLOWED_ORIGIN)
    srv = Server(process, port, db)
    srv.log = log
    try:
        yield srv
    finally:
        stop_server(process)


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    with running_server(tmp_path_factory.mktemp("runs")) as srv:
        srv.first_line = srv.log.read_text().partition("\n")[0] + "\n"  # what `python -m server` prints first
        yield srv


@pytest.fixture()
def client(server):
    with server.client() as c:
        yield c


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory) -> int:
    """A throwaway redis-server (tests/redis_server.py) for one test module: its port."""
    from tests.redis_server import start_redis, stop_redis

    process, port = start_redis(tmp_path_factory.mktemp("redis"))
    yield port
    stop_redis(process)
