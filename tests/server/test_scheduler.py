"""The in-worker scheduler without processes or sockets: a fake clock and a list of emissions."""
from __future__ import annotations

import json

import pytest

from engine.config import TrainConfig
from server.scheduler import FRAME, SAVE, TEXT, Scheduler
from server.sessions import History
from tests.server.conftest import decode_frame

CONFIG = TrainConfig.model_validate({"data": {"name": "circle"}, "network": {"hidden": [4]}, "epochs": 100000})


class Harness:
    def __init__(self, steps_per_frame=2, fps=10):
        self.now = 0.0
        self.out = []
        self.s = Scheduler(lambda sid, kind, body: self.out.append((sid, kind, body)), clock=lambda: self.now)
        self.s.handle(1, "open", {"fps": fps, "steps_per_frame": steps_per_frame})

    def take(self):
        out, self.out = self.out, []
        return [(kind, decode_frame(body)[0] if kind == FRAME else body) for _, kind, body in out]

    def frames(self):
        return [body for kind, body in self.take() if kind == FRAME]

    def run(self, ticks):
        for _ in range(ticks):
            self.s.tick()


def test_configure_emits_state_then_frame_and_nothing_while_paused():
    h = Harness()
    h.s.handle(1, "configure", {"config": CONFIG})
    kinds = h.take()
    assert [k for k, _ in kinds] == [TEXT, FRAME] and json.loads(kinds[0][1])["type"] == "state"
    assert h.s.tick() is None  # nothing to do: block until a command
    h.s.handle(1, "want", {})
    h.run(5)
    assert h.take() == []


def test_steps_per_frame_want_and_pacing():
    h = Harness(steps_per_frame=2, fps=10)
    h.s.handle(1, "configure", {"config": CONFIG})
    h.s.handle(1, "play", {})
    h.take()
    h.run(10)  # 2 iterations, then it waits for a frame: no `want` yet
    assert h.s.slots[1].session.trainer.iteration == 2 and h.take() == []
    h.now = 1.0  # well after the configure frame
    h.s.handle(1, "want", {})
    h.run(1)
    assert [f["iteration"] for f in h.frames()] == [2]
    h.s.handle(1, "want", {})
    h.run(10)
    assert h.frames() == [] and h.s.slots[1].session.trainer.iteration == 4  # not due before 1/fps
    assert h.s.tick() == pytest.approx(0.1)  # the caller may sleep until the frame is due
    h.now += 0.1
    h.run(1)
    assert [f["iteration"] for f in h.frames()] == [4]


def test_step_request_and_round_robin_fairness():
    h = Harness(steps_per_frame=None)
    h.s.handle(2, "open", {"fps": 10, "steps_per_frame": None})
    for sid in (1, 2):
        h.s.handle(sid, "configure", {"config": CONFIG})
        h.s.handle(sid, "play", {})
    h.take()
    h.run(20)
    a, b = (h.s.slots[sid].session.trainer.iteration for sid in (1, 2))
    assert a > 0 and b > 0 and 0.3 < a / b < 3  # both advance by time-sized chunks
    h.s.handle(1, "step", {"n": 7})  # a step request stops playing and runs exactly n
    start = h.s.slots[1].session.trainer.iteration
    h.run(200)
    frames = [body for kind, body in h.take() if kind == FRAME]
    assert h.s.slots[1].session.trainer.iteration == start + 7 and frames[-1]["iteration"] == start + 7


def test_errors_save_and_close():
    h = Harness()
    h.s.handle(1, "play", {})
    error = json.loads(h.take()[0][1])
    assert error["type"] == "error" and "configure" in error["message"]
    h.s.handle(1, "configure", {"config": CONFIG})
    h.s.handle(1, "set", {"changes": {"keep_prob": [0.5, 0.5]}})  # one hidden layer: one value
    error = json.loads(h.take()[-1][1])
    assert error["type"] == "error" and error["request_type"] == "set" and "Keep prob" in error["message"]
    assert error["field"] == "config.regularization.keep_prob"
    h.s.handle(1, "save", {"name": "r"})
    kind, body = h.take()[-1]
    assert kind == SAVE and json.loads(body) == {"store": True, "record": json.loads(body)["record"]}
    assert json.loads(body)["record"]["name"] == "r"
    h.s.handle(1, "close", {})
    assert h.s.slots == {} and h.s.tick() is None


def test_history_is_bounded():
    class Snap:
        def __init__(self, i):
            self.iteration = i

        def to_dict(self):
            return {"iteration": self.iteration, "epoch": 0, "learning_rate": 0.1, "minibatch_cost": 1.0,
                    "train": None, "dev": None}

    history = History(cap=8)
    for i in range(1, 101):
        history.add(Snap(i))
    rows = history.as_dict()["rows"]
    assert len(rows) < 8 and rows[-1][0] >= 90 and rows[0][0] <= 10
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
