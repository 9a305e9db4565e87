"""The real server in a subprocess, for the websocket and browser tests: `python -m server` from
this checkout on a free loopback port, started and stopped the same way everywhere."""
from __future__ import annotations

import os
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


def start_server(port: int, log: Path, *args: str, timeout: float = 30.0,
                 root: Path = ROOT, env: dict | None = None) -> subprocess.Popen:
    """`python -m server --port PORT *args`, its output in `log`; returns once /healthz answers 200.
    RuntimeError (with the log's tail) if the server exits or does not answer within `timeout`.
    `root`: another checkout to run instead of this one (e.g. a git worktree of an older revision,
    bench/paint_bench.py): its directory is the child's cwd and comes first on its PYTHONPATH.
    `env`: variables set for the child on top of this process's environment."""
    if Path(root).resolve() != ROOT:
        env = {**(env or {}), "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    env = {**os.environ, **env} if env else None
    with open(log, "w") as out:  # the child keeps its own copy of the file descriptor
        process = subprocess.Popen([sys.executable, "-m", "server", "--port", str(port), *args],
                                   cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)

    def healthy() -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as reply:
            return reply.status == 200

    return wait_until(process, healthy, log, "the server did not answer /healthz", timeout, 0.1)


def wait_until(process: subprocess.Popen, answers, log: Path, failure: str, timeout: float,
               interval: float) -> subprocess.Popen:
    """Poll `answers()` (an OSError counts as no) until it is true; returns the process. Kills it and
    raises RuntimeError(failure + the log's tail) if it exits or `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if answers():
                return process
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process, grace=0)
            raise RuntimeError(f"{failure}: " + Path(log).read_text()[-2000:])
        time.sleep(interval)


def stop_process(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds (at once with grace=0)."""
    if grace:
        process.terminate()
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            pass
    process.kill()
    process.wait()


stop_server = stop_process
