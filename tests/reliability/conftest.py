"""The reliability suite (issue #12): each attack of a hostile client, re-run against the real
server (`python -m server` in a subprocess, real sockets), with bounded loops and time.

Each module gets its own server (attacks may load it), whose log is kept to check that no
traceback was printed."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.server.conftest import ALLOWED_ORIGIN, Client, Server, running_server

__all__ = ["ALLOWED_ORIGIN", "Client", "Server", "running_server", "tracebacks"]


def tracebacks(server: Server) -> list[str]:
    """The lines of the server's log that start a Python traceback or an unretrieved task error."""
    text = Path(server.log).read_text(errors="replace")
    return [line for line in text.splitlines()
            if line.startswith("Traceback") or "exception was never retrieved" in line]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Server:
    with running_server(tmp_path_factory.mktemp("reliability")) as srv:
        yield srv
