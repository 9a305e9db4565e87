"""The fan-out of a run's frames in the main process (server/fanout.py): the owner and
`every_frame` viewers get every frame; other viewers get a share, in even turns; the share
shrinks while the event loop lags and comes back when it keeps up. And the placement of a room's
class on the workers (server/workers.py: AFFINITY_BATCH per worker, then the next)."""
from __future__ import annotations

import asyncio
import time

from server import fanout
from server.fanout import Fanout
from tests.fresh_loop import run_fresh


class Viewer:
    def __init__(self, log, every_frame=False):
        self.log, self.got = log, []
        if every_frame:
            self.every_frame = True

    def offer(self, frame):
        self.got.append(frame)
        self.log.append(self)


class Run:
    def __init__(self, viewers, owner=None):
        self.viewers, self.owner = viewers, owner


def test_everyone_gets_every_frame_while_the_loop_keeps_up_owner_first():
    log = []
    viewers = [Viewer(log) for _ in range(5)]
    run = Run(viewers, owner=viewers[3])
    hub = Fanout()
    for frame in range(4):
        log.clear()
        hub.offer(run, frame)
        assert log[0] is viewers[3] and len(log) == 5
    assert all(v.got == [0, 1, 2, 3] for v in viewers)


def test_followers_get_their_share_in_even_turns():
    log = []
    owner, relay = Viewer(log), Viewer(log, every_frame=True)
    followers = [Viewer(log) for _ in range(10)]
    run = Run([owner, *followers[:4], relay, *followers[4:]], owner=owner)
    hub = Fanout()
    hub._watch = lambda: None  # no probe: the share is set here
    hub.share = 1 / 3
    for frame in range(30):
        hub.offer(run, frame)
    assert owner.got == relay.got == list(range(30))
    for follower in followers:
        assert len(follower.got) == 10  # a third of the frames each ...
        gaps = {b - a for a, b in zip(follower.got, follower.got[1:])}
        assert gaps == {3}              # ... one in three, never two in a row and then a long wait
    hub.share = 0.7
    for frame in range(30, 130):
        hub.offer(run, frame)
    assert all(len(f.got) - 10 in (69, 70, 71) for f in followers)


def test_a_stopped_runs_frame_goes_to_every_follower_and_the_replay_says_when():
    """The frame after a pause, a step or a reset is the one the class must end on: not thinned,
    whatever the share. live_run.is_running reads that from the run's replay."""
    from server.live_run import is_running

    log = []
    followers = [Viewer(log) for _ in range(9)]
    run = Run(followers)
    hub = Fanout()
    hub._watch = lambda: None
    hub.share = 1 / 3
    hub.offer(run, "running")
    assert sum(f.got == ["running"] for f in followers) == 3
    hub.offer(run, "paused", thin=False)
    assert all(f.got[-1] == "paused" for f in followers)

    data, playing, paused = '{"type": "data"}', '{"type": "state", "status": "running"}', '{"type": "state", "status": "paused"}'
    assert is_running([data, playing])
    assert not is_running([data, paused]) and not is_running([])
    assert not is_running([data, playing, '{"type": "done", "status": "done"}'])


def test_the_share_follows_the_loops_lag(monkeypatch):
    monkeypatch.setattr(fanout, "ADJUST_SECONDS", 0.05)
    monkeypatch.setattr(fanout, "PERIOD", 0.01)
    hub = Fanout()
    run = Run([Viewer([]) for _ in range(3)])

    async def main():
        until = time.monotonic() + 1.0
        while time.monotonic() < until:  # a loop busy 30 ms at a time
            hub.offer(run, b"f")
            time.sleep(0.03)
            await asyncio.sleep(0.001)
        lagging = hub.share
        until = time.monotonic() + 6.0
        while time.monotonic() < until and hub.share < 1.0:  # then idle (~1 s; longer on a loaded machine)
            hub.offer(run, b"f")
            await asyncio.sleep(0.01)
        hub._task.cancel()
        return lagging, hub.share

    lagging, recovered = run_fresh(main())
    assert lagging == fanout.MIN_SHARE
    assert recovered == 1.0


