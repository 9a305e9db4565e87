"""Batch-compatible sessions of one worker trained together (server/batching.py): every member's
frames and history are those of a separate session on the same config; joining, leaving,
pausing, live changes, set_weight and divergence of one member leave the others unaffected.

Each test drives one Scheduler holding N sessions (batched) and N Schedulers holding one session
each (the reference: a session alone is never batched) with the same commands, then compares."""
from __future__ import annotations

import json

import numpy as np
import pytest

from engine.batched import BatchedTrainer
from engine.config import TrainConfig
from server import batching
from server.scheduler import FRAME, TEXT, Scheduler
from server.sessions import Session
from tests.server.conftest import decode_frame


def config(seed=1, lr=0.01, optimizer="adam", hidden=(6, 4), data_seed=3, **extra):
    return TrainConfig.model_validate({
        "data": {"name": "moons", "n": 200, "noise": 0.2, "seed": data_seed},
        "network": {"hidden": list(hidden), "activation": "tanh"},
        "optimizer": {"name": optimizer, "learning_rate": lr}, "batch_size": 32,
        "epochs": 100000, "seed": seed, **extra})


CONFIGS = [config(1, 0.01), config(2, 0.05, "momentum", data_seed=4), config(3, 0.2, "gd", data_seed=5)]


@pytest.fixture(autouse=True)
def snapshots_at_frames_only(monkeypatch):
    """History rows are added at snapshots; the time-based ones would differ between runs. The
    diagnosis is recomputed at every batched snapshot (test_diagnosis_is_throttled: otherwise)."""
    monkeypatch.setattr(Session, "HISTORY_SECONDS", float("inf"))
    monkeypatch.setattr(batching, "DIAGNOSIS_SECONDS", 0.0)


class Out:
    def __init__(self):
        self.items = []

    def __call__(self, sid, kind, body):
        self.items.append((sid, kind, body))

    def take(self, sid=None):
        items = [(s, k, b) for s, k, b in self.items if sid is None or s == sid]
        self.items = [(s, k, b) for s, k, b in self.items if not (sid is None or s == sid)]
        return [(k, decode_frame(b) if k == FRAME else json.loads(b)) for _, k, b in items]


class Twin:
    """Sessions 1..N in one batched scheduler, and each also alone in a reference scheduler."""

    def __init__(self, configs, steps_per_frame=None, fps=30):
        self.now = 0.0
        self.out = Out()
        self.s = Scheduler(self.out, clock=lambda: self.now)
        self.refs, self.ref_out = {}, {}
        for sid, cfg in enumerate(configs, 1):
            self.open(sid, cfg, steps_per_frame, fps)

    def open(self, sid, cfg, steps_per_frame=None, fps=30):
        self.ref_out[sid] = Out()
        self.refs[sid] = Scheduler(self.ref_out[sid], clock=lambda: self.now)
        for s, i in ((self.s, sid), (self.refs[sid], 1)):
            s.handle(i, "open", {"fps": fps, "steps_per_frame": steps_per_frame})
            s.handle(i, "configure", {"config": cfg})

    def send(self, sid, op, args=None):
        self.s.handle(sid, op, args or {})
        self.refs[sid].handle(1, op, args or {})

    def close(self, sid):
        self.send(sid, "close")
        del self.refs[sid]

    def settle(self, ticks=10_000):
        """Tick every scheduler until none has anything to train."""
        for s in [self.s, *self.refs.values()]:
            for _ in range(ticks):
                if not any(slot.trainable() for slot in s.slots.values()):
                    break
                s.tick()

    def session(self, sid):
        return self.s.slots[sid].session

    def compare(self):
        """Every message of each session equals its reference's: frames (W, b exact; boundary and
        neurons to float32 rounding; header but seq and server_time), texts, and the history."""
        for sid in self.refs:
            got, want = self.out.take(sid), self.ref_out[sid].take(1)
            assert [k for k, _ in got] == [k for k, _ in want], sid
            for (kind, a), (_, b) in zip(got, want):
                if kind == TEXT:
                    assert a == b
                    continue
                (ha, aa), (hb, ab) = a, b
                for key in set(ha) | set(hb):
                    if key not in ("seq", "server_time", "arrays"):
                        assert ha[key] == hb[key], (sid, key)
                assert set(aa) == set(ab)
                for name in aa:
                    if name[0] in "Wb":
                        np.testing.assert_array_equal(aa[name], ab[name], err_msg=f"{sid} {name}")
                    else:
                        np.testing.assert_allclose(aa[name], ab[name], atol=2e-2, err_msg=f"{sid} {name}")
            assert self.session(sid).history.as_dict() == self.refs[sid].slots[1].session.history.as_dict()

    def group_sizes(self):
        return sorted(len(g) for g in self.s.groups.values())


