"""The scheduler inside a worker process: many sessions, fair round-robin chunks of training
steps, frames paced per session and produced only when the connection can take one.

Pacing rules (docs/protocol.md "Speed and frames"):
- a session emits a frame when its connection wants one (`want`, sent by the main process while
  the client has credits), something changed since the last frame, and 1/fps has passed;
- steps_per_frame = N: N iterations, then wait for the next frame; "max": train continuously,
  frames are taken in between, so the step rate does not depend on the frame rate;
- every call of `tick()` first emits the frames that are due, then trains ONE chunk (≤ 4 ms) of
  the next session in round-robin order, so a frame is never late by more than one chunk and
  every running session gets the same share of the CPU.
Replies that answer a command (state, frame after configure/step/reset, gradcheck, ...) are
emitted as soon as it ran; a new session (configure, import) first sends its points, once, in a
`data` message (a `state` does not repeat them). `emit(sid, kind, body)` hands bytes to the
transport (server/workers.py).

Commands are queued per session (server/command_queue.py): each session has a budget of the
worker's seconds for its commands; a command runs at once while its session has nothing waiting and no
debt, else it waits, in order, for the session's turn of the round-robin (where it takes the place
of a training chunk), so a client flooding costly commands (gradcheck, predict_grid) gets about
COMMAND_RATE of its worker and the other sessions keep their frames. `want` and `watched` (the
main process's flow control) are never queued. A session's due frames have a budget of their
own (`_may_draw`): FRAME_SHARE / N of the worker's time, N sessions playing, so a client asking
for costly frames (a 200×200 grid on the largest network at fps 60) gets fewer of them, not its
neighbours' share.

Batching (server/batching.py): sessions of this worker whose configs are batch-compatible form a
Group (one engine BatchedTrainer), from two members on. A group is one unit of the round-robin:
its turn steps every trainable member in one `step()` call (members wanting different numbers of
iterations in one call per number); its members' due frames are computed together (one
`snapshots()` and one `stacked_grids()` pass), and a member whose frame is nearly due (within
half an interval) joins that pass, so the members' cadences align. Frames and messages are the
ones a session alone would send. A session joins (or founds, with another session alone) its
group when configured, imported or reset; it leaves it when closed or replaced, and for the ops
that need a real Trainer (set_weight, gradcheck, save, export, reset) it leaves, the op runs,
and it joins again. A group's frames are encoded together too: all images quantized and all
parameters packed in one NumPy pass each, the bytes each frame would get alone.

Watched runs (op `watched`, sent by the main process while a class follows the run or it is a
room's teacher run): never batched, and every other tick trains one first, so a worker shared
with a class's own runs cannot slow the run the class watches to 1/N of the worker; while a
watched run is on the worker, a group's frames are drawn at most WATCHED_PASS at a time.
"""
from __future__ import annotations

import json
import math
import os
import re
import time
from typing import Any, Callable, Optional

import numpy as np
from pydantic import ValidationError

from engine.config import format_errors
from server import limits
from server.frames import NonFiniteFrame, Quantized, quantize_many
from server.protocol import error_message
from server import session_state
from server.batching import Group
from server.command_queue import CommandQueue, fair_rate
from server.time_budget import TimeBudget
from server.sessions import Session
from server.wording import divergence_hint

TEXT, FRAME, SAVE, INFO, EXPORT = b"T", b"F", b"S", b"I", b"X"
CHUNK_SECONDS = 0.004   # training per turn with few sessions (a frame is late by at most this) ...
ROUND_SECONDS = 0.025   # ... shrunk so a round over all running sessions, their frames included, stays
                        # near this (< 1/30 s); frames come first: at least one iteration per turn