def test_a_large_class_fills_one_worker_batch_then_the_next():
    from server.workers import AFFINITY_BATCH, WorkerPool

    class Sink:
        pass

    pool = WorkerPool(2, 30, 5)  # not started: placement only
    teacher = pool.open(Sink())
    room = [pool.open(Sink(), affinity="ROOM7") for _ in range(3 * AFFINITY_BATCH + 2)]
    first = pool.placement[room[0]]
    assert first is not pool.placement[teacher]
    assert all(pool.placement[sid] is first for sid in room[:AFFINITY_BATCH])
    assert all(pool.placement[sid] is not first for sid in room[AFFINITY_BATCH:2 * AFFINITY_BATCH])
    # then the first again up to 2 x AFFINITY_BATCH, then the other: batches of AFFINITY_BATCH
    assert [len(pool._affinity["ROOM7"][w]) for w in (first, pool.placement[teacher])] \
        == [2 * AFFINITY_BATCH, AFFINITY_BATCH + 2]
    for sid in room:
        pool.close(sid)
    assert pool._affinity == {} and pool._affinity_of == {}


def test_a_watched_run_gets_every_other_training_turn(monkeypatch):
    """Scheduler op `watched` (sent by LiveRun when viewers other than its owner attach): with
    many sessions of the worker training ("max"), the watched one trains on every other tick."""
    from engine.config import TrainConfig
    from server import scheduler
    from server.scheduler import Scheduler

    monkeypatch.setattr(scheduler, "BATCHING", False)  # separate sessions (different networks)
    config = TrainConfig.model_validate({"data": {"name": "circle"}, "network": {"hidden": [4]}, "epochs": 100000})
    s = Scheduler(lambda sid, kind, body: None, clock=lambda: 0.0)
    for sid in range(1, 11):
        s.handle(sid, "open", {"fps": 30, "steps_per_frame": None})
        s.handle(sid, "configure", {"config": config})
        s.handle(sid, "play", {})
    s.handle(1, "watched", {"on": True})
    turns = {sid: 0 for sid in range(1, 11)}
    chunk = s._chunk
    monkeypatch.setattr(s, "_chunk", lambda slot: (turns.__setitem__(slot.sid, turns[slot.sid] + 1), chunk(slot)))
    for _ in range(60):
        s.tick()
    assert turns[1] >= 30 and all(turns[sid] <= 4 for sid in range(2, 11))
    s.handle(1, "watched", {"on": False})
    turns = dict.fromkeys(turns, 0)
    for _ in range(60):
        s.tick()
    assert set(turns.values()) == {6}  # round-robin again


def test_a_watched_run_leaves_its_batch_and_joins_again():
    from engine.config import TrainConfig
    from server.scheduler import Scheduler

    config = TrainConfig.model_validate({"data": {"name": "circle"}, "network": {"hidden": [4]}, "epochs": 100000})
    s = Scheduler(lambda sid, kind, body: None, clock=lambda: 0.0)
    for sid in (1, 2, 3):
        s.handle(sid, "open", {"fps": 30, "steps_per_frame": 5})
        s.handle(sid, "configure", {"config": config})
    assert all(s.slots[sid].session.batched for sid in (1, 2, 3))
    s.handle(1, "watched", {"on": True})
    assert not s.slots[1].session.batched and [len(g) for g in s.groups.values()] == [2]
    s.handle(2, "reset", {})  # rejoins its group, and never founds one with the watched run
    assert s.slots[2].session.batched and not s.slots[1].session.batched
    s.handle(1, "watched", {"on": False})
    assert s.slots[1].session.batched and [len(g) for g in s.groups.values()] == [3]


def test_with_a_watched_run_a_groups_frames_are_drawn_in_smaller_passes(monkeypatch):
    from engine.config import TrainConfig
    from server import scheduler
    from server.scheduler import FRAME, Scheduler

    monkeypatch.setattr(scheduler, "WATCHED_PASS", 3)
    config = TrainConfig.model_validate({"data": {"name": "circle"}, "network": {"hidden": [4]}, "epochs": 100000})
    out, now = [], [10.0]
    s = Scheduler(lambda sid, kind, body: out.append((sid, kind)), clock=lambda: now[0])
    for sid in range(1, 9):
        s.handle(sid, "open", {"fps": 30, "steps_per_frame": 1})
        s.handle(sid, "configure", {"config": config})
        s.handle(sid, "play", {})
    s.handle(8, "watched", {"on": True})
    for _ in range(20):  # every member trains its one step
        s.tick()
    now[0] += 1.0  # every frame is due
    out.clear()
    for sid in range(1, 9):
        s.handle(sid, "want", {})
    s.tick()
    drawn = [sid for sid, kind in out if kind == FRAME]
    assert 8 in drawn and len([sid for sid in drawn if sid != 8]) == 3  # the watched one, and 3 of the group
    for _ in range(5):
        s.tick()
    assert sorted(sid for sid, kind in out if kind == FRAME) == list(range(1, 9))  # the rest just after
