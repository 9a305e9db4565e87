"""A training session: config (+ CSV) → engine Trainer → `state` messages and frame bytes.

No sockets and no scheduling here (server/scheduler.py decides when to step and when to draw;
server/connections.py delivers), so one session's frames could go to many viewers.
"""
from __future__ import annotations

import json
import math
import time
from typing import Any, Optional

import numpy as np

from engine.config import TrainConfig
from engine.gradcheck import gradient_check
from engine.snapshot import Snapshot, finite_or_none
from engine.trainer import Trainer
from server import cnn_frames, limits
from server.batching import BatchedRun, Group, batch_key
from server.cost_curve import CostCurve
from server.frames import PackedExact, encode_frame
from server.wording import PLAY_AFTER_END, outcome_text

TERMINAL = ("done", "stopped_early", "diverged")


def _numbers_json(values: np.ndarray) -> str:
    """A JSON list of 6-significant-digit numbers (compact; the points are for plotting)."""
    if values.dtype.kind in "iu":
        return json.dumps(values.tolist())
    return "[" + ",".join(np.char.mod("%.6g", values.astype(np.float64)).tolist()) + "]"


class Session:
    """One Trainer and what its messages need. Training steps do not compute the engine's
    Snapshot (three full-set passes, more than a few iterations of a playground net): `snapshot`
    is refreshed only when something reads it (a frame, `save`) and at least every
    HISTORY_SECONDS of training, so the cost history keeps rows while no frame is drawn."""

    HISTORY_SECONDS = 0.25

    def __init__(self, config: TrainConfig, csv: Any = None, init_parameters: Optional[dict] = None,
                 saved: Optional[dict] = None):
        """`saved`: a saved run's record (server/runs.py) whose weights are `init_parameters`: the
        run carries on from its iteration and epoch, with its cost history."""
        self.csv = csv
        self.setup_seconds = cnn_frames.warm_up(config)  # this worker's one-off import (scheduler: not charged)
        self.trainer = Trainer(config, csv=csv, init_parameters=init_parameters)
        self.history = CostCurve()
        if saved is not None:
            summary = saved.get("summary") or {}
            self.trainer.continue_from(summary.get("iteration", 0), summary.get("epoch", 0))
            self.history.restore(saved["history"]["rows"])
        self.seq = 0
        # image data (digits, shapes: the CNN lab) has no plane for a boundary: its data message
        # and frames are server/cnn_frames.py's, with feature maps of the chosen example (`example`,
        # an index into the dev set, changed by `set`)
        self.images = cnn_frames.is_image_session(self.trainer)
        self.example = 0
        self._take_snapshot()
        self._data_text: Optional[str] = None  # the `data` message, built on first use

    # ------------------------------------------------------------------ training
    @property
    def config(self) -> TrainConfig:
        return self.trainer.config  # includes live `set` changes

    @property
    def finished(self) -> bool:
        return self.trainer.status in TERMINAL

    @property
    def snapshot(self) -> Snapshot:
        """The engine's Snapshot of the current parameters (computed now if training moved on)."""
        if self._stale:
            self._take_snapshot()
        return self._snapshot

    @property
    def snapshot_dict(self) -> dict:
        """snapshot.to_dict(), computed once per snapshot."""
        if self._stale:
            self._take_snapshot()
        return self._snapshot_dict

    def _take_snapshot(self) -> None:
        self.use_snapshot(self.trainer.snapshot())

    def use_snapshot(self, snapshot: Snapshot) -> None:
        """The snapshot of the current state (a group's batched snapshots() hands it in)."""
        self._snapshot = snapshot
        self._snapshot_dict = snapshot.to_dict()
        self._stale = False
        self._snapshot_time = time.monotonic()
        self.history.add(self._snapshot_dict, self.divergence())

    @property
    def stale(self) -> bool:
        return self._stale

    def step(self, n: int) -> None:
        """n iterations (fewer if training ends or diverges)."""
        self.trainer.step(n, report=False)
        self._stale = True
        if self.needs_snapshot():
            self._take_snapshot()

    def stepped(self) -> bool:
        """After a group stepped this member: True if it needs a snapshot now (the group takes
        those of all such members in one pass and hands each in with use_snapshot)."""
        self._stale = True
        return self.needs_snapshot()

    def needs_snapshot(self) -> bool:
        return self.finished or time.monotonic() - self._snapshot_time >= self.HISTORY_SECONDS

    # ------------------------------------------------------------------ batching (server/batching.py)
    @property
    def batched(self) -> bool:
        return isinstance(self.trainer, BatchedRun)

    @property
    def batch_key(self) -> Optional[tuple]:
        """Sessions with equal keys can be trained together (None: never batched)."""
        if self.batched:
            return self.trainer.group.key
        key = getattr(self, "_batch_key", False)
        if key is False:  # the architecture never changes within a session: computed once
            key = self._batch_key = batch_key(self.trainer)
        return key

    def join(self, group: Group) -> None:
        """Continue as a run of `group` (from the exact current state; ValueError if incompatible)."""
        if not self.batched:
            self.trainer = group.add(self, self.trainer)

    def leave(self) -> None:
        """Continue on a Trainer of its own, in the exact state the run had in the batch."""
        if self.batched:
            run = self.trainer
            self.trainer = run.group.take(run.id)

    def drop(self) -> None:
        """Leave the batch without keeping the run (the session is closed or replaced)."""
        if self.batched:
            run = self.trainer
            run.group.drop(run.id)

    def iterations_for_epochs(self, epochs: int) -> int:
        """Iterations that finish the current epoch and `epochs - 1` more (an epoch is ⌈m/b⌉ iterations)."""
        per_epoch = self.trainer.batch_count
        return (self.trainer.epoch + epochs) * per_epoch - self.trainer.iteration

    def set(self, changes: dict) -> None:
        """Live hyperparameter change (raises pydantic.ValidationError naming the key); on image
        data also `example`: the dev example whose feature maps the frames show (ValueError when
        out of range)."""
        changes = dict(changes)
        if "example" in changes:
            example = changes.pop("example")
            count = cnn_frames.example_count(self.trainer) if self.images else 0
            if not 0 <= example < count:
                raise cnn_frames.example_error(example, count)
            self.example = int(example)
        if changes:
            self.trainer.set(**changes)
            self._stale = True  # costs include the new λ

    def set_weight(self, layer: int, row: int, col: int, value: float) -> None:
        """W[layer][row, col] = value, keeping every other parameter and the optimizer state.

        Raises IndexError(field, message) when the weight does not exist in this network."""
        weights = self.trainer.network.params.get(f"W{layer}")
        if weights is None:
            raise IndexError("layer", f"{layer} is out of range: this network has layers 1..{self.trainer.network.L}")
        rows, cols = weights.shape
        if not (row < rows and col < cols):
            raise IndexError("row" if row >= rows else "col",
                             f"({row}, {col}) is outside W{layer}: rows 0..{rows - 1}, columns 0..{cols - 1}")
        weights[row, col] = value
        self._stale = True

    def reset(self) -> None:
        """Fresh weights and optimizer state; same config (with live changes) and same data."""
        config, prepared = self.trainer.config, self.trainer.prepared
        self.drop()  # a batched run is replaced: the scheduler places the new one again
        self.trainer = Trainer(config, prepared=prepared)
        self.history = CostCurve()
        self._take_snapshot()

    def outcome(self) -> Optional[dict]:
        """How a finished run ended (None while it can still train; diverged runs get `diverged`):
        status, epochs_run, iteration; for early stopping best_epoch (whose weights are kept),
        best_dev_cost and patience; `message` says why it stopped and which weights are kept,
        `play` what the page's Play does now."""
        t = self.trainer
        if t.status not in ("done", "stopped_early"):
            return None
        out: dict = {"status": t.status, "epochs_run": t.epoch, "iteration": t.iteration}
        if t.status == "stopped_early":
            info = t.early_stopping_info() if hasattr(t, "early_stopping_info") else None
            if info:
                best, cost, patience = info["best_epoch"], info["best_dev_cost"], info["patience"]
            else:  # an engine without early_stopping_info(): the same from the per-epoch history
                best = t.best_epoch
                dev = t.history.get("dev_cost") or []
                cost = dev[best - 1] if best is not None and 0 < best <= len(dev) else None
                patience = self.config.early_stopping.patience if self.config.early_stopping else None
            out.update(best_epoch=best, best_dev_cost=cost if cost is None or math.isfinite(cost) else None,
                       patience=patience)
        out["message"] = outcome_text(out)
        out["play"] = PLAY_AFTER_END
        return out

    def divergence(self, weights_too_large: bool = False) -> Optional[dict]:
        """Where a diverged run blew up, for the counters and curves (None while healthy, unless
        `weights_too_large`: the weights are finite but beyond a frame's float32, the current
        iteration is then where it blew up and no weights are restored):
        `diverged_at`, `diverged_epoch`, `restored_iteration` (whose weights are kept),
        `last_finite_minibatch_cost` at `last_finite_minibatch_iteration` (the curve's last point,
        maybe huge), and `train_cost` / `dev_cost`: the full-set costs of the epoch end that blew
        up (finite, maybe huge, or null; null too when the run blew up mid-epoch). Finite or null."""
        t = self.trainer
        if t.diverged_at is None:
            if not weights_too_large:
                return None
            point = {"diverged_at": int(t.iteration), "diverged_epoch": t.epoch, "restored_iteration": None,
                     "last_finite_minibatch_cost": finite_or_none(t.last_finite_minibatch_cost),
                     "last_finite_minibatch_iteration": t.last_finite_minibatch_iteration,
                     "train_cost": None, "dev_cost": None}
            self.history.add(self.snapshot_dict, point)
            return point
        train = dev = None
        if t.diverged_epoch and t.diverged_at == t.diverged_epoch * t.batch_count:  # at an epoch end
            lists = t.history
            if len(lists["train_cost"]) >= t.diverged_epoch:
                train = finite_or_none(lists["train_cost"][t.diverged_epoch - 1])
                dev = finite_or_none(lists["dev_cost"][t.diverged_epoch - 1])
        return {"diverged_at": int(t.diverged_at), "diverged_epoch": t.diverged_epoch,
                "restored_iteration": t.restored_iteration,
                "last_finite_minibatch_cost": finite_or_none(t.last_finite_minibatch_cost),
                "last_finite_minibatch_iteration": t.last_finite_minibatch_iteration,
                "train_cost": train, "dev_cost": dev}

    def status(self, playing: bool) -> str:
        status = self.trainer.status
        if status in TERMINAL:
            return status
        if playing:
            return "running"
        return "ready" if self.trainer.iteration == 0 else "paused"

    # ------------------------------------------------------------------ messages
    def data_text(self) -> str:
        """The `data` message as JSON text (docs/protocol.md): the run's points, sent once per
        configure or import (they never change within a session: reset keeps them), built once."""
        if self._data_text is None and self.images:
            self._data_text = cnn_frames.data_text(self.trainer)
        if self._data_text is None:
            p = self.trainer.prepared
            sets = {name: "{" + ",".join(f'"{k}":{_numbers_json(np.asarray(v))}' for k, v in points.items()) + "}"
                    for name, points in p.raw.items()}
            head = json.dumps({"type": "data", "kind": p.kind, "classes": p.classes,
                               "domain": list(p.domain) if p.domain is not None else None})
            self._data_text = head[:-1] + "," + ",".join(f'"{name}":{text}' for name, text in sets.items()) + "}"
        return self._data_text

    def state_text(self, playing: bool, extra: dict) -> str:
        """The `state` message as JSON text (docs/protocol.md), plus `extra` keys (speed, ...).
        The points are not in it: they went once, in the `data` message before the first `state`."""
        t = self.trainer
        return json.dumps({
            "type": "state", "status": self.status(playing),
            "iteration": t.iteration, "epoch": t.epoch,
            "config": self.config.model_dump(mode="json"),
            "network": {"layers": list(t.layer_dims), "inputs": list(t.prepared.feature_names)},
            "limits": limits.LIMITS, "outcome": self.outcome(), "divergence": self.divergence(), **extra,
        })

    def frame_header(self, status: str) -> dict:
        """The frame's JSON header (docs/protocol.md) without its `arrays`; counts `seq`."""
        snap = self.snapshot_dict
        self.seq += 1
        return {
            "type": "frame", "seq": self.seq, "server_time": round(time.time() * 1000.0, 1),
            "iteration": snap["iteration"], "epoch": snap["epoch"], "learning_rate": snap["learning_rate"],
            "status": status, "minibatch_cost": snap["minibatch_cost"], "train": snap["train"], "dev": snap["dev"],
            "test": snap.get("test"),
            "grad_norms": snap["grad_norms"], "weight_norms": snap["weight_norms"],
            "diagnosis": snap["diagnosis"],
            "last_finite_minibatch_cost": snap["last_finite_minibatch_cost"],
            "last_finite_minibatch_iteration": snap["last_finite_minibatch_iteration"],
            "divergence": self.divergence(),
        }

    def frame(self, status: str, resolution: int, grids: Optional[tuple] = None,
              images: Optional[dict] = None, exact: Optional[PackedExact] = None) -> bytes:
        """The current state as a binary frame (raises frames.NonFiniteFrame, never sends NaN).
        `grids`: (boundary, [neuron grids per hidden layer]) when a group computed them already;
        `images` ({"boundary", "neurons"} as frames.Quantized) and `exact` (the parameters as
        frames.PackedExact): when a group encoded them already (the same bytes)."""
        if self.images:  # image data: the example's feature maps, confusion matrix, misclassified
            return cnn_frames.frame(self, status)
        header = self.frame_header(status)
        arrays = {}
        if images is not None:
            arrays = images
        elif self.trainer.prepared.domain is not None:  # boundary and thumbnails need 2-D raw inputs
            # float32 copy of the network (engine.grids.NetworkCopy): frames carry 256 levels anyway,
            # and a float32 pass over the grid costs several times less than a float64 one.
            t = limits.NEURON_RESOLUTION
            arrays["boundary"], hidden = grids if grids is not None else self.trainer.grids(resolution, t, dtype="float32")
            arrays["neurons"] = np.concatenate(hidden) if hidden else np.zeros((0, t, t), dtype=np.float32)
        if exact is None:
            exact = self.trainer.params() if self.batched else self.trainer.network.params
        return encode_frame(header, arrays, exact=exact)

    def gradcheck(self) -> dict:
        """The `gradcheck` reply: backprop vs two-sided differences on ≤ GRADCHECK_EXAMPLES
        training examples (raises ValueError with dropout on)."""
        X, Y = self.trainer.prepared.train
        k = min(limits.GRADCHECK_EXAMPLES, X.shape[1])
        reg = self.config.regularization
        result = gradient_check(self.trainer.network, X[:, :k], Y[:, :k], l2=reg.l2, l1=reg.l1,
                                keep_probs=self.config.keep_probs())
        return {"type": "gradcheck", "difference": float(result.difference), "verdict": result.verdict,
                "message": result.message, "examples": int(k)}

    def record(self, name: str) -> dict:
        """What `save` stores: config, cost history, final weights and a summary (JSON-safe)."""
        snap = self.snapshot_dict
        weights = {k: np.asarray(v, dtype=np.float64).tolist()
                   for k, v in self.trainer.network.get_parameters().items()}
        summary = {"iteration": snap["iteration"], "epoch": snap["epoch"], "status": self.trainer.status,
                   "train": snap["train"], "dev": snap["dev"], "layers": list(self.trainer.layer_dims)}
        return {"name": name, "config": self.config.model_dump(mode="json"),
                "history": self.history.as_dict(), "weights": weights, "summary": summary}