# NN_PLAYGROUND_BATCHING=0 in the server's environment keeps every session on its own Trainer
# (for comparisons: bench/room_bench.py measures a class both ways).
BATCHING = os.environ.get("NN_PLAYGROUND_BATCHING", "1") != "0"
EARLY_FRAME = 0.5       # a group member's frame is computed with the group's due ones this early (× 1/fps)
WATCHED_PASS = 24       # with a watched run on the worker, a group's frames are drawn this many at a
                        # time (the most overdue first), so the watched run's frame never waits for a
                        # whole class's pass (3 busy processes beside the server: teacher 23 -> 28 frames/s)
# Ops that need the session's own Trainer (or replace it): a batched member leaves, then joins again.
UNBATCHED_OPS = frozenset(("configure", "import", "reset", "set_weight", "gradcheck", "save", "export"))
# The main process's flow control, not a client's command: run at once, never queued nor charged.
CONTROL_OPS = frozenset(("want", "watched"))


class Slot:
    """A connection's place in the worker: its session (once configured) and its pacing state."""

    def __init__(self, sid: int, fps: float, steps_per_frame: Optional[int]):
        self.sid = sid
        self.fps = fps
        self.steps_per_frame = steps_per_frame  # None = "max"
        self.resolution = limits.DEFAULT_RESOLUTION
        self.session: Optional[Session] = None
        self.playing = False
        self.want = False        # the connection can take a frame
        self.fresh = False       # trained since the last frame
        self.budget = 0          # iterations left before the next frame (steps_per_frame mode)
        self.requested = 0       # iterations left of a `step` request
        self.next_frame = -math.inf  # frames keep a steady cadence of 1/fps
        self.watched = False     # a class watches this run: alone, and every other training turn
        self.rate = 1000.0       # measured iterations per second, sizes the chunks
        self.commands = CommandQueue()  # its commands waiting their turn, and its time budget for them
        # the worker's time its due frames may take: its fair share, FRAME_SHARE / (sessions playing)
        self.frame_budget = TimeBudget(limits.FRAME_SHARE, limits.FRAME_BURST)

    def trainable(self) -> bool:
        if self.session is None or self.session.finished:
            return False
        if self.requested > 0:
            return True
        return self.playing and (self.steps_per_frame is None or self.budget > 0)

    def speed(self) -> dict:
        return {"steps_per_frame": "max" if self.steps_per_frame is None else self.steps_per_frame,
                "fps": self.fps, "resolution": self.resolution}


def _engine_error_field(message: str) -> tuple[str, str]:
    """Engine ValueErrors start with the key they are about ('data.split: ...') when they can."""
    match = re.match(r"^([a-z_]+(?:\.[a-z_0-9]+)*): (.*)$", message, re.S)
    if match and match.group(1).split(".")[0] in ("data", "network", "regularization", "optimizer",
                                                  "schedule", "features", "batch_size", "early_stopping"):
        return "config." + match.group(1), match.group(2)
    return "config", message


