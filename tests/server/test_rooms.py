"""Classroom rooms against the real server (docs/protocol.md "Rooms"): joining, follow, own,
fork, pause, spotlight, roster and thumbnails, safety, and freeing sessions."""
from __future__ import annotations

import re
import time

import numpy as np
import pytest

from server import limits
from server.room_protocol import CODE_ALPHABET
from tests.server.rooms_helpers import (SMALL, closed, connect, data_and_state, fork_from_the_followed_run, frames_for,
                                        make_room, room_server, run_frame, student, teacher, until_json)


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server, process = room_server(tmp_path_factory, "--room-size", "3")
    yield server
    from tests.live_server import stop_server
    stop_server(process)


def sessions(server) -> int:
    return sum(w["sessions"] for w in server.health()["workers"])


def test_code_alphabet_and_token(srv):
    room = make_room(srv)
    assert re.fullmatch(f"[{CODE_ALPHABET}]{{6}}", room["code"])
    assert not set("0O1IL") & set(CODE_ALPHABET)
    assert len(room["teacher_token"]) >= 22  # url-safe base64: ≥ 128 bits
    assert room["student_url"].endswith("/room/" + room["code"]) and room["teacher_token"] not in room["student_url"]
    assert room["teacher_token"] in room["teacher_url"]
    codes = {make_room(srv)["code"] for _ in range(5)}
    assert len(codes) == 5


def test_join_errors_close_the_socket(srv):
    room = make_room(srv)
    c = connect(srv, "ZZZZZZ")
    c.send({"type": "join", "role": "student"})
    code, seen = closed(c)
    assert seen[-1]["type"] == "error" and seen[-1]["field"] == "code" and code == 1008
    c = connect(srv, room["code"])
    c.send({"type": "join", "role": "teacher", "token": "wrong"})
    code, seen = closed(c)
    assert seen[-1]["field"] == "token" and code == 1008
    c = connect(srv, room["code"])
    c.send({"type": "join", "role": "student", "name": "x" * 41})
    error = c.until("error")
    assert error["field"] == "name" and "0..40 characters" in error["message"]
    c.send({"type": "play"})  # not joined yet: only join is understood
    assert "allowed join" in c.until("error")["message"]
    c.close()


def test_follow_gets_the_teachers_state_and_frames(srv):
    room = make_room(srv)
    t = teacher(srv, room)
    s, joined = student(srv, room, "Ann")
    assert joined["mode"] == "follow" and joined["student_id"] >= 1 and "token" not in str(joined)
    state, (header, arrays) = t.configure(**SMALL)
    data, followed = data_and_state(s)
    assert followed["config"] == state["config"] and data["kind"] == "binary" and len(data["train"]["x1"]) == 320
    first, first_arrays = s.until("frame")
    assert np.array_equal(first_arrays["W1"], arrays["W1"])
    late, _ = student(srv, room)  # joins later: the run's data, state and last frame are replayed
    assert data_and_state(late) == (data, followed)
    assert late.until("frame")[0]["iteration"] == 0
    t.send({"type": "play"})
    got = frames_for(s, 1.0)
    assert len(got) >= 10 and got[-1]["iteration"] > got[0]["iteration"]
    late.close()
    s.send({"type": "step"})
    error = s.until("error")
    assert error["request_type"] == "step" and "follow mode" in error["message"]
    t.close(), s.close()


def test_stalled_follower_does_not_slow_the_teacher(srv):
    room = make_room(srv)
    t = teacher(srv, room)
    t.configure(**SMALL)
    t.send({"type": "play"})
    alone = len(frames_for(t, 2.0))
    stalled, _ = student(srv, room)  # never sends ready: its credits' frames, then nothing
    with_stalled = len(frames_for(t, 2.0))
    assert with_stalled >= 0.8 * alone, (alone, with_stalled)
    assert len(frames_for(stalled, 0.5, ready=False)) <= limits.FRAME_CREDITS
    t.close(), stalled.close()


