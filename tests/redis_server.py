"""A real `redis-server` for the tests of rooms across server processes: started on a free
loopback port in a temporary folder, without persistence, and stopped afterwards.

Where the binary is missing the tests are skipped with the reason, except in CI (env CI=true),
where `.ci/run` installs Debian's redis-server and a missing one is a failure."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.live_server import free_port


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
    log = open(folder / "redis.log", "w")
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--dir", str(folder)], cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return process, port
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise RuntimeError("redis-server did not answer: " + (folder / "redis.log").read_text()[-2000:])
        time.sleep(0.05)


def stop_redis(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