def test_members_match_separate_sessions_over_epochs_and_live_changes():
    t = Twin(CONFIGS)
    assert t.group_sizes() == [3] and all(t.session(sid).batched for sid in (1, 2, 3))
    t.compare()
    for n in (7, 13, 30):  # 5 iterations per epoch (160 training points, batch 32): epoch ends inside
        for sid in (1, 2, 3):
            t.send(sid, "step", {"n": n})
        t.settle()
        t.compare()
    t.send(2, "set", {"changes": {"learning_rate": 0.5, "l2": 0.1}})
    t.send(3, "set", {"changes": {"keep_prob": [0.8, 1.0]}})
    for sid in (1, 2, 3):
        t.send(sid, "step", {"epochs": 3})
    t.settle()
    t.compare()
    assert [t.session(sid).trainer.iteration for sid in (1, 2, 3)] == [65, 65, 65]


def test_a_round_steps_all_playing_members_in_one_call_and_draws_their_frames_in_one_pass(monkeypatch):
    calls = {"step": 0, "snapshots": 0, "stacked_grids": 0}
    runs = []  # the runs of each call
    for name in calls:
        original = getattr(BatchedTrainer, name)

        def counted(self, *args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            runs.append((_name, len(kwargs.get("runs") or args[-1])))
            return _original(self, *args, **kwargs)
        monkeypatch.setattr(BatchedTrainer, name, counted)
    t = Twin(CONFIGS, steps_per_frame=5, fps=10)
    t.out.take()
    for sid in (1, 2, 3):
        t.s.handle(sid, "play", {})
        t.s.handle(sid, "want", {})
    t.s.groups[t.session(1).batch_key].rate = 1e4  # chunks of up to 40 iterations: one call
    for _ in range(3):
        t.s.tick()
    assert calls["step"] == 1 and [t.session(sid).trainer.iteration for sid in (1, 2, 3)] == [5, 5, 5]
    t.now = 1.0
    t.s.tick()
    frames = [body for kind, body in t.out.take() if kind == FRAME]
    assert [h["iteration"] for h, _ in frames] == [5, 5, 5]
    assert calls["snapshots"] == 1 and calls["stacked_grids"] == 1
    # a member nearly due (within half an interval) is drawn with the due ones: cadences align
    t.s.handle(1, "want", {})
    t.s.handle(2, "want", {})
    t.s.handle(3, "want", {})
    t.s.tick()  # 5 more iterations each, in one call
    assert calls["step"] == 2
    t.now = 1.1
    t.s.slots[3].next_frame = 1.14  # due in 0.04 s < 0.5 / fps
    t.s.tick()
    assert sorted(h["iteration"] for kind, (h, _) in t.out.take() if kind == FRAME) == [10, 10, 10]
    assert calls["snapshots"] == 2 and calls["stacked_grids"] == 2
    assert all(n == 3 for _, n in runs), runs  # every call was for the three members at once


def test_pause_leave_join_and_incompatible_config_leave_the_others_unaffected():
    t = Twin(CONFIGS)
    for sid in (1, 2, 3):
        t.send(sid, "step", {"n": 9})
    t.settle()
    t.send(1, "play")
    t.send(2, "play")
    t.send(3, "play")
    for _ in range(5):
        t.s.tick()
    for sid in (1, 2, 3):
        t.send(sid, "pause")
    paused_at = t.session(2).trainer.iteration
    t.out.take()
    for sid in t.refs:
        t.ref_out[sid].take(1)
    # play is time-driven (chunk sizes): the references restart from the batched runs' exact states
    for sid in (1, 2, 3):
        ref = t.refs[sid].slots[1]
        t.s._unbatch(t.s.slots[sid])
        from server import session_state
        ref.session = session_state.loads(session_state.dumps(t.session(sid)))
        t.s._place(t.s.slots[sid])
    assert t.group_sizes() == [3]
    t.send(1, "step", {"n": 11})
    t.send(3, "step", {"n": 11})
    t.settle()
    assert t.session(2).trainer.iteration == paused_at  # paused: not stepped with the others
    t.compare()
    t.close(1)  # leaves: 2 and 3 go on as before
    assert t.group_sizes() == [2]
    t.open(4, config(4, 0.02))  # joins
    assert t.group_sizes() == [3] and t.session(4).batched
    for sid in (2, 3, 4):
        t.send(sid, "step", {"n": 12})
    t.settle()
    t.compare()
    t.send(3, "configure", {"config": config(3, hidden=(5,))})  # incompatible: leaves the batch
    assert t.group_sizes() == [2] and not t.session(3).batched
    t.close(4)  # a group of one dissolves: 2 trains alone again, from its exact state
    assert t.group_sizes() == [] and not t.session(2).batched
    for sid in (2, 3):
        t.send(sid, "step", {"n": 8})
    t.settle()
    t.compare()


def test_set_weight_reset_gradcheck_and_save_leave_and_rejoin():
    t = Twin(CONFIGS)
    for sid in (1, 2, 3):
        t.send(sid, "step", {"n": 6})
    t.settle()
    t.send(2, "set_weight", {"layer": 1, "row": 0, "col": 1, "value": 1.5})
    t.send(1, "gradcheck")
    t.send(3, "save", {"name": "x"})
    assert t.group_sizes() == [3]
    t.send(1, "reset")
    assert t.group_sizes() == [3]
    for sid in (1, 2, 3):
        t.send(sid, "step", {"n": 10})
    t.settle()
    saved = [json.loads(b) for _, k, b in t.out.items if k == b"S"]
    want = [json.loads(b) for _, k, b in t.ref_out[3].items if k == b"S"]
    assert len(saved) == 1 and saved == want  # config, history, weights, summary
    t.out.items = [(s, k, b) for s, k, b in t.out.items if k != b"S"]
    t.ref_out[3].items = [(s, k, b) for s, k, b in t.ref_out[3].items if k != b"S"]
    t.compare()


def regression(lr, seed):
    return TrainConfig.model_validate({"data": {"name": "reg_plane", "noise": 0.1}, "network": {"hidden": [8, 8]},
                                       "optimizer": {"name": "gd", "learning_rate": lr}, "batch_size": 400,
                                       "epochs": 100000, "seed": seed})


def test_a_diverging_member_is_reported_and_the_others_go_on():
    t = Twin([regression(0.01, 1), regression(10.0, 2), regression(0.02, 3)])
    assert t.group_sizes() == [3]
    for sid in (1, 2, 3):
        t.send(sid, "step", {"n": 40})
    t.settle()
    texts = [(sid, json.loads(body)) for sid, kind, body in t.out.items if kind == TEXT]
    assert [(sid, m["type"]) for sid, m in texts if m["type"] == "diverged"] == [(2, "diverged")]
    assert t.session(2).trainer.status == "diverged" and t.session(2).batched
    t.compare()
    for sid in (1, 3):
        t.send(sid, "step", {"n": 15})
    t.settle()
    t.compare()
    assert [t.session(sid).trainer.iteration for sid in (1, 3)] == [55, 55]


def test_sessions_of_one_affinity_are_placed_on_one_worker():
    from server.workers import WorkerPool

    class Sink:
        pass

    pool = WorkerPool(2, 30, 5)  # not started: placement only
    loose = pool.open(Sink())
    room = [pool.open(Sink(), affinity="ROOM42") for _ in range(5)]
    other = pool.open(Sink())
    assert len({pool.placement[sid] for sid in room}) == 1
    assert pool.placement[room[0]] is not pool.placement[loose]  # the first picks the least busy
    assert pool.placement[other] is not pool.placement[room[0]]
    for sid in room:
        pool.close(sid)
    assert pool._affinity == {} and pool._affinity_of == {}


def test_diagnosis_is_recomputed_at_most_every_diagnosis_seconds(monkeypatch):
    t = Twin(CONFIGS[:2])
    group = next(iter(t.s.groups.values()))
    ids = [t.session(sid).trainer.id for sid in (1, 2)]
    monkeypatch.setattr(batching, "DIAGNOSIS_SECONDS", 3600.0)
    group.bt.step(5)  # "running": a change of status refreshes it at once
    first = group.snapshots(ids)
    group.bt.step(200)
    again = group.snapshots(ids)
    assert all(again[i].diagnosis is first[i].diagnosis for i in ids)  # repeated within the interval
    monkeypatch.setattr(batching, "DIAGNOSIS_SECONDS", 0.0)
    fresh = group.snapshots(ids)
    assert all(fresh[i].diagnosis == group.bt.snapshot(i).diagnosis for i in ids)
    assert all(fresh[i].diagnosis != first[i].diagnosis for i in ids)  # 200 iterations later