def test_own_mode_trains_independently(srv):
    room = make_room(srv)
    t = teacher(srv, room)
    t.configure(**SMALL)
    s, _ = student(srv, room)
    t.send({"type": "mode", "mode": "own"})
    assert until_json(s, lambda m: m["type"] == "mode")["mode"] == "own"
    state, _ = s.configure(data={"name": "moons"}, network={"hidden": [3]})
    assert state["config"]["data"]["name"] == "moons"
    s.send({"type": "step", "n": 7})
    assert s.until("frame")[0]["iteration"] == 7
    t.send({"type": "step", "n": 2})
    assert run_frame(t)[0]["iteration"] == 2  # the teacher's run did not move with the student's
    t.close(), s.close()


def test_push_configures_every_students_run(srv):
    room = make_room(srv)
    t = teacher(srv, room)
    t.configure(**SMALL)
    t.send({"type": "set", "learning_rate": 0.05})
    s, _ = student(srv, room)
    t.send({"type": "mode", "mode": "own"})
    t.send({"type": "push"})
    assert until_json(t, lambda m: m["type"] == "pushed")["students"] == 1
    until_json(s, lambda m: m["type"] == "mode")  # from here on, the student's own run speaks
    state = until_json(s, lambda m: m["type"] == "state")
    assert state["config"]["optimizer"]["learning_rate"] == 0.05 and state["iteration"] == 0
    t.close(), s.close()


def test_fork_starts_from_the_followed_runs_last_frame(srv):
    fork_from_the_followed_run(srv, srv)


def test_pause_refuses_training_and_delivers_the_message(srv):
    room = make_room(srv)
    t = teacher(srv, room)
    t.configure(**SMALL)
    s, _ = student(srv, room)
    t.send({"type": "mode", "mode": "paused", "message": "eyes on the projector"})
    mode = until_json(s, lambda m: m["type"] == "mode")
    assert mode == {"type": "mode", "mode": "paused", "message": "eyes on the projector"}
    for kind in ("play", "fork"):
        s.send({"type": kind})
        error = until_json(s, lambda m: m["type"] == "error")
        assert error["request_type"] == kind and "paused mode" in error["message"]
    late, joined = student(srv, room)
    assert joined["mode"] == "paused" and joined["message"] == "eyes on the projector"
    t.close(), s.close(), late.close()


def test_spotlight_switches_followers_to_a_students_run(srv):
    room = make_room(srv)
    t = teacher(srv, room)
    t.configure(**SMALL)
    star, star_joined = student(srv, room, "Star")
    fan, _ = student(srv, room)
    t.send({"type": "spotlight", "student_id": star_joined["student_id"]})
    assert "no run of their own" in until_json(t, lambda m: m["type"] == "error")["message"]
    t.send({"type": "spotlight", "student_id": 999})
    assert until_json(t, lambda m: m["type"] == "error")["field"] == "student_id"
    t.send({"type": "mode", "mode": "own"})
    until_json(star, lambda m: m["type"] == "mode")  # what follows comes from the star's own run
    star.configure(data={"name": "xor"}, network={"hidden": [3]})
    star.send({"type": "step", "n": 3})
    assert star.until("frame")[0]["iteration"] == 3
    t.send({"type": "mode", "mode": "follow"})
    t.send({"type": "spotlight", "student_id": star_joined["student_id"]})
    event = until_json(fan, lambda m: m["type"] == "spotlight")
    assert event["student_id"] == star_joined["student_id"] and event["name"] == "Star"
    data, state = data_and_state(fan, lambda m: m["config"]["data"]["name"] == "xor")  # the star's points too
    assert state["network"]["layers"] == [2, 3, 1] and data["kind"] == "binary" and data["domain"] is not None
    header, arrays = fan.until("frame")
    while arrays["W1"].shape != (3, 2):  # a frame of the teacher's run sent before the switch
        header, arrays = fan.until("frame")
    assert header["iteration"] == 3
    t.send({"type": "spotlight", "student_id": None})
    assert until_json(fan, lambda m: m["type"] == "spotlight")["student_id"] is None
    back, _ = data_and_state(fan, lambda m: m["config"]["data"]["name"] == "circle")
    assert back != data and len(back["train"]["x1"]) == 320  # the teacher's points again
    t.close(), star.close(), fan.close()


