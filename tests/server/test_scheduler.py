"""The in-worker scheduler without processes or sockets: a fake clock and a list of emissions."""
from __future__ import annotations

import json

import pytest

from engine.config import TrainConfig
from server import command_queue, limits, scheduler
from server.cost_curve import CostCurve
from server.scheduler import FRAME, SAVE, TEXT, Scheduler
from server.sessions import Session
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


def test_configure_emits_data_state_then_frame_and_nothing_while_paused():
    h = Harness()
    h.s.handle(1, "configure", {"config": CONFIG})
    kinds = h.take()
    assert [k for k, _ in kinds] == [TEXT, TEXT, FRAME]
    assert [json.loads(body)["type"] for _, body in kinds[:2]] == ["data", "state"]
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
    def snap(i, cost=1.0):
        return {"iteration": i, "epoch": 0, "learning_rate": 0.1, "minibatch_cost": cost, "train": None, "dev": None}

    history = CostCurve(cap=8)
    for i in range(1, 101):
        history.add(snap(i))
    rows = history.as_dict()["rows"]
    assert len(rows) < 8 and rows[-1][0] >= 90 and rows[0][0] <= 10
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    history.add(snap(rows[-1][0], 0.5))  # the same iteration again (a live `set`): nothing added
    assert history.rows == rows


# ---------------------------------------------------------------- per-session command queues
# (server/command_queue.py). Round numbers that are exact in binary: a budget refilled at 0.25 s
# per second, holding at most 0.5 s; a fake clock for the commands' costs.

@pytest.fixture()
def budget(monkeypatch):
    monkeypatch.setattr(command_queue, "COMMAND_RATE", 0.25)
    monkeypatch.setattr(command_queue, "COMMAND_BURST", 0.5)


class Costly(Harness):
    """A Harness whose gradient checks take `gradcheck_cost` seconds of the worker (a fake clock)."""

    def __init__(self, monkeypatch, gradcheck_cost, **kwargs):
        super().__init__(**kwargs)
        self.cost = 0.0
        self.s.cost_clock = lambda: self.cost
        real = Session.gradcheck

        def gradcheck(session):
            self.cost += gradcheck_cost
            return real(session)

        monkeypatch.setattr(Session, "gradcheck", gradcheck)

    def texts(self):
        return [json.loads(body) if kind == TEXT else ("frame", body["iteration"]) for kind, body in self.take()]


def test_commands_in_debt_wait_their_turn_in_order_and_repeats_coalesce(monkeypatch, budget):
    h = Costly(monkeypatch, gradcheck_cost=0.375)
    h.s.handle(1, "configure", {"config": CONFIG})
    h.take()
    h.s.handle(1, "gradcheck", {})  # budget 0.5 -> 0.125: ran at once
    h.s.handle(1, "gradcheck", {})  # 0.125 is no debt: ran at once -> -0.25
    assert [m["type"] for m in h.texts()] == ["gradcheck", "gradcheck"]
    h.s.handle(1, "gradcheck", {})  # in debt: waits
    h.s.handle(1, "gradcheck", {})  # one is already waiting: refused
    h.s.handle(1, "predict_grid", {"resolution": 50})  # waits ...
    h.s.handle(1, "predict_grid", {"resolution": 60})  # ... and is replaced by the newer one
    h.s.handle(1, "set", {"changes": {"learning_rate": 0.5}})  # waits behind them: replies keep their order
    (refused,) = h.texts()
    assert refused["type"] == "error" and refused["request_type"] == "gradcheck"
    assert "already waiting" in refused["message"]
    assert [op for op, _ in h.s.slots[1].commands.waiting] == ["gradcheck", "predict_grid", "set"]
    assert h.s.tick() == pytest.approx(1.0)  # the debt of 0.25 s is paid back in 1 s
    assert h.take() == []
    h.now = 1.0
    assert h.s.tick() == 0.0  # its turn: the gradient check (0.375 s) takes the whole turn
    assert [m["type"] for m in h.texts()] == ["gradcheck"]
    assert h.s.tick() == pytest.approx(1.5)  # debt 0.375 s
    h.now = 2.5
    h.s.tick()  # the grid change and the `set` cost nothing (here): one turn
    replies = h.take()
    assert [kind for kind, _ in replies] == [FRAME, TEXT]
    assert replies[0][1]["arrays"]["boundary"]["shape"] == [60, 60] and h.s.slots[1].resolution == 60
    assert json.loads(replies[1][1])["config"]["optimizer"]["learning_rate"] == 0.5
    assert h.s.tick() is None and len(h.s.slots[1].commands) == 0


