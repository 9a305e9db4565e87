"""Lab rooms (a room made with {"kind": "lab"}: the optimizer race for a class) against the real
server over real websockets: followers get the teacher's race, follow refuses race commands,
fork, own mode, pause, spotlight, roster, close, and a stalled follower does not slow the teacher
(docs/protocol.md "Rooms", docs/lab.md "Lab rooms")."""
from __future__ import annotations

import time

import httpx
import pytest

from tests.server.rooms_helpers import closed, connect, room_server

QUAD = {"name": "quadratic", "condition": 20, "rotation": 30}
RACERS = [{"id": "gd", "name": "gd", "learning_rate": 0.02},
          {"id": "adam", "name": "adam", "learning_rate": 0.05}]
CONFIGURE = {"type": "configure", "surface": QUAD, "optimizers": RACERS, "tolerance": 1e-12, "max_steps": 20000}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server, process = room_server(tmp_path_factory)
    yield server
    from tests.live_server import stop_server
    stop_server(process)


def lab_room(server) -> dict:
    reply = httpx.post(server.http + "/api/rooms", json={"kind": "lab"}, timeout=10)
    assert reply.status_code == 201, reply.text
    return reply.json()


def until(client, kind: str, timeout: float = 10.0, seen: list | None = None) -> dict:
    """The next JSON message of `kind` (lab frames are JSON too); the others go to `seen`."""
    deadline = time.monotonic() + timeout
    while True:
        message = client.recv(timeout=max(0.01, deadline - time.monotonic()))
        assert not isinstance(message, tuple), "a lab room sends no binary frames"
        if message["type"] == kind:
            return message
        if seen is not None:
            seen.append(message)


def join(server, room, role="student", name=None):
    c = connect(server, room["code"])
    message = {"type": "join", "role": role}
    if role == "teacher":
        message["token"] = room["teacher_token"]
    elif name is not None:
        message["name"] = name
    c.send(message)
    return c, until(c, "joined")


def frames(client, seconds: float) -> list[dict]:
    out, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = client.recv(timeout=left)
        except TimeoutError:
            break
        if message["type"] == "frame":
            out.append(message)
    return out


def pause_and_check(teacher, student) -> None:
    """Pause: the student is frozen with the teacher's message, its race commands are refused
    naming the mode, and the teacher's play sends it no frame."""
    teacher.send({"type": "mode", "mode": "paused", "message": "Eyes on the projector"})
    paused = until(student, "mode")
    assert paused["mode"] == "paused" and paused["message"] == "Eyes on the projector"
    student.send({"type": "play"})
    assert "paused mode" in until(student, "error")["message"]
    teacher.send({"type": "play"})
    assert not frames(student, 0.5)


def shut(*clients) -> None:
    """Close without waiting for the server's close frame behind unread frames (and the 10 s
    close timeout of a client whose queue is full)."""
    for c in clients:
        c.ws.close_timeout = 0.2
        c.close()


class Paths:
    """A client's paths rebuilt from its frames (`points_from`: where the new points go)."""

    def __init__(self):
        self.points: dict[str, list] = {}
        self.costs: dict[str, list] = {}
        self.seq = None

    def add(self, frame: dict) -> None:
        for path in frame["paths"]:
            have = self.points.setdefault(path["id"], [])
            costs = self.costs.setdefault(path["id"], [])
            assert path["points_from"] in (0, len(have)), (path["points_from"], len(have))
            assert len(path["costs"]) == len(path["points"])
            del have[path["points_from"]:], costs[path["points_from"]:]
            have.extend(path["points"])
            costs.extend(path["costs"])
        self.seq = frame["seq"]


def replayed_race(server_t, server_s, room):
    """The teacher steps 30, then drags the adam racer's α (replay); returns (teacher's paths,
    the follower's paths, the follower's frame that carried the replay)."""
    t, _ = join(server_t, room, "teacher")
    s, _ = join(server_s, room)
    t.send(CONFIGURE)
    t.send({"type": "step", "n": 30})
    mine, theirs = Paths(), Paths()
    for client, paths in ((t, mine), (s, theirs)):
        frame = until(client, "frame")
        paths.add(frame)
        while frame["step"] < 30:
            frame = until(client, "frame")
            paths.add(frame)
    t.send({"type": "set", "id": "adam", "learning_rate": 0.2, "replay": True})
    replays = {}
    for client, paths in ((t, mine), (s, theirs)):
        frame = until(client, "frame")
        paths.add(frame)
        replays[client] = frame
    shut(t, s)
    return mine, theirs, replays[s]


