"""The real server in a subprocess, for the websocket and browser tests: `python -m server` from
this checkout on a free loopback port, started and stopped the same way everywhere."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, log: Path, *args: str, timeout: float = 30.0) -> subprocess.Popen:
    """`python -m server --port PORT *args`, its output in `log`; returns once /healthz answers 200.
    RuntimeError (with the log's tail) if the server exits or does not answer within `timeout`."""
    with open(log, "w") as out:  # the child keeps its own copy of the file descriptor
        process = subprocess.Popen([sys.executable, "-m", "server", "--port", str(port), *args],
                                   cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as reply:
                if reply.status == 200:
                    return process
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise RuntimeError("the server did not answer /healthz: " + Path(log).read_text()[-2000:])
        time.sleep(0.1)


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
