"""A classroom room across two server processes on a real Redis (docs/protocol.md "Rooms across
processes"): `python -m server --redis redis://127.0.0.1:PORT/0` twice; the room is made on
process 1, where its teacher is; students join on process 2 (and 1)."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

from server import limits

from tests.server.conftest import decode_frame
from tests.server.rooms_helpers import (SMALL, closed, connect, data_and_state, fork_from_the_followed_run, frames_for,
                                        make_room, redis_pair, run_frame, student, teacher, until_json)

ROOM_SIZE = 3


@pytest.fixture(scope="module")
def pair(tmp_path_factory, redis_port):
    """Two server processes sharing rooms on a throwaway Redis."""
    yield from redis_pair(tmp_path_factory, redis_port, "--room-size", str(ROOM_SIZE))


def roster_until(t, predicate, timeout: float = 10.0) -> dict:
    """The teacher's first roster whose students satisfy predicate (frames, thumbnails skipped)."""
    return until_json(t, lambda m: m["type"] == "roster" and predicate(m["students"]), timeout)


def test_wrong_code_or_token_is_refused_on_either_process(pair):
    room = make_room(pair[0])
    for srv in pair:
        c = connect(srv, "ZZZZZZ")
        c.send({"type": "join", "role": "student"})
        code, seen = closed(c)
        assert code == 1008 and seen[-1]["field"] == "code"
        c = connect(srv, room["code"])
        c.send({"type": "join", "role": "teacher", "token": "wrong"})
        code, seen = closed(c)
        assert code == 1008 and seen[-1]["field"] == "token"
    s, joined = student(pair[1], room)  # the right code works on the process that did not make the room
    assert joined["role"] == "student" and "token" not in json.dumps(joined)
    s.close()


def test_followers_on_the_other_process_get_the_teachers_state_and_frames(pair):
    p1, p2 = pair
    room = make_room(p1)
    t = teacher(p1, room)
    s, joined = student(p2, room, "Ann")
    assert joined["mode"] == "follow"
    state, (header, arrays) = t.configure(**SMALL)
    data, followed = data_and_state(s)  # relayed from process 1: the points once, then the state
    assert followed["config"] == state["config"] and len(data["train"]["x1"]) == 320
    first, first_arrays = s.until("frame")
    assert first["iteration"] == 0 and np.array_equal(first_arrays["W1"], arrays["W1"])
    late, _ = student(p2, room)  # joins a running relay: gets the run's data, state and last frame first
    assert data_and_state(late) == (data, followed)
    assert late.until("frame")[0]["iteration"] == 0
    t.send({"type": "play"})
    got = frames_for(s, 1.5)
    assert len(got) >= 8 and got[-1]["iteration"] > got[0]["iteration"], len(got)
    s.send({"type": "step"})
    assert "follow mode" in until_json(s, lambda m: m["type"] == "error")["message"]
    t.close(), s.close(), late.close()


def test_stalled_remote_follower_does_not_slow_the_teacher(pair):
    p1, p2 = pair
    room = make_room(p1)
    t = teacher(p1, room)
    t.configure(**SMALL)
    t.send({"type": "play"})
    alone = len(frames_for(t, 2.0))
    stalled, _ = student(p2, room)  # never sends ready
    with_stalled = len(frames_for(t, 2.0))
    assert with_stalled >= 0.7 * alone, (alone, with_stalled)
    assert len(frames_for(stalled, 0.5, ready=False)) <= limits.FRAME_CREDITS
    t.close(), stalled.close()