def test_kind_is_chosen_at_creation_and_checked(srv):
    room = lab_room(srv)
    assert room["kind"] == "lab"
    assert httpx.post(srv.http + "/api/rooms", timeout=10).json()["kind"] == "playground"
    bad = httpx.post(srv.http + "/api/rooms", json={"kind": "chess"}, timeout=10)
    assert bad.status_code == 400 and "playground, lab" in bad.json()["detail"]
    page = httpx.get(f"{srv.http}/room/{room['code']}", timeout=10).text
    assert "/static/js/room/main.js" in page and 'data-kind="lab"' in page and 'id="race-plot"' in page


def test_followers_get_the_teachers_race(srv):
    room = lab_room(srv)
    t, joined = join(srv, room, "teacher")
    assert joined["role"] == "teacher" and joined["mode"] == "follow"
    s, joined = join(srv, room, name="Ann")
    t.send(CONFIGURE)
    surface = until(s, "surface")
    assert surface["name"] == "quadratic" and surface["params"]["condition"] == 20
    state = until(s, "state")
    assert [o["id"] for o in state["optimizers"]] == ["gd", "adam"]
    t.send({"type": "speed", "steps_per_frame": 5})
    t.send({"type": "play"})
    got = frames(s, 1.5)
    assert len(got) >= 10 and got[-1]["step"] > got[0]["step"]
    mine = Paths()
    for frame in got:
        mine.add(frame)
    assert len(mine.points["gd"]) == got[-1]["paths"][0]["steps"] + 1  # every point, in order
    # A late joiner gets the race so far: the replayed surface and state, then whole paths.
    late, _ = join(srv, room)
    assert until(late, "surface")["name"] == "quadratic"
    first = until(late, "frame")
    assert first["paths"][0]["points_from"] == 0 and len(first["paths"][0]["points"]) > 1
    # Race commands while following: refused, naming the mode; the teacher's race goes on.
    s.send({"type": "pause"})
    error = until(s, "error")
    assert error["request_type"] == "pause" and "follow mode" in error["message"]
    s.send({"type": "mode", "mode": "own"})
    assert "only the teacher" in until(s, "error")["message"]
    assert frames(s, 0.3)[-1]["status"] == "running"
    shut(t, s, late)


def test_fork_takes_the_teachers_settings_into_an_own_race(srv):
    room = lab_room(srv)
    t, _ = join(srv, room, "teacher")
    s, _ = join(srv, room)
    t.send(CONFIGURE)
    t.send({"type": "set", "id": "adam", "learning_rate": 0.2})  # a live change is part of the settings
    t.send({"type": "step", "n": 40})
    until(s, "frame")
    s.send({"type": "fork"})
    mode = until(s, "mode")
    assert mode["mode"] == "own" and mode["forked"] is True
    assert until(s, "surface")["params"]["condition"] == 20
    state = until(s, "state")
    assert state["step"] == 0 and state["status"] == "ready"
    assert {o["id"]: o["learning_rate"] for o in state["optimizers"]} == {"gd": 0.02, "adam": 0.2}
    s.send({"type": "step", "n": 3})
    frame = until(s, "frame", seen=[])
    while frame["step"] != 3:
        frame = until(s, "frame")
    t.send({"type": "step", "n": 1})
    frame = until(t, "frame")
    while frame["step"] < 41:
        frame = until(t, "frame")
    assert frame["step"] == 41  # the teacher's race did not move with the student's
    # The roster sums the student's race up.
    roster = until(t, "roster")
    entry = roster["students"][0]
    assert entry["mode"] == "own" and entry["iteration"] == 3
    assert [(r["id"], r["steps"]) for r in entry["race"]] == [("gd", 3), ("adam", 3)]
    assert all(isinstance(r["cost"], float) for r in entry["race"])
    shut(t, s)