def test_roster_every_second_and_thumbnails(srv):
    room = make_room(srv)
    t = teacher(srv, room)
    t.configure(**SMALL)
    s, joined = student(srv, room, "<script>alert(1)</script>")
    t.send({"type": "mode", "mode": "own"})
    until_json(s, lambda m: m["type"] == "mode")
    s.configure(**SMALL)
    s.send({"type": "step", "n": 12})
    assert s.until("frame")[0]["iteration"] == 12
    times, rosters, thumbs = [], [], None
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        message = t.ws.recv(timeout=3)
        if isinstance(message, bytes):
            from tests.server.conftest import decode_frame
            header, arrays = decode_frame(message)
            if header["type"] == "thumbnails":
                thumbs = (header, arrays)
            else:
                t.send({"type": "ready"})
            continue
        import json
        m = json.loads(message)
        if m["type"] == "roster":
            times.append(time.monotonic())
            rosters.append(m)
    assert len(times) >= 3 and max(np.diff(times)) <= 1.0
    entry = rosters[-1]["students"][0]
    assert set(entry) == {"student_id", "name", "mode", "status", "iteration", "train", "dev"}
    assert entry["name"] == "<script>alert(1)</script>"  # stored and echoed as plain text
    assert entry["student_id"] == joined["student_id"] and entry["mode"] == "own" and entry["iteration"] == 12
    assert set(entry["train"]) == {"cost", "accuracy"} and 0 <= entry["dev"]["accuracy"] <= 1
    assert thumbs is not None
    header, arrays = thumbs
    image = arrays[f"s{joined['student_id']}"]
    assert header["students"][0]["iteration"] == 12 and image.shape == (20, 20)
    assert 0 <= image.min() <= image.max() <= 1
    t.close(), s.close()


def test_students_cannot_send_teacher_messages(srv):
    room = make_room(srv)
    t = teacher(srv, room)
    t.configure(**SMALL)
    s, _ = student(srv, room)
    for message in ({"type": "mode", "mode": "own"}, {"type": "close_room"}, {"type": "push"},
                    {"type": "spotlight", "student_id": None}):
        s.send(message)
        error = until_json(s, lambda m: m["type"] == "error")
        assert error["field"] == "type" and "only the teacher" in error["message"]
    t.send({"type": "step", "n": 1})
    assert run_frame(t)[0]["iteration"] == 1  # the room is as it was
    s2, joined = student(srv, room)
    assert joined["mode"] == "follow"
    t.close(), s.close(), s2.close()


def test_student_disconnect_frees_the_session(srv):
    room = make_room(srv)
    t = teacher(srv, room)
    s, _ = student(srv, room)
    t.send({"type": "mode", "mode": "own"})
    until_json(s, lambda m: m["type"] == "mode")
    s.configure(**SMALL)
    before = sessions(srv)
    s.close()
    deadline = time.monotonic() + 5
    while sessions(srv) != before - 1:
        assert time.monotonic() < deadline, "the student's session was not freed"
        time.sleep(0.05)
    t.close()


def test_teacher_reconnect_keeps_the_room(srv):
    room = make_room(srv)
    t = teacher(srv, room)
    t.configure(**SMALL)
    t.send({"type": "step", "n": 9})
    t.until("frame")
    s, _ = student(srv, room)
    t.close()
    time.sleep(0.3)
    t2 = teacher(srv, room)
    data, state = data_and_state(t2)  # the run's data and latest state, replayed
    assert state["config"]["data"]["name"] == "circle" and len(data["train"]["x1"]) == 320
    assert run_frame(t2)[0]["iteration"] == 9                     # and its last frame
    t2.send({"type": "step", "n": 1})
    assert until_json(s, lambda m: m["type"] == "state")  # the student is still in the room
    t2.close(), s.close()


def test_close_room_closes_the_students(srv):
    room = make_room(srv)
    t = teacher(srv, room)
    s, _ = student(srv, room)
    t.send({"type": "close_room"})
    code, seen = closed(s)
    assert code == 1000 and seen[-1]["type"] == "closed"
    closed(t)
    again = connect(srv, room["code"])
    again.send({"type": "join", "role": "student"})
    assert closed(again)[1][-1]["field"] == "code"


def test_room_size_cap(srv):
    room = make_room(srv)
    members = [student(srv, room)[0] for _ in range(3)]
    extra = connect(srv, room["code"])
    extra.send({"type": "join", "role": "student"})
    code, seen = closed(extra)
    assert code == 1013 and "full (3 students)" in seen[-1]["message"]
    members[0].close()
    time.sleep(0.3)
    members.append(student(srv, room)[0])  # a freed place can be taken
    for m in members:
        m.close()