class Scheduler:
    def __init__(self, emit: Callable[[int, bytes, bytes], None], clock: Callable[[], float] = time.monotonic,
                 flush: Callable[[], None] = lambda: None, cost_clock: Callable[[], float] = time.perf_counter):
        self.emit = emit
        self.flush = flush  # sends what `emit` queued: called before training, so frames never wait
        self.clock = clock
        # measures what a command cost, charged to its session's budget: the worker's elapsed time,
        # not its CPU time, since that is what the other sessions wait (on a loaded machine, where
        # the worker gets a fraction of a core, a command's CPU time is a fraction of that wait)
        self.cost_clock = cost_clock
        self.slots: dict[int, Slot] = {}
        self._turn = 0  # round-robin position
        self._running = 0  # sessions playing, for the chunk size
        self._frame_seconds = 0.0  # what computing one frame takes (moving average), for the chunk size
        self._slot_list: Optional[list] = None  # round-robin units: a Slot, or (Group, [its Slots])
        self.groups: dict[tuple, Group] = {}  # batch key -> the group of this worker's sessions with it
        self._watched: dict[int, Slot] = {}  # sid -> slot of the runs a class watches (op `watched`)
        self._boost = False  # this tick's turn goes to a watched run first
        self._frame_share = limits.FRAME_SHARE  # each playing session's budget for frames, s/s

    # ------------------------------------------------------------------ output
    def _text(self, sid: int, message: dict | str) -> None:
        body = message if isinstance(message, str) else json.dumps(message)
        self.emit(sid, TEXT, body.encode())

    def _error(self, slot: Slot, field: str, message: str, request_type: Optional[str]) -> None:
        self._text(slot.sid, error_message(field, message, request_type))

    def _state(self, slot: Slot) -> None:
        self._text(slot.sid, slot.session.state_text(slot.playing, {"speed": slot.speed()}))

    def _new_session(self, slot: Slot, session: Session) -> None:
        """A configured or imported session, paused: its `data` (the points, sent once per
        session: play, pause, set and reset replies are `state`s without them), then its `state`."""
        slot.session = session
        slot.playing, slot.requested, slot.budget, slot.fresh = False, 0, 0, False
        self._text(slot.sid, session.data_text())
        self._state(slot)

    def _frame(self, slot: Slot) -> float:
        """Compute and emit the slot's frame; returns what computing it took (seconds)."""
        session = slot.session
        if session.trainer.status == "diverged":
            return 0.0  # parameters were restored, but a diverged run shows `diverged`, not frames
        started = self.cost_clock()
        try:
            frame = session.frame(session.status(slot.playing), slot.resolution)
        except NonFiniteFrame:
            self._diverged(slot, weights_too_large=True)
            return 0.0
        cost = self.cost_clock() - started
        self._frame_seconds += 0.1 * (cost - self._frame_seconds)
        self._sent(slot, frame)
        return cost

    def _sent(self, slot: Slot, frame: bytes, now: Optional[float] = None) -> None:
        """Emit a slot's frame and restart its pacing (from `now`: a group's frames count from
        the tick that found them due, not from the end of their batched pass)."""
        slot.want = slot.fresh = False
        now = self.clock() if now is None else now
        interval = 1.0 / slot.fps
        # next = previous due time + interval, so small delays do not add up; restart the cadence
        # after a pause or a slow client rather than bursting to catch up.
        slot.next_frame = slot.next_frame + interval if now - slot.next_frame < interval else now + interval
        if slot.steps_per_frame is not None:
            slot.budget = slot.steps_per_frame
        self.emit(slot.sid, FRAME, frame)

    def _diverged(self, slot: Slot, weights_too_large: bool = False) -> None:
        t = slot.session.trainer
        slot.playing, slot.requested = False, 0
        iteration = t.diverged_at if t.diverged_at is not None else t.iteration
        self._text(slot.sid, {
            "type": "diverged", "iteration": iteration, "epoch": t.epoch, "restored_iteration": t.restored_iteration,
            "hint": divergence_hint(iteration, t.learning_rate, t.restored_iteration, weights_too_large),
            # the blow-up for the counters and curves: last finite mini-batch cost at its iteration, ...
            **(slot.session.divergence(weights_too_large) or {}),
        })

    def _finished(self, slot: Slot) -> None:
        """After a chunk that ended the run: `diverged`, or `done` + state + a last frame."""
        status = slot.session.trainer.status
        if status == "diverged":
            self._diverged(slot)
            return
        slot.playing, slot.requested = False, 0
        self._text(slot.sid, {"type": "done", "status": status, "epochs_run": slot.session.trainer.epoch,
                              "outcome": slot.session.outcome()})
        self._state(slot)
        self._frame(slot)

    # ------------------------------------------------------------------ commands
    def handle(self, sid: int, op: str, args: dict) -> None:
        """One command from the main process: run at once, or queued behind the session's waiting
        ones when it has some or its budget is in debt (server/command_queue.py)."""
        if op == "open":
            self.slots[sid] = Slot(sid, args["fps"], args["steps_per_frame"])
            self._slot_list = None
            self._share_commands()
            return
        if op == "close":
            self._watched.pop(sid, None)
            slot = self.slots.pop(sid, None)
            if slot is not None and slot.session is not None and slot.session.batched:
                group = slot.session.trainer.group
                slot.session.drop()
                self._tidy(group)
            self._slot_list = None
            self._share_commands()
            return
        if op == "stats":
            self.emit(sid, INFO, json.dumps({"sessions": len(self.slots),
                                             "batched": sum(len(g) for g in self.groups.values())}).encode())
            return
        slot = self.slots.get(sid)
        if slot is None:
            return  # closed meanwhile
        if op in CONTROL_OPS:
            self._run(slot, op, args)
            return
        queue = slot.commands
        if queue or not queue.budget.can_run(self.clock()):  # behind its waiting ones, or in debt: it waits
            refused = queue.add(op, args)
            if refused is not None:
                self._error(slot, "", refused, op)
            return
        self._charged(slot, op, args)

    def _share_commands(self) -> None:
        """Every session's budget for commands refills at its fair rate for this many sessions."""
        rate = fair_rate(len(self.slots))
        for slot in self.slots.values():
            slot.commands.budget.rate = rate

    def _charged(self, slot: Slot, op: str, args: dict) -> float:
        """Run a command, charging the time it took to the session's budget; returns that time."""
        started = self.cost_clock()
        self._run(slot, op, args)
        cost = self.cost_clock() - started
        if op == "configure" and getattr(slot.session, "setup_seconds", 0.0):  # CNN lab hook: this worker's
            cost -= min(cost, slot.session.setup_seconds)  # one-off import of scikit-learn is not the
            slot.session.setup_seconds = 0.0               # client's doing (server/cnn_frames.py warm_up)
        slot.commands.budget.charge(cost)
        return cost

    def _serve(self, slot: Slot, now: float) -> None:
        """A session's turn spent on its waiting commands: in order, while its budget is out of
        debt, until they took CHUNK_SECONDS (one costly command takes the whole turn)."""
        spent = 0.0
        while slot.commands and spent < CHUNK_SECONDS and slot.commands.budget.can_run(now):
            spent += self._charged(slot, *slot.commands.pop())

    def _run(self, slot: Slot, op: str, args: dict) -> None:
        """Run one command; failures become `error` replies."""
        group = self._unbatch(slot) if op in UNBATCHED_OPS else None
        try:
            getattr(self, "_op_" + op)(slot, **args)
        except ValidationError as err:
            field, _, message = format_errors(err)[0].partition(": ")
            self._error(slot, field, message, op)
        except ValueError as exc:
            self._error(slot, *_engine_error_field(str(exc)), op)
        finally:
            if op in UNBATCHED_OPS:
                self._place(slot)
                if group is not None:
                    self._tidy(group)

    # ------------------------------------------------------------------ batching
    def _unbatch(self, slot: Slot) -> Optional[Group]:
        """The slot's session leaves its group (exact state on its own Trainer); its group or None."""
        session = slot.session
        if session is None or not session.batched:
            return None
        group = session.trainer.group
        session.leave()
        self._slot_list = None
        return group

    def _place(self, slot: Slot) -> None:
        """Put the slot's session in the group of its batch key, founding it with another session
        alone on that key if there is one; a session alone stays on its own Trainer."""
        session = slot.session
        if session is None or session.batched or not BATCHING or slot.watched:
            return
        key = session.batch_key
        if key is None:
            return
        group = self.groups.get(key)
        if group is None:
            partner = next((s for s in self.slots.values() if s is not slot and s.session is not None
                            and not s.session.batched and not s.watched and s.session.batch_key == key), None)
            if partner is None:
                return
            group = Group(key)
            try:
                partner.session.join(group)
            except ValueError:
                return
            self.groups[key] = group
        try:
            session.join(group)
        except ValueError:  # the engine's rules say no after all: train alone
            pass
        self._tidy(group)
        self._slot_list = None

    def _tidy(self, group: Group) -> None:
        """A group of one member dissolves (the member goes on alone on its own Trainer)."""
        if len(group) == 1:
            (session,) = group.members.values()
            session.leave()
        if len(group) == 0 and self.groups.get(group.key) is group:
            del self.groups[group.key]
        self._slot_list = None

    def _need_session(self, slot: Slot, op: str, train: bool = False) -> bool:
        if slot.session is None:
            self._error(slot, "type", "no training session yet: send `configure` first", op)
            return False
        if train and slot.session.finished:
            status = slot.session.trainer.status
            why = ("the run diverged: lower the learning rate and press reset" if status == "diverged"
                   else f"training is over ({status}): press reset, or configure more epochs")
            self._error(slot, "type", why, op)
            return False
        return True

    def _op_want(self, slot: Slot) -> None:
        slot.want = True

    def _op_watched(self, slot: Slot, on: bool) -> None:
        """A class watches this run (a room's teacher run, a spotlit student's): it trains
        alone (never in a batch: a group is one turn for all its members) and first on every
        other tick, so the class's own runs on its worker, batched or not, slow it to about
        half the worker at worst, not to 1/N of it."""
        slot.watched = on
        if on:  # out of its batch: a group's turn (and pass of frames) is the whole class's
            self._watched[slot.sid] = slot
            group = self._unbatch(slot)
            if group is not None:
                self._tidy(group)
        else:
            self._watched.pop(slot.sid, None)
            self._place(slot)

    def _op_configure(self, slot: Slot, config, csv=None, init_parameters=None, saved=None) -> None:
        self._new_session(slot, Session(config, csv=csv, init_parameters=init_parameters, saved=saved))
        if saved is not None:  # a loaded run: its curves so far, before the frame that carries on
            self._text(slot.sid, {"type": "history", **slot.session.history.as_dict()})
        self._frame(slot)

    def _op_export(self, slot: Slot) -> None:
        """The session's whole state (a room's `fork`), right after a frame of that very state, so
        the copy's first frame carries the W, b of the original's last frame."""
        if self._need_session(slot, "fork"):
            if slot.session.trainer.status != "diverged":
                self._frame(slot)
            self.emit(slot.sid, EXPORT, session_state.dumps(slot.session))

    def _op_import(self, slot: Slot, state: bytes) -> None:
        """A session from `export`'s bytes, paused: replies data + state + frame like `configure`."""
        self._new_session(slot, session_state.loads(state))
        self._frame(slot)

    def _op_play(self, slot: Slot) -> None:
        if self._need_session(slot, "play", train=True):
            slot.playing, slot.requested = True, 0
            slot.budget = slot.steps_per_frame or 0
            self._state(slot)

    def _op_pause(self, slot: Slot) -> None:
        if self._need_session(slot, "pause"):
            slot.playing, slot.requested = False, 0
            self._state(slot)
            # where training stopped, with its paused status: also when nothing was trained since
            # the last frame, which a thinned follower (server/fanout.py) may not have had
            self._frame(slot)

    def _op_step(self, slot: Slot, n: Optional[int] = None, epochs: Optional[int] = None) -> None:
        if self._need_session(slot, "step", train=True):
            slot.playing = False
            slot.requested = n if n is not None else slot.session.iterations_for_epochs(epochs)

    def _op_reset(self, slot: Slot) -> None:
        if self._need_session(slot, "reset"):
            slot.session.reset()
            slot.playing, slot.requested, slot.fresh = False, 0, False
            self._state(slot)
            self._frame(slot)

    def _op_set(self, slot: Slot, changes: dict) -> None:
        if self._need_session(slot, "set"):
            slot.session.set(changes)
            slot.fresh = True
            self._state(slot)

    def _op_set_weight(self, slot: Slot, layer: int, row: int, col: int, value: float) -> None:
        if self._need_session(slot, "set_weight"):
            try:
                slot.session.set_weight(layer, row, col, value)
            except IndexError as exc:
                self._error(slot, *exc.args, "set_weight")
                return
            slot.fresh = True
            self._frame(slot)

    def _op_speed(self, slot: Slot, steps_per_frame: Any = None, fps: Optional[int] = None) -> None:
        if steps_per_frame is not None:
            slot.steps_per_frame = None if steps_per_frame == "max" else int(steps_per_frame)
            slot.budget = slot.steps_per_frame or 0
        if fps is not None:
            slot.fps = fps

    def _op_predict_grid(self, slot: Slot, resolution: int) -> None:
        slot.resolution = resolution
        if slot.session is not None:
            self._frame(slot)

    def _op_gradcheck(self, slot: Slot) -> None:
        if self._need_session(slot, "gradcheck"):
            try:
                self._text(slot.sid, slot.session.gradcheck())
            except ValueError as exc:  # dropout on
                self._error(slot, "config.regularization.keep_prob", str(exc), "gradcheck")

    def _op_save(self, slot: Slot, name: str, store: bool = True) -> None:
        if self._need_session(slot, "save"):
            self.emit(slot.sid, SAVE, json.dumps({"store": store, "record": slot.session.record(name)}).encode())

    # ------------------------------------------------------------------ training
    def tick(self) -> Optional[float]:
        """Emit due frames, then train one chunk of the next session. Returns how long the caller
        may wait for commands before calling again: 0, seconds, or None (until a command)."""
        now = self.clock()
        order = self._order()
        due_groups: Optional[dict] = None
        self._frame_share = limits.FRAME_SHARE / max(1, self._running)
        for slot in self.slots.values():  # due: wanted, trained since the last one, paced (inlined: hot)
            if (slot.want and slot.fresh and slot.playing and now >= slot.next_frame
                    and (slot.steps_per_frame is None or slot.budget == 0) and slot.session is not None
                    and self._may_draw(slot, now)):
                if slot.session.batched:
                    due_groups = due_groups or {}
                    due_groups.setdefault(slot.session.trainer.group, None)
                else:
                    slot.frame_budget.charge(self._frame(slot))
        if due_groups:
            for group in due_groups:
                self._group_frames(group, now)
        self.flush()
        self._running = sum(slot.playing for slot in self.slots.values())
        if self._watched:
            self._boost = not self._boost
            if self._boost:
                for slot in self._watched.values():
                    if slot.trainable():
                        self._chunk(slot)
                        self.flush()
                        return 0.0
        for i in range(len(order)):
            unit = order[(self._turn + i) % len(order)]
            if type(unit) is Slot:
                if unit.commands and unit.commands.budget.can_run(now):  # its waiting commands take its turn
                    self._turn = (self._turn + i + 1) % len(order)
                    self._serve(unit, now)
                    self.flush()
                    return 0.0
                if unit.trainable():
                    self._turn = (self._turn + i + 1) % len(order)
                    self._chunk(unit)
                    self.flush()
                    return 0.0
                continue
            waiting = next((slot for slot in unit[1] if slot.commands and slot.commands.budget.can_run(now)), None)
            if waiting is not None:  # one member's commands take the group's turn
                self._turn = (self._turn + i + 1) % len(order)
                self._serve(waiting, now)
                self.flush()
                return 0.0
            members = [slot for slot in unit[1] if slot.trainable()]
            if members:
                self._turn = (self._turn + i + 1) % len(order)
                self._group_chunk(unit[0], members)
                self.flush()
                return 0.0
        waits = [max(slot.next_frame - now, slot.frame_budget.wait(now)) for slot in self.slots.values()
                 if slot.session is not None and slot.want and slot.fresh and slot.playing]
        waits += [slot.commands.budget.wait(now) for slot in self.slots.values() if slot.commands]  # debts paid back
        return max(0.0, min(waits)) if waits else None

    _group_slots: dict = {}

    def _may_draw(self, slot: Slot, now: float) -> bool:
        """The slot's frame budget is not in debt. Frames are the one cost a client chooses that
        the round-robin does not share out (fps 60 at a 200×200 grid on the largest network takes
        half a worker): each playing session's due frames may take FRAME_SHARE / N of the worker
        (N sessions playing there) over time; a session in debt gets its next frame once the debt
        is paid back, so its frame rate drops and its neighbours' hold."""
        slot.frame_budget.rate = self._frame_share
        return slot.frame_budget.can_run(now)

    def _order(self) -> list:
        """The round-robin units: each session alone as its Slot, each group once as (group, its
        slots). Rebuilt only when a slot opens or closes or a session joins or leaves a group."""
        if self._slot_list is None:
            units: list = []
            members: dict[Group, list[Slot]] = {}
            for slot in self.slots.values():
                if slot.session is not None and slot.session.batched:
                    group = slot.session.trainer.group
                    if group not in members:
                        members[group] = []
                        units.append((group, members[group]))
                    members[group].append(slot)
                else:
                    units.append(slot)
            self._slot_list = units
            self._group_slots = members
        return self._slot_list

    def _group_frames(self, group: Group, now: float) -> None:
        """The due frames of a group's members (and those nearly due) from one batched snapshot
        and one batched grid pass; each frame encoded as the member's own."""
        self._order()
        slots = [slot for slot in self._group_slots.get(group, ())
                 if slot.want and slot.fresh and slot.playing and now >= slot.next_frame - EARLY_FRAME / slot.fps
                 and (slot.steps_per_frame is None or slot.budget == 0)
                 and slot.session.trainer.status != "diverged" and self._may_draw(slot, now)]
        if not slots:
            return
        if self._watched and len(slots) > WATCHED_PASS:  # the most overdue first; the rest next tick
            slots = sorted(slots, key=lambda slot: slot.next_frame)[:WATCHED_PASS]
        started = self.cost_clock()
        bt = group.bt
        stale = [slot.session.trainer.id for slot in slots if slot.session.stale]
        if stale:
            snapshots = group.snapshots(stale)
            for slot in slots:
                if slot.session.stale:
                    slot.session.use_snapshot(snapshots[slot.session.trainer.id])
        grids: dict[int, tuple] = {}
        images: dict[int, dict] = {}
        by_resolution: dict[int, list[Slot]] = {}
        for slot in slots:
            if slot.session.trainer.prepared.domain is not None:
                by_resolution.setdefault(slot.resolution, []).append(slot)
        for resolution, members in by_resolution.items():
            values, neurons, _ = bt.stacked_grids(resolution, limits.NEURON_RESOLUTION, "float32",
                                                  runs=[slot.session.trainer.id for slot in members])
            images.update(_quantized_images(members, values, neurons))
            for j, slot in enumerate(members):
                if slot.sid not in images:  # not finite: encoded alone, which refuses it
                    grids[slot.sid] = (values[j], [N[j] for N in neurons])
        exact = group.packed_params([slot.session.trainer.id for slot in slots])
        frames = []
        for slot in slots:
            session = slot.session
            try:
                frames.append((slot, session.frame(session.status(slot.playing), slot.resolution, grids.get(slot.sid),
                                                   images.get(slot.sid), exact.get(session.trainer.id))))
            except NonFiniteFrame:
                self._diverged(slot, weights_too_large=True)
        per_frame = (self.cost_clock() - started) / len(slots)
        self._frame_seconds += 0.1 * (per_frame - self._frame_seconds)
        for slot, frame in frames:
            slot.frame_budget.charge(per_frame)
            self._sent(slot, frame, now)

    def _group_chunk(self, group: Group, members: list[Slot]) -> None:
        """A time-sized batch of iterations for every trainable member of a group: one step() call
        per number of iterations wanted (one call when they all train alike)."""
        running = max(1, self._running)
        share = min(CHUNK_SECONDS, max(0.0, ROUND_SECONDS - running * self._frame_seconds) / running)
        chunk = max(1, int(group.rate * CHUNK_SECONDS))
        continuous = max(1, int(group.rate * min(CHUNK_SECONDS, share * len(members))))
        wanted: dict[int, list[Slot]] = {}
        for slot in members:
            if slot.requested > 0:
                n = min(chunk, slot.requested)
            elif slot.steps_per_frame is not None:
                n = min(chunk, slot.budget)
            else:
                n = continuous
            wanted.setdefault(n, []).append(slot)
        bt = group.bt
        for n, slots in wanted.items():
            ids = [slot.session.trainer.id for slot in slots]
            before = max(slot.session.trainer.iteration for slot in slots)
            started = time.perf_counter()
            bt.step(n, runs=ids)
            elapsed = time.perf_counter() - started
            done = max(slot.session.trainer.iteration for slot in slots) - before
            if done > 0 and elapsed > 0:
                group.rate = 0.7 * group.rate + 0.3 * (done / elapsed)
            need = [slot for slot in slots if slot.session.stepped()]
            if need:
                snapshots = group.snapshots([slot.session.trainer.id for slot in need])
                for slot in need:
                    slot.session.use_snapshot(snapshots[slot.session.trainer.id])
            for slot in slots:
                self._stepped(slot, n)

    def _chunk(self, slot: Slot) -> None:
        """A time-sized batch of iterations for one session (the rate is measured as it goes)."""
        # "max" sessions share by time what the round's frames leave (with many sessions, frames
        # take it all and each turn trains one iteration: the frame rate holds up, training slows);
        # a frame's worth of steps (or a step request) is run in one go when it fits a chunk (each
        # step() call has a fixed cost: fewer, larger ones).
        continuous = slot.requested == 0 and slot.steps_per_frame is None
        seconds = CHUNK_SECONDS
        if continuous:
            running = max(1, self._running)
            seconds = min(CHUNK_SECONDS, max(0.0, ROUND_SECONDS - running * self._frame_seconds) / running)
        n = max(1, int(slot.rate * seconds))
        if slot.requested > 0:
            n = min(n, slot.requested)
        elif slot.steps_per_frame is not None:
            n = min(n, slot.budget)
        session = slot.session
        before = session.trainer.iteration
        started = time.perf_counter()
        session.step(n)
        elapsed = time.perf_counter() - started
        done = session.trainer.iteration - before
        if done > 0 and elapsed > 0:
            slot.rate = 0.7 * slot.rate + 0.3 * (done / elapsed)
        self._stepped(slot, n)

    def _stepped(self, slot: Slot, n: int) -> None:
        """After n iterations of a session: the end of training, the frame a step request owes,
        or the frame budget of a session playing at a fixed steps_per_frame."""
        slot.fresh = True
        if slot.session.finished:
            self._finished(slot)
        elif slot.requested > 0:
            slot.requested -= n
            if slot.requested <= 0:
                slot.requested = 0
                self._frame(slot)
        elif slot.steps_per_frame is not None:
            slot.budget -= n


