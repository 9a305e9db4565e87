"""BatchedTrainer: S training runs of ONE architecture trained and evaluated as one computation.

A class on one lesson is S runs of the same net on (possibly) different data, seeds and
hyperparameters. For a playground-sized net, per-call overhead, not arithmetic, is most of a
step, so S separate Trainers pay S times the overhead; here every layer of every run is one
np.matmul over a leading session axis (engine/batched_math.py), every optimizer update a few
(S, P) array operations with per-run hyperparameters as (S, 1) columns, and a snapshot or a
boundary grid of all runs one batched forward pass.

What must be equal across runs (add() raises ValueError naming the first key that differs):
    layer_dims ([n_x, *network.hidden, n_y]: features, hidden sizes, outputs), network.activation,
    network.leaky_slope, the resolved output (sigmoid / softmax / linear), the data's kind,
    network.batch_norm, network.bn_momentum, network.bn_epsilon, the effective batch size
    min(batch_size, m_train), m_train, m_dev, m_test, dtype, backend ("numpy" only).
What may differ per run: data (name, seed, noise, n... as long as the set sizes agree),
    normalization, init and seed, optimizer kind (gd / momentum / rmsprop / adam) and every
    optimizer hyperparameter, α and its schedule, λ (L2, L1), keep_prob (dropout on or off, per
    layer), epochs, early stopping, human_error; and each run's position: iteration, epoch,
    status. All of them change live per run (set()).

Exactness and the RNG convention: a run is a Trainer's state moved into rows of stacked arrays,
and it computes the same IEEE operations in the same order as that Trainer. Each run keeps its
own np.random.Generator, np.random.default_rng(config.seed) as the Trainer seeds it, and draws
from it exactly what the Trainer draws, in the same order: at the start of every epoch (batch
size < m) rng.permutation(m_train), then for each iteration, for each hidden layer l = 1..L-1
whose keep_prob p < 1, rng.random((n[l], b)) with D = (r < p) / p. So run s of a batch ends with
the parameters of a separate Trainer on the same config (bit for bit with NumPy's BLAS on this
machine; the tests require 1e-12), and joining or leaving never changes what another run computes.
The per-run draws are a Python loop over runs (one Generator each, unavoidable); everything else
is vectorized over runs.

Per-run life cycle as in Trainer: "ready" -> "running" -> "done" | "stopped_early" | "diverged".
A diverging run (θ·θ NaN / ±inf after an update, or a non-finite epoch-end cost) is restored
from its last good copy and marked "diverged"; the others go on in the same step() call.
step(n, runs) trains the listed runs (default: every active one) n iterations; runs at different
positions in their epoch are stepped in groups of equal position (one batched computation each).
"""
from __future__ import annotations

import copy
import math
from typing import Iterable, Optional

import numpy as np  # host-side permutations, dropout draws and per-run bookkeeping

from engine import batched_math as bm
from engine.config import TrainConfig, load_config
from engine.diagnosis import diagnose_run
from engine.epochs import EarlyStopping, EpochHistory, continue_epochs
from engine.grids import DomainGrid, check_dtype
from engine.live import OPTIMIZER_HYPER, apply_live_change
from engine.schedules import learning_rate as scheduled_learning_rate
from engine.snapshot import SetMetrics, Snapshot
from engine.trainer import ACTIVE, MAX_EPOCHS, Trainer

_INF = float("inf")
_SETS = ("train", "dev", "test")

# Per-run arrays (run axis first). MUTABLE ones change while training and are written back after
# a step on a subset of runs; the others change only through add / set.
_MUTABLE = ("theta", "grads", "V", "S", "running", "good_theta", "good_running", "Xs", "Ys",
            "t", "iteration", "epoch", "good_iteration", "k", "minibatch_cost", "lf_cost", "lf_iter", "lr")
_COLUMNS = ("beta", "beta1", "beta2", "epsilon", "l2", "l1")  # (S, 1) hyperparameters


class _Run:
    """The per-run state that is not an array row: config, data, RNG, history, statuses."""

    def __init__(self, run_id: int, trainer: Trainer):
        t = trainer
        self.id = run_id
        self.config: TrainConfig = t.config
        self.prepared = t.prepared
        self.rng = copy.deepcopy(t.rng)  # the Trainer's stream from where it stands
        self.history: EpochHistory = copy.deepcopy(t.history_log())
        self.early: Optional[EarlyStopping] = copy.deepcopy(t._early)
        self.status = t.status
        self.diverged_at, self.diverged_epoch = t.diverged_at, t.diverged_epoch
        self.restored_iteration, self.stopped_epoch = t.restored_iteration, t.stopped_epoch
        self.schedule_start_epoch = t.schedule_start_epoch
        self.alpha0 = t.alpha0
        self.kind = t.config.optimizer.name
        self.keep_probs = t.keep_probs
        self.grid = DomainGrid(t.prepared, t.backend)

    def scheduled_rate(self, epoch: int) -> float:
        """α = schedule(α₀, epoch − schedule_start_epoch), as Trainer._scheduled_rate."""
        return float(scheduled_learning_rate(self.config.schedule, self.alpha0, epoch - self.schedule_start_epoch))