def test_own_mode_pause_spotlight_and_close(srv):
    room = lab_room(srv)
    t, _ = join(srv, room, "teacher")
    t.send(CONFIGURE)
    ann, ann_joined = join(srv, room, name="Ann")
    bob, _ = join(srv, room, name="Bob")
    t.send({"type": "mode", "mode": "own"})
    assert until(ann, "mode")["mode"] == "own" and until(bob, "mode")["mode"] == "own"
    ann.send({**CONFIGURE, "surface": {"name": "rosenbrock"}})
    assert until(ann, "surface")["name"] == "rosenbrock"
    ann.send({"type": "step", "n": 5})
    assert until(ann, "frame")["step"] in (0, 5)
    pause_and_check(t, bob)
    # spotlight Ann's race: followers watch it
    t.send({"type": "mode", "mode": "follow"})
    until(bob, "mode")
    t.send({"type": "spotlight", "student_id": ann_joined["student_id"]})
    spot = until(bob, "spotlight")
    assert spot["student_id"] == ann_joined["student_id"] and spot["name"] == "Ann"
    assert until(bob, "surface")["name"] == "rosenbrock"
    assert until(bob, "frame")["paths"][0]["points_from"] == 0
    t.send({"type": "spotlight", "student_id": None})
    until(bob, "spotlight")
    assert until(bob, "surface")["name"] == "quadratic"
    # close
    t.send({"type": "close_room"})
    assert until(bob, "closed")["reason"]
    code, _ = closed(bob)
    assert code == 1000
    shut(t, ann, bob)


def test_stalled_followers_do_not_slow_the_teacher(srv):
    room = lab_room(srv)
    t, _ = join(srv, room, "teacher")
    t.send({**CONFIGURE, "surface": {"name": "logistic", "batch_size": 8}, "resolution": 200})
    t.send({"type": "speed", "steps_per_frame": 20})
    t.send({"type": "play"})
    mine = Paths()
    for frame in frames(t, 1.0):
        mine.add(frame)
    alone = frames(t, 2.0)
    stalled = [join(srv, room)[0] for _ in range(4)]  # they never read again
    with_stalled = frames(t, 2.0)
    assert len(with_stalled) >= 0.8 * len(alone), (len(alone), len(with_stalled))
    assert with_stalled[-1]["step"] > alone[-1]["step"]
    # A stalled follower reading again catches up on the newest race, its paths whole and right.
    t.send({"type": "pause"})
    until(t, "state")
    for frame in alone + with_stalled:
        mine.add(frame)
    while last := frames(t, 0.5):  # every frame after the pause (the paused one may be late on a busy machine)
        for frame in last:
            mine.add(frame)
    theirs = Paths()
    for frame in frames(stalled[0], 2.0):
        theirs.add(frame)
    assert theirs.seq == mine.seq
    assert theirs.points == mine.points
    shut(t, *stalled)


def test_lab_rooms_are_made_where_rooms_are_shared_on_redis():
    """With --redis a lab room is made like a playground room (tests/server/test_lab_rooms_redis.py
    runs one across two processes)."""
    from types import SimpleNamespace

    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from server import room_routes
    kinds = []

    async def create(kind):
        kinds.append(kind)
        return "ABC123", "token"

    app = FastAPI()
    app.include_router(room_routes.router)
    app.state.rooms = SimpleNamespace(remote=object(), create=create)  # a RoomManager started with --redis
    with TestClient(app) as client:
        reply = client.post("/api/rooms", json={"kind": "lab"})
    assert reply.status_code == 201 and reply.json()["kind"] == "lab" and kinds == ["lab"]


def test_followers_get_a_replayed_path_whole(srv):
    room = lab_room(srv)
    mine, theirs, frame = replayed_race(srv, srv, room)
    adam = {p["id"]: p for p in frame["paths"]}["adam"]
    assert adam["points_from"] == 0 and len(adam["points"]) == 31 and adam["learning_rate"] == 0.2
    assert {p["id"]: p for p in frame["paths"]}["gd"]["points"] == []  # the other racer: nothing new
    assert theirs.points == mine.points and theirs.costs == mine.costs
    # Adam's first step at α = 0.2 moves each coordinate by ≈ α against its gradient's sign
    assert theirs.points["adam"][1] == pytest.approx([-1.8 + 0.2, 0.9 - 0.2], abs=1e-6)