def _quantized_images(members: list[Slot], values, neurons: list) -> dict[int, dict]:
    """{sid: {"boundary", "neurons"} as frames.Quantized} of a group's members from their stacked
    grids (values (M, res, res), neurons [(M, n[l], t, t) per hidden layer]), quantized in one
    pass each (the bytes a member's frame would get alone); members with an image that is not
    finite are left out."""
    M = len(members)
    boundary, lo, hi, ok = quantize_many(values)
    if neurons:
        stack = np.concatenate(neurons, axis=1) if len(neurons) > 1 else neurons[0]  # (M, N, t, t)
        N = stack.shape[1]
        cells, nlo, nhi, nok = quantize_many(stack.reshape((M * N,) + stack.shape[2:]))
        cells = cells.reshape(stack.shape)
        if N:
            ok = ok & nok.reshape(M, N).all(axis=1)
    else:
        t = limits.NEURON_RESOLUTION
        N, cells, nlo, nhi = 0, np.zeros((M, 0, t, t), dtype=np.uint8), [], []
    ok = ok.tolist()
    return {slot.sid: {"boundary": Quantized(boundary[j], [lo[j]], [hi[j]]),
                       "neurons": Quantized(cells[j], nlo[j * N:(j + 1) * N], nhi[j * N:(j + 1) * N])}
            for j, slot in enumerate(members) if ok[j]}
