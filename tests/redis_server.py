"""A real `redis-server` for the tests of rooms across server processes: started on a free
loopback port in a temporary folder, without persistence, and stopped afterwards.

Where the binary is missing the tests are skipped with the reason, except in CI (env CI=true),
where `.ci/run` installs Debian's redis-server and a missing one is a failure."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tests.live_server import free_port, stop_process, wait_until


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        message = "redis-server is not installed (Debian: apt-get install redis-server; .ci/run installs it)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + " — required in CI")
        pytest.skip(message)
    return found


def start_redis(folder: Path, timeout: float = 10.0) -> tuple[subprocess.Popen, int]:
    binary, port = redis_binary(), free_port()
    log = folder / "redis.log"
    with open(log, "w") as out:
        process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                                    "no", "--dir", str(folder)], cwd=folder, stdout=out, stderr=subprocess.STDOUT)

    def pong() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")

    return wait_until(process, pong, log, "redis-server did not answer", timeout, 0.05), port


stop_redis = stop_process