def test_roster_on_the_teachers_process_lists_the_other_process_students(pair):
    p1, p2 = pair
    room = make_room(p1)
    t = teacher(p1, room)
    t.configure(**SMALL)
    here, here_joined = student(p1, room, "Here")
    there, there_joined = student(p2, room, "<b>There</b>")
    roster = roster_until(t, lambda students: len(students) == 2)
    assert [e["student_id"] for e in roster["students"]] == [here_joined["student_id"], there_joined["student_id"]]
    entry = roster["students"][1]
    assert set(entry) == {"student_id", "name", "mode", "status", "iteration", "train", "dev"}
    assert entry["name"] == "<b>There</b>" and entry["status"] == "following"
    t.send({"type": "mode", "mode": "own"})
    until_json(there, lambda m: m["type"] == "mode")
    there.configure(**SMALL)
    there.send({"type": "step", "n": 12})
    assert there.until("frame")[0]["iteration"] == 12
    roster = roster_until(t, lambda students: any(e["iteration"] == 12 for e in students))
    entry = next(e for e in roster["students"] if e["student_id"] == there_joined["student_id"])
    assert entry["mode"] == "own" and entry["status"] == "paused"
    assert set(entry["train"]) == {"cost", "accuracy"} and 0 <= entry["dev"]["accuracy"] <= 1
    # the remote student's thumbnail reaches the teacher's dashboard too
    deadline, image = time.monotonic() + 5, None
    while image is None:
        assert time.monotonic() < deadline, "no thumbnail of the other process's student"
        message = t.ws.recv(timeout=3)
        if isinstance(message, bytes):
            header, arrays = decode_frame(message)
            if header["type"] == "thumbnails":
                image = arrays.get(f"s{there_joined['student_id']}")
            else:
                t.send({"type": "ready"})
    assert image.shape == (20, 20) and 0 <= image.min() <= image.max() <= 1
    there.close()
    roster_until(t, lambda students: [e["student_id"] for e in students] == [here_joined["student_id"]])
    t.close(), here.close()


def test_mode_pause_and_push_reach_the_other_process(pair):
    p1, p2 = pair
    room = make_room(p1)
    t = teacher(p1, room)
    t.configure(**SMALL)
    t.send({"type": "set", "learning_rate": 0.05})
    s, _ = student(p2, room)
    t.send({"type": "mode", "mode": "paused", "message": "eyes on the projector"})
    assert until_json(s, lambda m: m["type"] == "mode") == \
        {"type": "mode", "mode": "paused", "message": "eyes on the projector"}
    s.send({"type": "play"})
    assert "paused mode" in until_json(s, lambda m: m["type"] == "error")["message"]
    late, joined = student(p2, room)
    assert joined["mode"] == "paused" and joined["message"] == "eyes on the projector"
    t.send({"type": "mode", "mode": "own"})
    assert until_json(s, lambda m: m["type"] == "mode")["mode"] == "own"
    t.send({"type": "push"})
    assert until_json(t, lambda m: m["type"] == "pushed")["students"] == 2
    state = until_json(s, lambda m: m["type"] == "state")
    assert state["config"]["optimizer"]["learning_rate"] == 0.05 and state["iteration"] == 0
    assert s.until("frame")[0]["iteration"] == 0  # the pushed run's first frame
    s.send({"type": "step", "n": 3})
    assert s.until("frame")[0]["iteration"] == 3
    t.close(), s.close(), late.close()