def test_a_flood_gets_the_budget_and_its_neighbour_every_frame(monkeypatch, budget):
    """64 gradient checks a second, each taking 0.125 s: 4 run at once from the full budget of
    0.5 s and a fifth at 0 (no debt yet), then one every 0.5 s (0.125 s at 0.25 s per second);
    the neighbour playing at 10 frames/s gets all its 10 frames a second."""
    h = Costly(monkeypatch, gradcheck_cost=0.125, steps_per_frame=5, fps=10)
    h.s.handle(2, "open", {"fps": 10, "steps_per_frame": 5})
    for sid in (1, 2):
        h.s.handle(sid, "configure", {"config": CONFIG})
    h.s.handle(1, "play", {})
    h.take()
    for k in range(64 * 10):  # 10 s of the flood, the neighbour asking for every frame
        h.now = k / 64
        h.s.handle(2, "gradcheck", {})
        h.s.handle(1, "want", {})
        h.run(3)
    out = [(sid, kind, body) for sid, kind, body in h.out]
    checks = sum(1 for sid, kind, body in out if sid == 2 and kind == TEXT and json.loads(body)["type"] == "gradcheck")
    assert checks == 5 + 19  # t = 0.5, 1.0, ... 9.5 (at 10.0 the flood is over)
    frames = sum(1 for sid, kind, _ in out if sid == 1 and kind == FRAME)
    assert frames >= 99  # one every 0.1 s over 10 s


def test_closing_drops_the_waiting_commands_at_once(monkeypatch, budget):
    h = Costly(monkeypatch, gradcheck_cost=1.0)
    h.s.handle(1, "configure", {"config": CONFIG})
    for _ in range(3):
        h.s.handle(1, "gradcheck", {})  # the first runs (debt 0.5 s), the second waits, the third is refused
    h.s.handle(1, "reset", {})
    assert len(h.s.slots[1].commands) == 2
    h.s.handle(1, "close", {})
    h.take()
    h.now = 100.0
    assert h.s.slots == {} and h.s.tick() is None and h.take() == []


def test_at_most_max_queued_commands_wait(monkeypatch, budget):
    h = Costly(monkeypatch, gradcheck_cost=1.0)
    h.s.handle(1, "configure", {"config": CONFIG})
    h.s.handle(1, "gradcheck", {})  # debt 0.5 s
    h.take()
    for _ in range(command_queue.MAX_QUEUED + 1):
        h.s.handle(1, "set", {"changes": {"learning_rate": 0.1}})
    (refused,) = h.texts()
    assert refused["type"] == "error" and refused["request_type"] == "set" and "too many commands" in refused["message"]
    assert len(h.s.slots[1].commands) == command_queue.MAX_QUEUED
    h.now = 2.0  # the debt is paid back: every waiting `set` runs in one turn (they cost nothing here)
    h.s.tick()
    assert [m["type"] for m in h.texts()] == ["state"] * command_queue.MAX_QUEUED


def test_a_batched_member_s_waiting_command_takes_its_group_s_turn(monkeypatch, budget):
    h = Costly(monkeypatch, gradcheck_cost=0.75, steps_per_frame=None)
    h.s.handle(2, "open", {"fps": 10, "steps_per_frame": None})
    for sid in (1, 2):
        h.s.handle(sid, "configure", {"config": CONFIG})
        h.s.handle(sid, "play", {})
    assert h.s.slots[1].session.batched and h.s.slots[2].session.batched
    h.s.handle(2, "gradcheck", {})  # debt 0.25 s
    h.s.handle(2, "gradcheck", {})  # waits 1 s
    h.take()
    h.run(5)
    assert len(h.s.slots[2].commands) == 1  # in debt: the group trains meanwhile
    h.now = 1.0
    h.run(1)
    assert [m["type"] for m in h.texts() if isinstance(m, dict)] == ["gradcheck"]
    assert h.s.slots[2].session.batched and len(h.s.slots[2].commands) == 0  # back in its group


# ---------------------------------------------------------------- frame budgets
# (Scheduler._may_draw). A fake clock for what frames cost: a 200×200 grid "costs" 0.25 s, any
# other resolution 0.01 s; the budget is FRAME_SHARE / N seconds per second per session playing.

class Drawn(Harness):
    def __init__(self, monkeypatch, share, burst, **kwargs):
        monkeypatch.setattr(limits, "FRAME_SHARE", share)
        monkeypatch.setattr(limits, "FRAME_BURST", burst)
        monkeypatch.setattr(scheduler, "BATCHING", False)  # three sessions alone, one unit each
        super().__init__(**kwargs)
        self.cost = 0.0
        self.s.cost_clock = lambda: self.cost
        real = Session.frame

        def frame(session, status, resolution, *args, **kw):
            self.cost += 0.25 if resolution == 200 else 0.01
            return real(session, status, resolution, *args, **kw)

        monkeypatch.setattr(Session, "frame", frame)

    def frames_by_session(self):
        counts = {}
        for sid, kind, _ in self.out:
            if kind == FRAME:
                counts[sid] = counts.get(sid, 0) + 1
        self.out = []
        return counts


