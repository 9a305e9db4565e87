"""Helpers of the room tests: a real server (`python -m server`) with room options, rooms made
over HTTP, teachers and students joined over real websockets."""
from __future__ import annotations

import time

import httpx
import numpy as np
import pytest

from tests.live_server import free_port, start_server, stop_server
from tests.server.conftest import Client, Server

SMALL = {"data": {"name": "circle", "seed": 2}, "network": {"hidden": [4]}, "epochs": 100000}


def room_server(tmp_path_factory, *args: str):
    port = free_port()
    folder = tmp_path_factory.mktemp("rooms")
    process = start_server(port, folder / "server.log", "--db", str(folder / "runs.sqlite3"), "--workers", "2", *args)
    return Server(process, port, folder / "runs.sqlite3"), process


def make_room(server: Server) -> dict:
    reply = httpx.post(server.http + "/api/rooms", timeout=10)
    assert reply.status_code == 201, reply.text
    return reply.json()


def connect(server: Server, code: str) -> Client:
    return Client(f"ws://127.0.0.1:{server.port}/ws/room/{code}")


def teacher(server: Server, room: dict) -> Client:
    c = connect(server, room["code"])
    c.send({"type": "join", "role": "teacher", "token": room["teacher_token"]})
    joined = c.until("joined")
    assert joined["role"] == "teacher"
    return c


def student(server: Server, room: dict, name=None) -> tuple[Client, dict]:
    c = connect(server, room["code"])
    message = {"type": "join", "role": "student"}
    if name is not None:
        message["name"] = name
    c.send(message)
    return c, c.until("joined")


def frames_for(client: Client, seconds: float, ready: bool = True) -> list[dict]:
    """Frame headers received in `seconds` (answered with `ready` when asked)."""
    headers, deadline = [], time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return headers
        try:
            message = client.recv(timeout=left)
        except TimeoutError:
            return headers
        if isinstance(message, tuple):
            headers.append(message[0])
            if ready:
                client.send({"type": "ready"})


def until_json(client: Client, predicate, timeout: float = 10.0) -> dict:
    """The first JSON message for which predicate(message) holds (frames answered with ready)."""
    deadline = time.monotonic() + timeout
    while True:
        message = client.recv(timeout=max(0.01, deadline - time.monotonic()))
        if isinstance(message, tuple):
            client.send({"type": "ready"})
        elif predicate(message):
            return message


def closed(client: Client, timeout: float = 10.0):
    """Read until the server closes the socket; returns (close code, last JSON messages)."""
    from websockets.exceptions import ConnectionClosed
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = client.recv(timeout=max(0.01, deadline - time.monotonic()))
        except ConnectionClosed as exc:
            return (exc.rcvd.code if exc.rcvd else None), seen
        if not isinstance(message, tuple):
            seen.append(message)
    pytest.fail(f"the socket was not closed within {timeout} s; got {seen[-3:]}")


def run_frame(client: Client, timeout: float = 10.0) -> tuple[dict, dict]:
    """The next frame of a run (a teacher's socket also gets binary thumbnails: skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        header, arrays = client.until("frame", timeout=max(0.01, deadline - time.monotonic()))
        if header["type"] == "frame":
            return header, arrays


def fork_from_the_followed_run(teacher_server: Server, student_server: Server, iteration: int = 40) -> None:
    """A student (on `student_server`) follows the teacher's run (on `teacher_server`) to
    `iteration`, then forks it: the own run starts from the exact state of the last frame it saw
    (same W, b and iteration) and its next 5 steps are the teacher's (the optimizer state came along)."""
    room = make_room(teacher_server)
    t = teacher(teacher_server, room)
    t.configure(**SMALL, optimizer={"name": "adam", "learning_rate": 0.01})
    s, _ = student(student_server, room)
    t.send({"type": "step", "n": iteration})
    last, last_arrays = None, None
    deadline = time.monotonic() + 10
    while last is None or last["iteration"] < iteration:
        assert time.monotonic() < deadline
        last, last_arrays = s.until("frame")
    s.send({"type": "fork"})
    mode = until_json(s, lambda m: m["type"] == "mode")
    assert mode["mode"] == "own" and mode["forked"] is True
    state = until_json(s, lambda m: m["type"] == "state")
    header, arrays = s.until("frame")
    assert state["iteration"] == header["iteration"] == iteration
    for name in ("W1", "b1", "W2", "b2"):
        assert np.array_equal(arrays[name], last_arrays[name]), name
    s.send({"type": "step", "n": 5})
    t.send({"type": "step", "n": 5})
    mine = s.until("frame")[1]
    teachers = run_frame(t)
    deadline = time.monotonic() + 10
    while teachers[0]["iteration"] < iteration + 5:
        assert time.monotonic() < deadline
        teachers = run_frame(t)
    assert np.allclose(mine["W1"], teachers[1]["W1"])
    t.close(), s.close()


def redis_pair(tmp_path_factory, redis_port: int, *args: str):
    """(A fixture's body.) Two server processes sharing rooms on the Redis at `redis_port`, with
    one worker each and `args`; yields the two Servers and stops them afterwards."""
    url = f"redis://127.0.0.1:{redis_port}/0"
    started = [room_server(tmp_path_factory, "--redis", url, "--workers", "1", *args) for _ in range(2)]
    yield [server for server, _ in started]
    for _, process in started:
        stop_server(process)


def data_and_state(client: Client, predicate=lambda m: True, timeout: float = 10.0) -> tuple[dict, dict]:
    """The first `state` for which predicate holds and the `data` message received last before it
    (a run's points come once, before its first `state`, to every viewer: docs/protocol.md)."""
    data, deadline = None, time.monotonic() + timeout
    while True:
        message = until_json(client, lambda m: m["type"] in ("data", "state"), max(0.01, deadline - time.monotonic()))
        if message["type"] == "data":
            data = message
        elif predicate(message):
            assert data is not None, "a run's state came without its data before it"
            assert "data" not in message  # the points are not repeated in the state
            return data, message