def test_spotlight_of_a_student_on_the_other_process(pair):
    p1, p2 = pair
    room = make_room(p1)
    t = teacher(p1, room)
    t.configure(**SMALL)
    star, star_joined = student(p2, room, "Star")
    fan_here, _ = student(p1, room)
    fan_there, _ = student(p2, room)
    sid = star_joined["student_id"]
    t.send({"type": "mode", "mode": "own"})
    until_json(star, lambda m: m["type"] == "mode")
    until_json(fan_here, lambda m: m["type"] == "mode")
    until_json(fan_there, lambda m: m["type"] == "mode")
    star.configure(data={"name": "xor"}, network={"hidden": [3]})
    star.send({"type": "step", "n": 3})
    assert star.until("frame")[0]["iteration"] == 3
    roster_until(t, lambda students: any(e["student_id"] == sid and e["iteration"] == 3 for e in students))
    t.send({"type": "mode", "mode": "follow"})
    t.send({"type": "spotlight", "student_id": sid})
    assert until_json(t, lambda m: m["type"] == "spotlight")["name"] == "Star"
    for fan in (fan_here, fan_there):
        event = until_json(fan, lambda m: m["type"] == "spotlight")
        assert event["student_id"] == sid and event["name"] == "Star"
        data, state = data_and_state(fan, lambda m: m["config"]["data"]["name"] == "xor")  # the star's points too
        assert state["network"]["layers"] == [2, 3, 1] and data["kind"] == "binary"
        header, arrays = fan.until("frame")
        while arrays["W1"].shape != (3, 2):  # a frame of the teacher's run sent before the switch
            header, arrays = fan.until("frame")
        assert header["iteration"] == 3
    t.send({"type": "spotlight", "student_id": None})
    for fan in (fan_here, fan_there):
        assert until_json(fan, lambda m: m["type"] == "spotlight")["student_id"] is None
        assert until_json(fan, lambda m: m["type"] == "state")["config"]["data"]["name"] == "circle"
    t.close(), star.close(), fan_here.close(), fan_there.close()


def test_fork_on_the_other_process_starts_from_the_followed_runs_last_frame(pair):
    fork_from_the_followed_run(*pair)


def test_close_room_closes_the_students_on_the_other_process(pair):
    p1, p2 = pair
    room = make_room(p1)
    t = teacher(p1, room)
    there, _ = student(p2, room)
    here, _ = student(p1, room)
    t.send({"type": "close_room"})
    for s in (there, here):
        code, seen = closed(s)
        assert code == 1000 and seen[-1]["type"] == "closed"
    closed(t)
    for srv in pair:
        again = connect(srv, room["code"])
        again.send({"type": "join", "role": "student"})
        assert closed(again)[1][-1]["field"] == "code"


def test_the_student_cap_holds_across_processes(pair):
    p1, p2 = pair
    room = make_room(p1)
    members = [student(p1, room)[0], student(p2, room)[0], student(p1, room)[0]]
    for srv in pair:
        extra = connect(srv, room["code"])
        extra.send({"type": "join", "role": "student"})
        code, seen = closed(extra)
        assert code == 1013 and f"full ({ROOM_SIZE} students)" in seen[-1]["message"]
    members.pop(0).close()  # a place freed on process 1 can be taken on process 2
    deadline = time.monotonic() + 5
    while True:
        c = connect(p2, room["code"])
        c.send({"type": "join", "role": "student"})
        message = c.recv()
        if message["type"] == "joined":
            members.append(c)
            break
        c.close()
        assert time.monotonic() < deadline, message
        time.sleep(0.1)
    ids = [student_id for student_id in [message["student_id"]]]
    assert ids[0] == 4  # ids are allocated in one sequence across processes
    for m in members:
        m.close()


def test_teacher_link_opened_on_the_other_process_takes_the_run_along(pair):
    p1, p2 = pair
    room = make_room(p1)
    t = teacher(p1, room)
    t.configure(**SMALL, optimizer={"name": "adam", "learning_rate": 0.01})
    t.send({"type": "step", "n": 9})
    while run_frame(t)[0]["iteration"] != 9:
        pass
    s, _ = student(p1, room)
    t.close()
    time.sleep(0.3)
    t2 = teacher(p2, room)  # the load balancer sent the reloaded teacher page to process 2
    data, state = data_and_state(t2)  # the run imported on process 2: its points come along
    assert state["config"]["data"]["name"] == "circle" and state["iteration"] == 9 and len(data["train"]["x1"]) == 320
    assert run_frame(t2)[0]["iteration"] == 9
    t2.send({"type": "step", "n": 1})
    deadline = time.monotonic() + 10  # the student on process 1 now follows the run on process 2
    while s.until("frame")[0]["iteration"] != 10:
        assert time.monotonic() < deadline
    t2.close(), s.close()