def test_a_session_s_costly_frames_get_its_share_and_its_neighbours_every_frame(monkeypatch):
    """Three sessions playing at fps 8 share 0.75 s/s: 0.25 s/s each. The 200×200 one spends its
    burst of 0.25 s on one frame (at 0.125 s: still no debt) and a second (debt 0.25 s), then draws
    one frame per second (0.25 s of frames at 0.25 s per second): 2 + 9 frames in 10 s; the two
    others (0.08 s/s of frames each) get all their 8 frames a second (the first at 0.125 s, after
    the frame that answered `configure`)."""
    h = Drawn(monkeypatch, share=0.75, burst=0.25, steps_per_frame=None, fps=8)
    for sid in (2, 3):
        h.s.handle(sid, "open", {"fps": 8, "steps_per_frame": None})
    for sid in (1, 2, 3):
        h.s.handle(sid, "configure", {"config": CONFIG})
        h.s.handle(sid, "play", {})
    h.s.handle(1, "predict_grid", {"resolution": 200})
    h.s.tick()  # counts the sessions playing
    h.take()
    for k in range(80):  # 10 s, every session asking for every frame
        h.now = k / 8
        for sid in (1, 2, 3):
            h.s.handle(sid, "want", {})
        h.run(4)
    counts = h.frames_by_session()
    assert counts[1] == 2 + 9  # t = 0.125, 0.25, then 1.25, 2.25, ... 9.25
    assert counts[2] == counts[3] == 79
    assert h.s.slots[1].frame_budget.rate == pytest.approx(0.25)


def test_alone_a_session_s_costly_frames_are_not_limited(monkeypatch):
    """Alone on its worker a session may take FRAME_SHARE (2 s) per second of frames: at 0.25 s a
    frame and fps 4 (1 s/s), every frame is drawn."""
    h = Drawn(monkeypatch, share=2.0, burst=0.1, steps_per_frame=None, fps=4)
    h.s.handle(1, "predict_grid", {"resolution": 200})  # before a session: no frame yet
    h.s.handle(1, "configure", {"config": CONFIG})  # its frame at 0 s: the next is due at 0.25 s
    h.s.handle(1, "play", {})
    h.take()
    for k in range(40):  # 10 s
        h.now = k / 4
        h.s.handle(1, "want", {})
        h.run(2)
    assert h.frames_by_session() == {1: 39}  # 0.25, 0.5, ... 9.75 s


def test_a_session_in_frame_debt_lets_its_worker_sleep_until_the_debt_is_paid(monkeypatch):
    """steps_per_frame 2 at fps 10, alone, 0.25 s/s: a 0.25 s frame from a budget of 0.1 s leaves
    a debt of 0.15 s; the next frame is due in 0.1 s by the pacing but waits 0.6 s for the budget,
    and the worker may sleep that long (no busy loop)."""
    h = Drawn(monkeypatch, share=0.25, burst=0.1, steps_per_frame=2, fps=10)
    h.s.handle(1, "configure", {"config": CONFIG})
    h.s.handle(1, "play", {})
    h.s.handle(1, "predict_grid", {"resolution": 200})
    h.now = 1.0  # the commands' frames are paid for by the command budget, not this one
    h.take()
    h.s.handle(1, "want", {})
    h.run(2)
    assert len(h.frames()) == 1 and h.s.slots[1].frame_budget.tokens == pytest.approx(-0.15)
    h.run(2)  # its 2 steps
    h.s.handle(1, "want", {})
    assert h.s.tick() == pytest.approx(0.6)
    h.now = 1.5
    h.run(1)
    assert h.frames() == []
    h.now = 1.6
    h.run(1)
    assert len(h.frames()) == 1


def test_with_many_sessions_a_session_s_commands_get_its_fair_share(monkeypatch, budget):
    """COMMAND_RATE 0.25 s/s while it is under the fair share COMMAND_SHARE / N (here 1 / N):
    up to 4 sessions; with 8 sessions open on the worker, 0.125 s/s; back to 0.25 when 4 are left.
    A gradient check of 0.75 s from a full budget (0.5 s) leaves a debt of 0.25 s: 2 s to wait
    at 0.125 s/s."""
    monkeypatch.setattr(command_queue, "COMMAND_SHARE", 1.0)
    h = Costly(monkeypatch, gradcheck_cost=0.75)
    rates = lambda: {round(slot.commands.budget.rate, 6) for slot in h.s.slots.values()}  # noqa: E731
    for sid in range(2, 5):
        h.s.handle(sid, "open", {"fps": 10, "steps_per_frame": 2})
    assert rates() == {0.25}
    for sid in range(5, 9):
        h.s.handle(sid, "open", {"fps": 10, "steps_per_frame": 2})
    assert rates() == {0.125}
    h.s.handle(1, "configure", {"config": CONFIG})
    h.s.handle(1, "gradcheck", {})
    h.s.handle(1, "gradcheck", {})  # waits for the debt
    h.take()
    assert h.s.tick() == pytest.approx(2.0)
    for sid in range(5, 9):
        h.s.handle(sid, "close", {})
    assert rates() == {0.25}
