"""Room limits that need a server of their own: the join rate limit per client address (it
would lock the other tests out) and the end of a room whose teacher does not come back."""
from __future__ import annotations


import pytest

from server import limits
from tests.live_server import stop_server
from tests.server.rooms_helpers import closed, connect, make_room, room_server, student, teacher


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server, process = room_server(tmp_path_factory, "--room-grace", "1.5")
    yield server
    stop_server(process)


def test_teacher_gone_past_the_grace_time_ends_the_room(srv):
    room = make_room(srv)
    t = teacher(srv, room)
    s, _ = student(srv, room)
    t.close()
    code, seen = closed(s, timeout=6)
    assert seen[-1]["type"] == "closed" and "did not come back" in seen[-1]["reason"]


def test_wrong_codes_are_rate_limited_per_address(srv):
    room = make_room(srv)
    for _ in range(limits.JOIN_FAILURES):
        c = connect(srv, "ABCDEF")
        c.send({"type": "join", "role": "student"})
        assert closed(c)[1][-1]["field"] == "code"
    c = connect(srv, room["code"])  # even the right code, now
    c.send({"type": "join", "role": "student"})
    code, seen = closed(c)
    assert "too many failed joins" in seen[-1]["message"] and code == 1008
