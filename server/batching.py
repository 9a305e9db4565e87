"""Sessions of one architecture in one worker, trained and evaluated together (issue 10, "Scale").

A class on one lesson is many sessions of the same net; for a playground-sized net per-call
overhead, not arithmetic, is most of a frame, so the worker's scheduler (server/scheduler.py)
puts the sessions whose configs are batch-compatible (engine.batched.BatchedTrainer's rules:
layer_dims, activation, output, batch norm, batch size, set sizes, dtype) into one Group: one
BatchedTrainer whose runs are the members' trainers. A round of the scheduler steps every
playing member in one `step()` call and computes the frames of the members that need one with
one `snapshots()` and one `stacked_grids()` pass, then quantizes all their images and packs all
their parameters in one NumPy pass each (frames.quantize_many, Group.packed_params: ~63 µs of
per-member Python and small array calls per frame before, ~20 µs now); each frame's bytes are
the ones a session alone would send, so clients cannot tell (each run computes what its own
Trainer would, bit for bit here: engine-api.md).

A member's Session keeps its interface: its `trainer` is then a BatchedRun, a read view of the
run's row with the Trainer attributes the server reads (status, iteration, epoch, divergence
fields, history, config, prepared, ...), `set` (live changes) and `snapshot()` / `grids()`.
Operations that need a real Trainer (set_weight, gradcheck, save, export, reset) make the
member leave the batch (to_trainer: its exact state), run, and join again (scheduler.py).
A group exists only while it has two members or more: a session alone trains on its own Trainer,
exactly as before batching.
"""
from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Optional

import numpy as np

from engine.batched import BatchedTrainer
from engine.diagnosis import diagnose_run
from engine.snapshot import Snapshot
from engine.trainer import Trainer
from server.frames import PackedExact

if TYPE_CHECKING:
    from server.sessions import Session

# The bias/variance diagnosis (engine.diagnosis.diagnose_run, plain Python per run: the larger
# part of a batched frame's cost) of a member is recomputed at most this often, or when its status
# changes; frames in between repeat the last one (the card's words change slower than a person reads).
DIAGNOSIS_SECONDS = 0.25

_KEYS = BatchedTrainer()  # its _architecture(t) only reads t: the batch's compatibility rules, once


def batch_key(trainer: Trainer) -> Optional[tuple]:
    """What sessions trained together must share (None: this run cannot be batched)."""
    if getattr(trainer.prepared, "image_shape", None) is not None:
        return None  # image data (the CNN lab): frames of its own (server/cnn_frames.py), never batched
    try:
        return tuple(_KEYS._architecture(trainer).items())
    except (ValueError, AttributeError, KeyError):
        return None


class Group:
    """One BatchedTrainer and the sessions whose runs it holds (run id -> Session)."""

    def __init__(self, key: tuple):
        self.key = key
        self.bt = BatchedTrainer()
        self.members: dict[int, "Session"] = {}
        self.param_names: list[str] = []  # the frame's exact arrays, in Network.params order
        self.rate = 1000.0                # measured iterations per second of one step() call
        self.diagnosed: dict[int, tuple] = {}  # run id -> (time, status, diagnosis) of its last one
        self._packing: Optional[tuple] = None  # (theta columns in frame order, ((name, shape), ...))

    def __len__(self) -> int:
        return len(self.members)

    def add(self, session: "Session", trainer: Trainer) -> "BatchedRun":
        run_id = self.bt.add(trainer)  # ValueError if not compatible after all (nothing changed)
        if not self.param_names:
            self.param_names = list(trainer.network.params)
        self.members[run_id] = session
        return BatchedRun(self, run_id)

    def take(self, run_id: int) -> Trainer:
        """The run as a Trainer in its exact state, removed from the batch."""
        trainer = self.bt.to_trainer(run_id)
        self.drop(run_id)
        return trainer

    def drop(self, run_id: int) -> None:
        self.bt.remove(run_id)
        self.members.pop(run_id, None)
        self.diagnosed.pop(run_id, None)

    def packed_params(self, ids: list[int]) -> dict[int, PackedExact]:
        """{id: its parameters as a frame's exact arrays} (W1, b1, ... in Network.params order,
        float32 little-endian, as encode_frame packs a session's own) for the runs whose
        parameters are finite within float32, from one gather and one cast for all of them;
        the others are left out (their frame is encoded alone, which refuses them)."""
        bt = self.bt
        if self._packing is None:
            layout = bt.lay.layout
            columns = np.concatenate([np.arange(*layout[name][:2]) for name in self.param_names])
            self._packing = (columns, tuple((name, tuple(layout[name][2])) for name in self.param_names))
        columns, arrays = self._packing
        rows = [bt._rows[i] for i in ids]
        with np.errstate(over="ignore", invalid="ignore"):  # beyond float32's range: inf, left out
            flat = bt._arrays["theta"][np.ix_(rows, columns)].astype("<f4")
        ok = np.isfinite(flat).all(axis=1).tolist()
        return {i: PackedExact(flat[j], arrays) for j, i in enumerate(ids) if ok[j]}

    def snapshots(self, ids: list[int]) -> dict[int, Snapshot]:
        """{id: Snapshot} of the listed runs from one batched pass, as Trainer.snapshot() gives
        them, except that each diagnosis is recomputed at most every DIAGNOSIS_SECONDS."""
        bt, now = self.bt, time.monotonic()
        snapshots = bt.snapshots(ids, diagnosis=False)
        classes = bt.lay.dims[-1] + (bt.lay.dims[-1] == 1)
        for run_id, snap in snapshots.items():
            last = self.diagnosed.get(run_id)
            if last is None or now - last[0] >= DIAGNOSIS_SECONDS or last[1] != snap.status:
                run = bt._runs[run_id]
                diagnosis = diagnose_run(  # the call of BatchedTrainer.snapshots / Trainer.snapshot
                    run.history.lists, run.status, snap.train, snap.dev, snap.test, snap.grad_norms,
                    snap.iteration, snap.epoch, run.config.human_error, classes=classes,
                    diverged_at=run.diverged_at, restored_iteration=run.restored_iteration,
                    dev_size=bt.sizes["dev"])
                last = self.diagnosed[run_id] = (now, snap.status, diagnosis)
            snapshots[run_id] = dataclasses.replace(snap, diagnosis=last[2])
        return snapshots