class _Work:
    """The arrays of the runs being stepped together: the master arrays themselves when every run
    is stepped (in storage order), else row copies written back by store()."""

    def __init__(self, owner: "BatchedTrainer", rows: np.ndarray):
        self.owner, self.rows = owner, rows
        self.full = len(rows) == owner.size and bool((rows == np.arange(owner.size)).all())
        a = owner._arrays
        self.a = a if self.full else {key: v[rows] for key, v in a.items()}
        self.runs = [owner._runs[owner._order[r]] for r in rows]
        owner._bind(self)

    def store(self) -> None:
        if not self.full:
            master = self.owner._arrays
            for key in _MUTABLE:
                if key in master:
                    master[key][self.rows] = self.a[key]

    def keep(self, local: np.ndarray) -> Optional["_Work"]:
        """Write back, then the work of the rows `local` (indices into this work) only."""
        self.store()
        return _Work(self.owner, self.rows[local]) if len(local) else None


class BatchedTrainer:
    """S runs of one architecture (module docstring). Runs are named by the int id add() returns.

        bt = BatchedTrainer()
        a = bt.add(config_a); b = bt.add(trainer_b)     # a config, or a Trainer's exact state
        bt.step(5)                                       # every active run, 5 iterations
        snaps = bt.snapshots()                           # {id: Snapshot}, one batched pass
        boundaries = bt.grids(40, 20, dtype="float32")   # {id: (values, neuron grids)}
        bt.set(a, learning_rate=0.1); bt.remove(b); t = bt.to_trainer(a)
    """

    def __init__(self):
        self._runs: dict[int, _Run] = {}
        self._order: list[int] = []  # run id of each row; rows grouped by optimizer kind
        self._rows: dict[int, int] = {}  # run id -> row
        self._arrays: dict[str, np.ndarray] = {}
        self._next_id = 0
        self._key: Optional[dict] = None
        self._grid_cache: dict = {}

    # ------------------------------------------------------------------ membership
    @property
    def size(self) -> int:
        return len(self._order)

    @property
    def ids(self) -> list[int]:
        return list(self._order)

    def __len__(self) -> int:
        return self.size

    def __contains__(self, run_id) -> bool:
        return run_id in self._runs

    def add(self, source, *, prepared=None, csv=None, init_parameters=None) -> int:
        """Add a run and return its id. `source` is a TrainConfig / config dict (the run starts as
        Trainer(source, prepared, csv, init_parameters) would: same data, initialization and RNG)
        or a Trainer (its exact current state: parameters, optimizer state, RNG, position in the
        epoch, history, statuses; the Trainer itself is not changed, except that a pending
        history entry is filled, as Trainer.history_log does). Raises ValueError naming the
        first architecture key that differs from the batch's (module docstring)."""
        if isinstance(source, Trainer):
            if prepared is not None or csv is not None or init_parameters is not None:
                raise ValueError("prepared / csv / init_parameters go with a config, not with a Trainer")
            trainer = source
        else:
            trainer = Trainer(source, prepared=prepared, csv=csv, init_parameters=init_parameters)
        key = self._architecture(trainer)
        if self._key is None:
            self._start(trainer, key)
        else:
            for name, value in key.items():
                if self._key[name] != value:
                    raise ValueError(f"{name}: {value!r} differs from the batch's {self._key[name]!r}; "
                                     f"runs trained together must share {', '.join(self._key)}")
        run_id, self._next_id = self._next_id, self._next_id + 1
        run = _Run(run_id, trainer)
        row = self._row_values(trainer)
        kinds = [self._runs[i].kind for i in self._order]
        rank = bm.KINDS.index(run.kind)
        pos = sum(1 for k in kinds if bm.KINDS.index(k) <= rank)  # end of its kind's block
        for name, value in row.items():
            self._arrays[name] = np.insert(self._arrays[name], pos, value, axis=0)
        self._order.insert(pos, run_id)
        self._rows = {i: r for r, i in enumerate(self._order)}
        self._runs[run_id] = run
        self._grid_cache.clear()
        return run_id

    def remove(self, run_id: int) -> None:
        """Drop a run; the others' arrays and streams are untouched."""
        row = self._row(run_id)
        for name in self._arrays:
            self._arrays[name] = np.delete(self._arrays[name], row, axis=0)
        del self._order[row]
        del self._runs[run_id]
        self._rows = {i: r for r, i in enumerate(self._order)}
        self._grid_cache.clear()
        if not self._order:
            self._key = None
            self._arrays = {}

    def to_trainer(self, run_id: int) -> Trainer:
        """A Trainer in the run's exact state (parameters, optimizer state, RNG, position, history,
        statuses): it continues as the run would in the batch (e.g. when a student leaves it)."""
        run, row, a = self._runs[run_id], self._row(run_id), self._arrays
        t = Trainer(run.config, prepared=run.prepared)
        net = t.network
        net.theta[...] = a["theta"][row]
        net.grads[...] = a["grads"][row]
        self._set_running(net.running, a["running"][row])
        t._good_theta[...] = a["good_theta"][row]
        t._good_running = {k: v.copy() for k, v in net.running.items()}
        self._set_running(t._good_running, a["good_running"][row])
        t._good_iteration = int(a["good_iteration"][row])
        opt = t.optimizer
        opt.t = int(a["t"][row])
        for name, key in (("VdW", "V"), ("SdW", "S")):
            if name in opt._state:
                opt._state[name][...] = a[key][row]
        t.rng = copy.deepcopy(run.rng)
        if t._shuffle:
            t._Xs[...] = a["Xs"][row]
            t._Ys[...] = a["Ys"][row]
        t._k = int(a["k"][row])
        t.iteration, t.epoch = int(a["iteration"][row]), int(a["epoch"][row])
        t.status = run.status
        t._history = copy.deepcopy(run.history)
        t._early = copy.deepcopy(run.early)
        t.diverged_at, t.diverged_epoch = run.diverged_at, run.diverged_epoch
        t.restored_iteration, t.stopped_epoch = run.restored_iteration, run.stopped_epoch
        t.schedule_start_epoch = run.schedule_start_epoch
        t.minibatch_cost = _none_if_nan(a["minibatch_cost"][row])
        t.last_finite_minibatch_cost = _none_if_nan(a["lf_cost"][row])
        lf = int(a["lf_iter"][row])
        t.last_finite_minibatch_iteration = lf if lf >= 0 else None
        t.learning_rate = float(a["lr"][row, 0])
        return t

    # ------------------------------------------------------------------ setup helpers
    def _architecture(self, t: Trainer) -> dict:
        """What runs trained together must share, named as the config keys a user changes."""
        if t.backend.name != "numpy":
            raise ValueError(f"backend: {t.backend.name!r} is not supported by BatchedTrainer (only 'numpy')")
        net = t.config.network
        sizes = {name: int(t.sets[name][0].shape[1]) for name in _SETS}
        return {
            "network.layer_dims": tuple(t.layer_dims), "network.activation": net.activation,
            "network.leaky_slope": net.leaky_slope, "network.output": t.output,
            "data.kind": t.prepared.kind, "network.batch_norm": net.batch_norm,
            "network.bn_momentum": net.bn_momentum, "network.bn_epsilon": net.bn_epsilon,
            "batch_size": min(t.config.batch_size, t.m), "data.m_train": sizes["train"],
            "data.m_dev": sizes["dev"], "data.m_test": sizes["test"], "dtype": str(t.backend.dtype),
        }

    def _start(self, t: Trainer, key: dict) -> None:
        """The first run fixes the architecture, layout and buffer shapes."""
        self._key = key
        self.backend = t.backend
        self.xp, self.dtype = t.backend.xp, t.backend.dtype
        self.lay = bm.StackedLayout(t.network)
        self.act = bm.Activations(self.xp, self.lay)
        self.output = t.output
        self.m = t.m
        self.b = key["batch_size"]
        self.shuffle = self.b < self.m
        self.batch_starts = list(range(0, self.m, self.b))
        self.sizes = {name: key[f"data.m_{name}"] for name in _SETS}
        self.kind = t.prepared.kind
        self.n_hidden = self.lay.L - 1
        empty = {
            "theta": (self.lay.size,), "grads": (self.lay.size,), "V": (self.lay.size,),
            "S": (self.lay.size,), "running": (self.lay.running_size,),
            "good_theta": (self.lay.size,), "good_running": (self.lay.running_size,),
            "X": t.sets["train"][0].shape, "Y": t.sets["train"][1].shape,
            "joined": (self.lay.dims[0], sum(self.sizes.values())),
            **{f"Y_{name}": t.sets[name][1].shape for name in _SETS},
            "lr": (1,), **{c: (1,) for c in _COLUMNS}, "kp": (self.n_hidden,),
            "minibatch_cost": (), "lf_cost": (),
        }
        if self.shuffle:
            empty.update(Xs=t.sets["train"][0].shape, Ys=t.sets["train"][1].shape)
        hyper = ("lr", *_COLUMNS, "kp", "minibatch_cost", "lf_cost")  # float64 like Python scalars
        self._arrays = {k: np.zeros((0,) + s, dtype=np.float64 if k in hyper else self.dtype)
                        for k, s in empty.items()}
        for k in ("t", "iteration", "epoch", "good_iteration", "k", "lf_iter"):
            self._arrays[k] = np.zeros(0, dtype=np.int64)
        self._arrays["bias_correction"] = np.zeros(0, dtype=bool)

    def _row_values(self, t: Trainer) -> dict:
        """One row of every per-run array from a Trainer's state."""
        net, opt, cfg = t.network, t.optimizer, t.config.optimizer
        zeros = np.zeros(self.lay.size, dtype=self.dtype)
        running = np.concatenate(self.lay.running_row(net)) if net.running else np.zeros(0, self.dtype)
        good_running = (np.concatenate([t._good_running[k].reshape(-1) for k in self.lay.running_keys])
                        if net.running else np.zeros(0, self.dtype))
        kp = t.keep_probs if t.keep_probs is not None else [1.0] * self.n_hidden
        row = {
            "theta": net.theta, "grads": net.grads, "V": opt._state.get("VdW", zeros),
            "S": opt._state.get("SdW", zeros), "running": running, "good_theta": t._good_theta,
            "good_running": good_running, "X": t.sets["train"][0], "Y": t.sets["train"][1],
            "joined": np.concatenate([t.sets[name][0] for name in _SETS], axis=1),
            **{f"Y_{name}": t.sets[name][1] for name in _SETS},
            "lr": [t.learning_rate], "beta": [cfg.beta], "beta1": [cfg.beta1], "beta2": [cfg.beta2],
            "epsilon": [cfg.epsilon], "l2": [t.l2], "l1": [t.l1], "kp": kp,
            "minibatch_cost": _nan_if_none(t.minibatch_cost), "lf_cost": _nan_if_none(t.last_finite_minibatch_cost),
            "t": opt.t, "iteration": t.iteration, "epoch": t.epoch, "good_iteration": t._good_iteration,
            "k": t._k, "bias_correction": cfg.bias_correction,
            "lf_iter": -1 if t.last_finite_minibatch_iteration is None else t.last_finite_minibatch_iteration,
        }
        if self.shuffle:
            row.update(Xs=t._Xs, Ys=t._Ys)
        return {k: np.asarray(v)[None] for k, v in row.items()}

    def _set_running(self, running: dict, flat) -> None:
        for key in self.lay.running_keys:
            a, b, shape = self.lay.running_layout[key]
            running[key][...] = flat[a:b].reshape(shape)

    def _row(self, run_id: int) -> int:
        row = self._rows.get(run_id)
        if row is None:
            raise KeyError(f"no run {run_id!r} in this batch (runs: {self._order})")
        return row

    def _bind(self, w: _Work) -> None:
        """Views of a work's buffers: layers, weight slices, kind blocks."""
        a, lay = w.a, self.lay
        w.layers = bm.stacked_layers(lay, a["theta"], a["grads"], a["running"])
        n_w = lay.n_weights
        w.w, w.dw, w.others = a["theta"][:, :n_w], a["grads"][:, :n_w], a["theta"][:, n_w:]
        kinds = [r.kind for r in w.runs]
        w.blocks = []  # (kind, slice of rows): rows are grouped by kind (add() keeps them so)
        start = 0
        for kind in bm.KINDS:
            n = kinds.count(kind)
            if n:
                w.blocks.append((kind, slice(start, start + n)))
                start += n

    # ------------------------------------------------------------------ training
    def step(self, n: int = 1, runs: Optional[Iterable[int]] = None) -> None:
        """n mini-batch iterations of each listed run (default: every run; runs that are done,
        stopped early or diverged train nothing, as Trainer.step). Nothing is reported: call
        snapshots() / snapshot(id) for that (a Snapshot costs a full-set pass)."""
        if n < 1:
            raise ValueError(f"n = {n}: the number of iterations must be at least 1")
        self._train(n, False, runs)

    def run_epoch(self, runs: Optional[Iterable[int]] = None) -> None:
        """Each listed run trains to the end of its current epoch."""
        self._train(len(self.batch_starts) if self._key else 1, True, runs)

    @property
    def batch_count(self) -> int:
        """Iterations per epoch: ⌈m / batch_size⌉."""
        return len(self.batch_starts)

    def _train(self, n: int, until_epoch_end: bool, runs) -> None:
        if not self._order:
            return
        ids = self._order if runs is None else list(dict.fromkeys(runs))
        a = self._arrays
        groups: dict[int, list[int]] = {}
        for run_id in ids:
            row, run = self._row(run_id), self._runs[run_id]
            if run.status in ACTIVE and a["epoch"][row] >= run.config.epochs:
                run.status = "done"
            if run.status in ACTIVE:
                groups.setdefault(int(a["k"][row]), []).append(row)
        for rows in groups.values():  # runs at the same position in their epoch step together
            rows = np.array(sorted(rows))
            for r in rows:
                self._runs[self._order[r]].status = "running"
            a["good_theta"][rows] = a["theta"][rows]        # _save_good at the start of a step
            a["good_running"][rows] = a["running"][rows]
            a["good_iteration"][rows] = a["iteration"][rows]
            with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported as divergence
                work = self._iterate(_Work(self, rows), n, until_epoch_end)
            if work is not None:
                work.store()

    def _masks(self, w: _Work, kp):
        """masks(i, shape): the scaled dropout masks D/p of hidden layer i for every run of the
        work; runs with p = 1 there get ones (A·1 = A exactly). Each run draws from its own
        Generator what its Trainer draws (module docstring): a loop over runs."""
        xp, dtype, runs = self.xp, self.dtype, w.runs

        def masks(i, shape):
            p = kp[:, i]
            drop = p < 1.0
            if not drop.any():
                return None
            R = np.zeros(shape, dtype=dtype)
            for j in np.flatnonzero(drop):  # per-run Generator: unavoidable loop over runs
                runs[j].rng.random(dtype=dtype, out=R[j])
            pc = p.reshape(-1, 1, 1)  # float64; compared in the mask's dtype, as a Python scalar is
            return xp.divide(xp.less(R, pc.astype(dtype)), pc, out=R)

        return masks

    def _iterate(self, w: _Work, n: int, until_epoch_end: bool) -> Optional[_Work]:
        """The loop of Trainer._iterate for every run of the work at once (same k)."""
        xp, lay, act, m = self.xp, self.lay, self.act, self.m
        last_batch = len(self.batch_starts) - 1
        a = w.a
        ww = bm.row_dots(xp, w.w)
        w1 = xp.abs(w.w).sum(axis=1) if a["l1"].any() else None
        k = int(a["k"][0])
        for done in range(n):
            if k == 0 and self.shuffle:
                self._shuffle_epoch(w)
            a = w.a
            start = self.batch_starts[k]
            X = a["Xs"] if self.shuffle else a["X"]
            Y = a["Ys"] if self.shuffle else a["Y"]
            Xb, Yb = X[:, :, start:start + self.b], Y[:, :, start:start + self.b]
            kp = a["kp"]
            AL, cache = bm.forward(xp, lay, w.layers, act, Xb, train=True,
                                   masks=self._masks(w, kp) if (kp < 1.0).any() else None)
            l2 = a["l2"] if a["l2"].any() else None
            l1 = a["l1"] if a["l1"].any() else None
            bm.backward(xp, lay, w.layers, act, cache, Yb, w.w, w.dw, l2, l1, m)
            observed = done == n - 1 or k == last_batch
            data = None
            if observed:  # the mini-batch cost: only of iterations anyone can observe (Trainer)
                data = bm.data_cost(xp, self.output, cache.ZL, AL, Yb)
                mb = data + bm.penalty(xp, a["l2"], a["l1"], ww, w1, m)
                a["minibatch_cost"][:] = mb
                self._seen(a, mb, a["iteration"] + 1)
            self._update(w)
            a["iteration"] += 1
            ww_next = bm.row_dots(xp, w.w)
            bad = ~(ww_next + bm.row_dots(xp, w.others) < _INF)  # NaN or ±inf somewhere in θ
            if bad.any():
                if data is None:  # the cost of this forward (θ was finite), for the curves
                    data = bm.data_cost(xp, self.output, cache.ZL, AL, Yb)
                    self._seen(a, data + bm.penalty(xp, a["l2"], a["l1"], ww, w1, m), a["iteration"], bad)
                a["k"][:] = k
                for j in np.flatnonzero(bad):
                    self._diverge(w, j)
                keep = np.flatnonzero(~bad)
                w = w.keep(keep)
                if w is None:
                    return None
                ww_next = ww_next[keep]
            ww = ww_next
            if w1 is not None:
                w1 = xp.abs(w.w).sum(axis=1)
            if k < last_batch:
                k += 1
                continue
            k = 0
            w.a["k"][:] = 0
            w = self._end_epoch(w)
            if w is None:
                return None
            if until_epoch_end:
                return w
            ww = bm.row_dots(xp, w.w)  # rows may have changed (stopped runs left the work)
        w.a["k"][:] = k
        return w

    def _shuffle_epoch(self, w: _Work) -> None:
        """Xs = X[:, perm_s], Ys = Y[:, perm_s] with each run's own permutation (one draw per run
        from its Generator: a loop over runs), gathered in one take_along_axis per array."""
        a = w.a
        perms = np.stack([r.rng.permutation(self.m) for r in w.runs])[:, None, :]
        a["Xs"][...] = np.take_along_axis(a["X"], perms, axis=2)
        a["Ys"][...] = np.take_along_axis(a["Y"], perms, axis=2)

    def _update(self, w: _Work) -> None:
        """θ := optimizer step of each run, one block of rows per optimizer kind."""
        xp, a = self.xp, w.a
        a["t"] += 1
        for kind, rows in w.blocks:
            theta, grads, lr = a["theta"][rows], a["grads"][rows], a["lr"][rows]
            if kind == "adam":
                factors = bm.adam_factors(a["lr"][rows, 0].tolist(), a["beta1"][rows, 0].tolist(),
                                          a["beta2"][rows, 0].tolist(), a["epsilon"][rows, 0].tolist(),
                                          a["t"][rows].tolist(), a["bias_correction"][rows].tolist())
                factors = tuple(np.array(f, dtype=np.float64)[:, None] for f in factors)
            else:
                factors = None
            bm.update(xp, kind, theta, grads, lr, V=a["V"][rows], S=a["S"][rows], beta=a["beta"][rows],
                      beta1=a["beta1"][rows], beta2=a["beta2"][rows], eps=a["epsilon"][rows],
                      adam_factors=factors)

    @staticmethod
    def _seen(a, cost, iteration, where=None) -> None:
        """Remember finite mini-batch costs (last_finite_minibatch_cost / _iteration)."""
        ok = np.isfinite(cost)
        if where is not None:
            ok &= where
        a["lf_cost"][ok] = cost[ok]
        a["lf_iter"][ok] = iteration[ok]

    def _diverge(self, w: _Work, j: int) -> None:
        """Run j of the work: status "diverged", θ and running statistics from the last good copy."""
        a, run = w.a, w.runs[j]
        run.status = "diverged"
        run.diverged_at, run.diverged_epoch = int(a["iteration"][j]), int(a["epoch"][j])
        run.restored_iteration = int(a["good_iteration"][j])
        a["minibatch_cost"][j] = np.nan
        a["theta"][j] = a["good_theta"][j]
        a["running"][j] = a["good_running"][j]

    def _end_epoch(self, w: _Work) -> Optional[_Work]:
        """Trainer._end_epoch for every run of the work: counter, α, full-set metrics (one batched
        test-mode pass over [train | dev | test]), history, early stopping, end of training."""
        a = w.a
        a["epoch"] += 1
        epochs = a["epoch"].tolist()
        for j, run in enumerate(w.runs):
            if run.config.schedule.name != "constant":
                a["lr"][j, 0] = run.scheduled_rate(epochs[j])
            else:  # schedules.learning_rate: float(α₀)
                a["lr"][j, 0] = run.alpha0
        metrics = self._metrics(w)
        stopped = np.zeros(len(w.runs), dtype=bool)
        save = np.ones(len(w.runs), dtype=bool)
        best = []
        for j, run in enumerate(w.runs):
            train, dev = metrics["train"][j], metrics["dev"][j]
            if (dev is not None and not math.isfinite(dev.cost)) or not math.isfinite(train.cost):
                run.history.add(_finite(train), _finite(dev))
                run.history.pending = False
                self._diverge(w, j)
                stopped[j], save[j] = True, False
                continue
            stop = run.early is not None and run.early.update(
                epochs[j], dev.cost, lambda j=j: (a["theta"][j].copy(), a["running"][j].copy()))
            run.history.add(train, dev)
            if stop:
                best.append(j)
                run.status, run.stopped_epoch = "stopped_early", epochs[j]
                stopped[j] = True
            elif epochs[j] >= run.config.epochs:
                run.status = "done"
                stopped[j] = True
        a["good_theta"][save] = a["theta"][save]
        a["good_running"][save] = a["running"][save]
        a["good_iteration"][save] = a["iteration"][save]
        for j in best:  # early stopping keeps the parameters of best_epoch
            theta, running = w.runs[j].early.best_parameters
            a["theta"][j], a["running"][j] = theta, running
        if stopped.any():
            return w.keep(np.flatnonzero(~stopped))
        return w

    # ------------------------------------------------------------------ metrics and reporting
    def _metrics(self, w: _Work) -> dict:
        """{set: [SetMetrics or None per run]} in test mode from ONE forward over the joined sets."""
        xp, a = self.xp, w.a
        AL, cache = bm.forward(xp, self.lay, w.layers, self.act, a["joined"])
        ww = bm.row_dots(xp, w.w)
        w1 = xp.abs(w.w).sum(axis=1) if a["l1"].any() else None
        reg = bm.penalty(xp, a["l2"], a["l1"], ww, w1, self.m).tolist()
        out, start = {}, 0
        for name in _SETS:
            stop = start + self.sizes[name]
            if stop == start:
                out[name] = [None] * len(w.runs)
                continue
            Y = a[f"Y_{name}"]
            data = bm.data_cost(xp, self.output, cache.ZL[:, :, start:stop], AL[:, :, start:stop], Y).tolist()
            acc = bm.accuracy(xp, self.output, AL[:, :, start:stop], Y)
            acc = acc.tolist() if acc is not None else [None] * len(data)
            out[name] = [SetMetrics(d + r, d, r, c) for d, r, c in zip(data, reg, acc)]
            start = stop
        return out

    def snapshots(self, runs: Optional[Iterable[int]] = None, diagnosis: bool = True) -> dict[int, Snapshot]:
        """{id: Snapshot} as Trainer.snapshot() gives it, for the listed runs (default all), from
        one batched test-mode pass over every run's train, dev and test sets side by side.
        diagnosis=False leaves Snapshot.diagnosis None: engine.diagnosis.diagnose_run is plain
        Python per run (about 40 % of a 100-run frame), so a caller may refresh it less often."""
        if not self._order:
            return {}
        ids = self._order if runs is None else list(dict.fromkeys(runs))
        rows = np.array(sorted(self._row(i) for i in ids))
        w = _Work(self, rows)
        a, lay = w.a, self.lay
        with np.errstate(over="ignore", invalid="ignore"):
            metrics = self._metrics(w)
            grad_norms = np.sqrt(np.add.reduceat(a["grads"][:, :lay.n_weights] ** 2, lay.w_starts, axis=1)).tolist()
            weight_norms = np.sqrt(np.add.reduceat(w.w ** 2, lay.w_starts, axis=1)).tolist()
        out = {}
        classes = lay.dims[-1] + (lay.dims[-1] == 1)
        for j, run in enumerate(w.runs):
            train, dev, test = metrics["train"][j], metrics["dev"][j], metrics["test"][j]
            iteration, epoch = int(a["iteration"][j]), int(a["epoch"][j])
            diagnosed = None if not diagnosis else diagnose_run(
                run.history.lists, run.status, train, dev, test, grad_norms[j], iteration, epoch,
                run.config.human_error, classes=classes, diverged_at=run.diverged_at,
                restored_iteration=run.restored_iteration, dev_size=self.sizes["dev"])
            lf_iter = int(a["lf_iter"][j])
            out[run.id] = Snapshot(
                iteration=iteration, epoch=epoch, status=run.status, learning_rate=float(a["lr"][j, 0]),
                minibatch_cost=_none_if_nan(a["minibatch_cost"][j]), train=train, dev=dev, test=test,
                grad_norms=grad_norms[j], weight_norms=weight_norms[j], diverged_at=run.diverged_at,
                diverged_epoch=run.diverged_epoch, restored_iteration=run.restored_iteration,
                diagnosis=diagnosed, last_finite_minibatch_cost=_none_if_nan(a["lf_cost"][j]),
                last_finite_minibatch_iteration=lf_iter if lf_iter >= 0 else None,
                schedule_start_epoch=run.schedule_start_epoch, epochs=run.config.epochs,
                early_stopping=None if run.early is None else run.early.info(run.stopped_epoch),
                continue_epochs=continue_epochs(run.status, epoch, run.config.epochs, MAX_EPOCHS),
            )
        return {i: out[i] for i in ids}

    def snapshot(self, run_id: int) -> Snapshot:
        return self.snapshots([run_id])[run_id]

    def history(self, run_id: int) -> dict[str, list]:
        """Per-epoch lists train_cost, dev_cost, train_accuracy, dev_accuracy (Trainer.history)."""
        return self._runs[run_id].history.lists

    def status(self, run_id: int) -> str:
        return self._runs[run_id].status

    def iteration(self, run_id: int) -> int:
        return int(self._arrays["iteration"][self._row(run_id)])

    def epoch(self, run_id: int) -> int:
        return int(self._arrays["epoch"][self._row(run_id)])

    def config(self, run_id: int) -> TrainConfig:
        return self._runs[run_id].config

    def prepared(self, run_id: int):
        return self._runs[run_id].prepared

    def parameters(self, run_id: int) -> dict:
        """name -> NumPy copy of every parameter and running statistic (Network.get_parameters)."""
        row, lay, a = self._row(run_id), self.lay, self._arrays
        theta = a["theta"][row:row + 1]
        out = {name: lay.view(theta, name)[0].copy() for name in lay.layout}
        running = a["running"][row:row + 1]
        for key in lay.running_keys:
            l = key[len("mu"):] if key.startswith("mu") else key[len("var"):]
            name = f"running_mean{l}" if key.startswith("mu") else f"running_var{l}"
            out[name] = lay.running_view(running, key)[0].copy()
        return out

    # ------------------------------------------------------------------ live changes
    def set(self, run_id: int, **changes) -> None:
        """Trainer.set for one run: learning_rate, l2, l1, keep_prob, beta, beta1, beta2, epsilon,
        bias_correction, schedule, human_error; weights, optimizer state and counters are kept.
        Raises pydantic.ValidationError naming the key; a rejected change changes nothing."""
        run, row = self._runs[run_id], self._row(run_id)
        config, given = apply_live_change(run.config, changes)
        a = self._arrays
        if "schedule" in given and config.schedule != run.config.schedule:
            run.schedule_start_epoch = int(a["epoch"][row])
        run.config = config
        opt = config.optimizer
        for key in OPTIMIZER_HYPER:
            if key in given:
                if key == "bias_correction":
                    a["bias_correction"][row] = opt.bias_correction
                else:
                    a[key][row, 0] = getattr(opt, key)
        run.alpha0 = opt.learning_rate
        a["lr"][row, 0] = run.scheduled_rate(int(a["epoch"][row]))
        a["l2"][row, 0], a["l1"][row, 0] = config.regularization.l2, config.regularization.l1
        kp = config.keep_probs()
        run.keep_probs = kp if any(p < 1.0 for p in kp) else None
        a["kp"][row] = kp if kp else []

    def extend(self, run_id: int, epochs: Optional[int] = None) -> None:
        """Trainer.extend for one run (Play after "done" / "stopped_early")."""
        run, row = self._runs[run_id], self._row(run_id)
        epoch = int(self._arrays["epoch"][row])
        if run.status == "diverged":
            raise ValueError("the run diverged: it cannot continue; lower the learning rate and reset")
        if epochs is None:
            epochs = self._continue_epochs(run, epoch) if run.status not in ACTIVE else 0
            if not epochs:
                raise ValueError(f"nothing to continue: the run is {run.status!r} at epoch {epoch}")
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs = {epochs!r}: the number of epochs to add must be an integer >= 1")
        run.config = load_config({**run.config.model_dump(), "epochs": epoch + epochs})
        if run.early is not None:
            run.early.wait = 0
        run.stopped_epoch = None
        if run.status not in ACTIVE:
            run.status = "running" if int(self._arrays["iteration"][row]) else "ready"

    # ------------------------------------------------------------------ grids
    def grids(self, resolution: int = 100, neuron_resolution: int = 20, dtype: Optional[str] = None,
              runs: Optional[Iterable[int]] = None) -> dict[int, tuple]:
        """{id: (values (res, res), [A[l] grids (n[l], t, t) per hidden layer])}, what
        Trainer.grids gives each run, from ONE test-mode forward of every listed run over its own
        grid points ([G_res | G_t] of its prepared.domain / normalization) stacked (S, n_x, k).
        dtype "float32" evaluates θ cast to float32 (engine/grids.py; a run whose θ does not fit
        float32 is evaluated in the config's dtype instead)."""
        values, neurons, ids = self.stacked_grids(resolution, neuron_resolution, dtype, runs)
        return {i: (values[j], [A[j] for A in neurons]) for j, i in enumerate(ids)}

    def stacked_grids(self, resolution: int = 100, neuron_resolution: int = 20,
                      dtype: Optional[str] = None, runs: Optional[Iterable[int]] = None):
        """(values (S, res, res), [(S, n[l], t, t) per hidden layer], ids): grids() as arrays."""
        if not self._order:
            return np.zeros((0, resolution, resolution)), [], []
        check_dtype(dtype)
        ids = self._order if runs is None else list(dict.fromkeys(runs))
        rows = np.array(sorted(self._row(i) for i in ids))
        own = str(self.dtype)
        dtype = dtype or own
        a = self._arrays
        theta, running = a["theta"][rows], a["running"][rows]
        fallback = np.zeros(len(rows), dtype=bool)
        if dtype != own:
            with np.errstate(over="ignore"):
                theta = theta.astype(dtype)
                running = running.astype(dtype)
            fallback = ~(np.isfinite(theta).all(axis=1) & np.isfinite(running).all(axis=1))
        order = [self._order[r] for r in rows]
        G = self._grid_points(order, resolution, neuron_resolution, dtype)
        k, t = resolution * resolution, neuron_resolution
        AL, hidden = self._grid_forward(theta, running, G)
        values = self._boundary(AL[:, :, :k]).reshape(len(rows), resolution, resolution)
        neurons = [A[:, :, k:].reshape(len(rows), A.shape[1], t, t) for A in hidden]
        if fallback.any():  # θ beyond float32's range: those runs in the config's dtype (Trainer)
            fb = np.flatnonzero(fallback)
            G64 = self._grid_points([order[j] for j in fb], resolution, neuron_resolution, own)
            AL64, hidden64 = self._grid_forward(a["theta"][rows[fb]], a["running"][rows[fb]], G64)
            values = values.astype(own)
            values[fb] = self._boundary(AL64[:, :, :k]).reshape(len(fb), resolution, resolution)
            neurons = [N.astype(own) for N in neurons]
            for N, A in zip(neurons, hidden64):
                N[fb] = A[:, :, k:].reshape(len(fb), A.shape[1], t, t)
        by_id = {i: j for j, i in enumerate(order)}
        pick = [by_id[i] for i in ids]
        if pick != list(range(len(order))):
            values, neurons = values[pick], [N[pick] for N in neurons]
        return values, neurons, ids

    def _grid_forward(self, theta, running, G):
        layers = bm.stacked_layers(self.lay, theta, None, running)
        AL, cache = bm.forward(self.xp, self.lay, layers, self.act, G)
        return AL, cache.acts

    def _grid_points(self, order, resolution, neuron_resolution, dtype):
        """[G_res | G_t] of each run stacked (S, n_x, res² + t²), cached for the latest key."""
        key = (tuple(order), resolution, neuron_resolution, dtype)
        if key not in self._grid_cache:
            stacked = np.stack([self._runs[i].grid.joined(resolution, neuron_resolution, dtype) for i in order])
            if len(self._grid_cache) >= 4:
                self._grid_cache.pop(next(iter(self._grid_cache)))
            self._grid_cache[key] = stacked
        return self._grid_cache[key]

    def _boundary(self, AL):
        """P(y=1), the argmax class or ŷ of each run (engine.grids.GridPainter.boundary)."""
        if self.output == "softmax":
            return AL[:, 1] if self.kind == "binary" else AL.argmax(axis=1)
        return AL[:, 0]


def _finite(s: Optional[SetMetrics]) -> Optional[SetMetrics]:
    if s is None or math.isfinite(s.cost):
        return s
    return SetMetrics(None, None, None, None)


def _nan_if_none(x) -> float:
    return float("nan") if x is None else float(x)


def _none_if_nan(x) -> Optional[float]:
    x = float(x)
    return None if math.isnan(x) else x
