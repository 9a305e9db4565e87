"""A lab room across two server processes on a real Redis (docs/lab.md "Lab rooms",
docs/protocol.md "Rooms across processes"): the room is made on process 1, where its teacher's
race runs; students on process 2 follow a mirror of it (the race's replay with whole paths, then
the relayed frames), fork it with the teacher's settings, and get pause and close."""
from __future__ import annotations

import pytest

from tests.server.rooms_helpers import closed, redis_pair
from tests.server.test_lab_rooms import (CONFIGURE, Paths, frames, join, lab_room, pause_and_check, replayed_race,
                                          shut, until)


@pytest.fixture(scope="module")
def pair(tmp_path_factory, redis_port):
    """Two server processes sharing rooms on a throwaway Redis."""
    yield from redis_pair(tmp_path_factory, redis_port)


def paused_paths(client, seen: Paths, seconds: float = 2.0) -> Paths:
    """The client's paths after the race paused (frames until none come for a while)."""
    for frame in frames(client, seconds):
        seen.add(frame)
    return seen


def test_students_on_the_other_process_get_the_teachers_race(pair):
    p1, p2 = pair
    room = lab_room(p1)
    t, _ = join(p1, room, "teacher")
    s, joined = join(p2, room, name="Ann")
    assert joined["mode"] == "follow"
    t.send(CONFIGURE)
    surface = until(s, "surface")
    assert surface["name"] == "quadratic" and surface["params"]["condition"] == 20
    assert [o["id"] for o in until(s, "state")["optimizers"]] == ["gd", "adam"]
    t.send({"type": "speed", "steps_per_frame": 5})
    t.send({"type": "play"})
    theirs, mine = Paths(), Paths()
    got = frames(s, 1.5)
    assert len(got) >= 8 and got[-1]["step"] > got[0]["step"], len(got)
    for frame in got:
        theirs.add(frame)
    # A late joiner on process 2 (the mirror is running): the surface, then whole paths.
    late, _ = join(p2, room)
    assert until(late, "surface")["name"] == "quadratic"
    first = until(late, "frame")
    assert first["paths"][0]["points_from"] == 0 and len(first["paths"][0]["points"]) > 1
    # Race commands while following are refused on process 2 too.
    s.send({"type": "pause"})
    student_seen = []
    assert "follow mode" in until(s, "error", seen=student_seen)["message"]
    for frame in [m for m in student_seen if m["type"] == "frame"]:
        theirs.add(frame)
    t.send({"type": "pause"})
    teacher_seen = []
    state = until(t, "state", seen=teacher_seen)
    while state["status"] != "paused":
        state = until(t, "state", seen=teacher_seen)
    for frame in [m for m in teacher_seen if m["type"] == "frame"]:
        mine.add(frame)
    paused_paths(t, mine)
    paused_paths(s, theirs)
    late_paths = Paths()
    late_paths.add(first)
    paused_paths(late, late_paths)
    # Point for point: the teacher's whole paths, on both students of process 2.
    assert mine.points["gd"] and len(mine.points["gd"]) > 20
    for other in (theirs, late_paths):
        assert {k: len(v) for k, v in other.points.items()} == {k: len(v) for k, v in mine.points.items()}
        assert other.points == mine.points
    shut(t, s, late)


def test_fork_on_the_other_process_takes_the_teachers_settings(pair):
    p1, p2 = pair
    room = lab_room(p1)
    t, _ = join(p1, room, "teacher")
    s, _ = join(p2, room)
    t.send(CONFIGURE)
    t.send({"type": "set", "id": "adam", "learning_rate": 0.2})  # a live change is part of the settings
    t.send({"type": "start_point", "x": 1.5, "y": -1.0})
    t.send({"type": "step", "n": 40})
    frame = until(s, "frame")
    while frame["step"] < 40:
        frame = until(s, "frame")
    s.send({"type": "fork"})
    mode = until(s, "mode")
    assert mode["mode"] == "own" and mode["forked"] is True
    assert until(s, "surface")["params"]["condition"] == 20
    state = until(s, "state")
    assert state["step"] == 0 and state["status"] == "ready" and state["start"] == [1.5, -1.0]
    assert {o["id"]: o["learning_rate"] for o in state["optimizers"]} == {"gd": 0.02, "adam": 0.2}
    s.send({"type": "step", "n": 3})
    frame = until(s, "frame")
    while frame["step"] != 3:
        frame = until(s, "frame")
    t.send({"type": "step", "n": 1})
    frame = until(t, "frame")
    while frame["step"] < 41:
        frame = until(t, "frame")
    assert frame["step"] == 41  # the teacher's race did not move with the student's
    shut(t, s)


def test_pause_and_close_reach_the_other_process(pair):
    p1, p2 = pair
    room = lab_room(p1)
    t, _ = join(p1, room, "teacher")
    t.send(CONFIGURE)
    s, _ = join(p2, room)
    until(s, "surface")
    pause_and_check(t, s)
    t.send({"type": "mode", "mode": "follow"})
    assert until(s, "mode")["mode"] == "follow"
    assert until(s, "frame")["status"] == "running"
    t.send({"type": "close_room"})
    assert until(s, "closed")["reason"]
    code, _ = closed(s)
    assert code == 1000
    shut(t, s)


def test_a_replayed_path_reaches_the_other_process_whole(pair):
    p1, p2 = pair
    room = lab_room(p1)
    mine, theirs, frame = replayed_race(p1, p2, room)
    adam = {p["id"]: p for p in frame["paths"]}["adam"]
    assert adam["points_from"] == 0 and len(adam["points"]) == len(adam["costs"]) == 31
    assert theirs.points == mine.points and theirs.costs == mine.costs