class BatchedRun:
    """A Trainer-like view of one run of a Group's BatchedTrainer (what sessions.py and
    scheduler.py read of a Trainer); `network` is deliberately absent (leave the batch first)."""

    def __init__(self, group: Group, run_id: int):
        self.group, self.id = group, run_id

    # ------------------------------------------------------------------ where the state lives
    @property
    def _run(self):
        return self.group.bt._runs[self.id]

    def _value(self, key: str):
        bt = self.group.bt
        return bt._arrays[key][bt._rows[self.id]]

    # ------------------------------------------------------------------ Trainer attributes
    @property
    def status(self) -> str:
        return self._run.status

    @property
    def iteration(self) -> int:
        return int(self._value("iteration"))

    @property
    def epoch(self) -> int:
        return int(self._value("epoch"))

    @property
    def learning_rate(self) -> float:
        return float(self._value("lr")[0])

    @property
    def minibatch_cost(self) -> Optional[float]:
        return _none_if_nan(self._value("minibatch_cost"))

    @property
    def last_finite_minibatch_cost(self) -> Optional[float]:
        return _none_if_nan(self._value("lf_cost"))

    @property
    def last_finite_minibatch_iteration(self) -> Optional[int]:
        value = int(self._value("lf_iter"))
        return value if value >= 0 else None

    diverged_at = property(lambda self: self._run.diverged_at)
    diverged_epoch = property(lambda self: self._run.diverged_epoch)
    restored_iteration = property(lambda self: self._run.restored_iteration)
    stopped_epoch = property(lambda self: self._run.stopped_epoch)
    schedule_start_epoch = property(lambda self: self._run.schedule_start_epoch)
    config = property(lambda self: self._run.config)
    prepared = property(lambda self: self._run.prepared)

    @property
    def layer_dims(self) -> list[int]:
        return list(self.group.bt.lay.dims)

    @property
    def batch_count(self) -> int:
        return self.group.bt.batch_count

    @property
    def history(self) -> dict[str, list]:
        return self._run.history.lists

    @property
    def best_epoch(self) -> Optional[int]:
        early = self._run.early
        return early.best_epoch if early else None

    def early_stopping_info(self) -> Optional[dict]:
        return self.group.bt._early_info(self._run)

    def set(self, **changes) -> None:
        self.group.bt.set(self.id, **changes)

    def snapshot(self):
        return self.group.bt.snapshot(self.id)

    def grids(self, resolution: int = 100, neuron_resolution: int = 20, dtype: Optional[str] = None):
        return self.group.bt.grids(resolution, neuron_resolution, dtype, runs=[self.id])[self.id]

    def params(self) -> dict:
        """name -> view of each parameter (W1, b1, ...) in Network.params order (not copies)."""
        bt = self.group.bt
        row = bt._rows[self.id]
        theta = bt._arrays["theta"][row:row + 1]
        return {name: bt.lay.view(theta, name)[0] for name in self.group.param_names}


def _none_if_nan(value) -> Optional[float]:
    value = float(value)
    return None if value != value else value
