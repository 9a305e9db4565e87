"""The training loop: epochs of shuffled mini-batches, learning-rate decay, live hyperparameter
changes, early stopping and divergence detection (docs/engine-api.md, "engine/trainer.py").

One iteration on the mini-batch (X{t}, Y{t}) of b examples, m = the TRAINING-SET size:
    A[L], cache = forward(X{t})          (training mode: dropout masks, batch-norm batch statistics)
    dθ = backward(cache, Y{t})           data term averaged over the b examples,
                                         + (λ/m) W for L2, (λ₁/m) sign(W) for L1 (m, not b)
    θ := optimizer.update(θ, dθ, α)      (in place on the flat parameter buffer)
Every step so descends an unbiased estimate of the J that is reported, J = (1/m)Σ L⁽ⁱ⁾ +
(λ/2m)Σ‖W‖²_F + (λ₁/m)Σ|w|: at fixed θ, Σ_t (b_t/m)·dθ{t} over one epoch (leftover batch
included) is the full-batch gradient of J, so λ means the same at every batch size. Every reported
cost (train, dev, test, mini-batch) uses this same m in its penalty (engine.regularization).

Learning-rate decay: α = schedule(α₀, epoch − schedule_start_epoch). A schedule of the initial
config starts at epoch 0; one switched on or changed with `set(schedule=...)` starts at the epoch
counter of that moment (α₀ right away, the first decayed value after the next epoch end), so it
never starts at the value of the epochs already run (e.g. α₀/(1 + 2000·rate)).
One epoch = ⌈m / batch_size⌉ iterations over a fresh permutation of the training set; the last
mini-batch holds the m mod batch_size leftover examples. batch_size ≥ m is batch gradient
descent: no permutation at all, so runs are reproducible bit for bit.

Performance choices: the training set is permuted ONCE per epoch into preallocated buffers
(`take(X, perm, axis=1, out=Xs)`) and every mini-batch is a slice view of those buffers, so no
per-batch fancy indexing happens. The mini-batch cost is not computed on every iteration: it is
taken from the forward's output only for the last iteration of a `step()` call and for the last
iteration of each epoch (the only ones anyone can observe). Full-set costs (test mode) are
computed once per epoch for the history / early stopping, and on `snapshot()`; in batch gradient
descent without dropout or batch norm the epoch-end train cost is read from the next iteration's
forward instead (engine.epochs.EpochHistory.pending), saving one forward pass per epoch.

Divergence: after every update the squared norm θ·θ is checked (two BLAS dots: weights, rest);
if it is NaN or ±inf (or overflows, |θ| > 1e154), training stops with status "diverged" and θ
(and batch-norm running statistics) are restored from the last good copy, taken at the start of
every `step()` / `run_epoch()` / `run()` call and at the end of every epoch. Parameters are never
NaN. What led there stays visible: `last_finite_minibatch_cost` / `_iteration` keep the last finite
mini-batch cost computed (also that of the iteration whose update blew up, from its forward with
the still-finite θ and the weights' ‖W‖² of the previous check), and the history keeps every
epoch-end cost that was finite, huge ones included (a non-finite one is None).

Early stopping keeps the parameters of `best_epoch` (lowest dev cost) and stops after `patience`
epochs without improvement; `early_stopping_info()` says why (Snapshot.early_stopping).
After "done" or "stopped_early", step() / run_epoch() / run() train nothing and just report;
`extend(epochs)` lets the run go on (Snapshot.continue_epochs says how far extend() goes).
"""
from __future__ import annotations

import math
import time
from typing import Callable, Optional

import numpy as np  # host-side random permutations only; all math goes through backend.xp

from engine import data as data_module
from engine.backend import get_backend
from engine.config import TrainConfig, load_config
from engine.diagnosis import diagnose_run
from engine.epochs import EarlyStopping, EpochHistory, continue_epochs
from engine.grids import GridPainter
from engine.live import OPTIMIZER_HYPER, apply_live_change
from engine.network import Network
from engine.optimizers import make_optimizer
from engine.schedules import learning_rate as scheduled_learning_rate
from engine.snapshot import SetMetrics, Snapshot
from engine import results

ACTIVE = ("ready", "running")
MAX_EPOCHS = TrainConfig.model_fields["epochs"].metadata[-1].le  # the config's limit on epochs
_INF = float("inf")


class Trainer:
    """Trains a Network on prepared data; the server and the CLI drive it with step()/run()."""

    def __init__(self, config: TrainConfig | dict, prepared=None, csv=None, init_parameters=None):
        self.config = config if isinstance(config, TrainConfig) else load_config(config)
        cfg = self.config
        self.backend = get_backend(cfg.backend, cfg.dtype)
        self.prepared = prepared if prepared is not None else data_module.prepare(cfg, csv, self.backend)
        self.output = self.prepared.output  # sigmoid / softmax / linear, resolved from the data's kind
        self.sets = {name: self._as_arrays(getattr(self.prepared, name)) for name in ("train", "dev", "test")}
        X, Y = self.sets["train"]
        # X counts examples along axis 1 (columns), or 0 for images (m, n_H, n_W, n_C); Y is (n_y, m)
        self.example_axis = getattr(self.prepared, "example_axis", 1)
        self.m = X.shape[self.example_axis]
        if cfg.early_stopping is not None and self._count(self.sets["dev"][0]) == 0:
            raise ValueError("early_stopping needs a non-empty dev set: set data.split[1] above 0")
        if cfg.network.layers is None:
            self.layer_dims = [X.shape[0], *cfg.network.hidden, Y.shape[0]]
            self.network = self._make_network(self.backend)
        else:  # a ConvNet (engine/conv.py): n[l] = units of each A[l], n_H·n_W·n_C for a volume
            self.network = self._make_network(self.backend)
            self.layer_dims = self.network.layer_dims
        self.optimizer = make_optimizer(cfg.optimizer, self.network.theta.size, self.backend)
        self.rng = np.random.default_rng(cfg.seed)  # shuffling and dropout masks
        self.status = "ready"
        self.iteration = 0
        self.epoch = 0
        self._history = EpochHistory()
        es = cfg.early_stopping
        self._early = EarlyStopping(es.patience, es.min_delta) if es is not None else None
        self.diverged_at: Optional[int] = None
        self.diverged_epoch: Optional[int] = None
        self.restored_iteration: Optional[int] = None
        self.minibatch_cost: Optional[float] = None
        self.last_finite_minibatch_cost: Optional[float] = None
        self.last_finite_minibatch_iteration: Optional[int] = None
        self.stopped_epoch: Optional[int] = None  # the epoch counter when early stopping fired
        self.schedule_start_epoch = 0  # the schedule counts epochs from here (set(schedule=...))
        self._apply_hyperparameters()
        self._setup_batches()
        xp = self.backend.xp
        self._good_theta = xp.empty_like(self.network.theta)
        n_w = self.network.n_weights
        self._weights, self._others = self.network.theta[:n_w], self.network.theta[n_w:]
        self._joined = None  # every set's X side by side, for _all_metrics
        self._painter = GridPainter(self.network, self.prepared, self.backend, self.output, self._make_network)
        self._save_good()
        if init_parameters is not None:
            self.load_parameters(init_parameters)

    def load_parameters(self, parameters: dict) -> None:
        """Start from given parameters (e.g. an earlier result's) instead of the initialization.
        Network.set_parameters checks names and shapes (ValueError naming the parameter)."""
        self.history_log()  # a pending train cost belongs to the old parameters
        self.network.set_parameters(parameters)
        self._save_good()

    def continue_from(self, iteration: int, epoch: int) -> None:
        """Count on from a saved run's iteration and epoch (its weights come in `init_parameters`):
        α = schedule(α₀, epoch) carries on, and a run saved at the end of its epochs is "done".
        The optimizer state (VdW, SdW) starts at zero: a saved run keeps its weights only."""
        if iteration < 0 or epoch < 0:
            raise ValueError(f"iteration and epoch must be ≥ 0, got {iteration} and {epoch}")
        self.iteration, self.epoch = int(iteration), int(epoch)
        self.learning_rate = self._scheduled_rate()
        self._good_iteration = self.iteration
        self._begin()

    # ---------------------------------------------------------------- setup
    def _count(self, X) -> int:
        """Examples in X (its columns, or its first axis for images)."""
        return X.shape[self.example_axis]

    def _make_network(self, backend) -> Network:
        """A Network (or a ConvNet for network.layers) of the config's architecture and
        initialization on `backend`."""
        cfg, net = self.config, self.config.network
        if net.layers is not None:
            from engine.conv import ConvNet

            return ConvNet(
                net.layers, self.prepared.image_shape, self.sets["train"][1].shape[0], output=self.output,
                init=net.init, init_scale=net.init_scale, batch_norm=net.batch_norm, leaky_slope=net.leaky_slope,
                bn_momentum=net.bn_momentum, bn_epsilon=net.bn_epsilon, seed=cfg.seed, backend=backend,
            )
        return Network(
            self.layer_dims, activation=net.activation, output=self.output, init=net.init,
            init_scale=net.init_scale, batch_norm=net.batch_norm, leaky_slope=net.leaky_slope,
            bn_momentum=net.bn_momentum, bn_epsilon=net.bn_epsilon, seed=cfg.seed, backend=backend,
        )

    def _as_arrays(self, pair):
        """(X, Y) as backend arrays of the config's dtype (no copy when they already are)."""
        xp, dtype = self.backend.xp, self.backend.dtype
        return tuple(xp.asarray(a, dtype=dtype) for a in pair)

    def _setup_batches(self) -> None:
        """Preallocated shuffle buffers and the list of mini-batch slice views into them."""
        xp = self.backend.xp
        X, Y = self.sets["train"]
        b = min(self.config.batch_size, self.m)
        self._shuffle = b < self.m
        if self._shuffle:
            self._Xs, self._Ys = xp.empty_like(X, order="C"), xp.empty_like(Y, order="C")
        else:
            self._Xs, self._Ys = X, Y
        if self.example_axis == 0:  # images: mini-batches are runs of the first axis
            self._batches = [(self._Xs[a:a + b], self._Ys[:, a:a + b]) for a in range(0, self.m, b)]
        else:
            self._batches = [(self._Xs[:, a:a + b], self._Ys[:, a:a + b]) for a in range(0, self.m, b)]
        self._k = 0  # index of the next mini-batch in the current epoch

    def _shuffle_epoch(self) -> None:
        """Xs = X[:, perm], Ys = Y[:, perm] for a fresh permutation, written into the buffers."""
        xp = self.backend.xp
        perm = xp.asarray(self.rng.permutation(self.m))
        X, Y = self.sets["train"]
        xp.take(X, perm, axis=self.example_axis, out=self._Xs)
        xp.take(Y, perm, axis=1, out=self._Ys)

    def _apply_hyperparameters(self) -> None:
        cfg = self.config
        self.alpha0 = cfg.optimizer.learning_rate
        self.learning_rate = self._scheduled_rate()
        self.l2, self.l1 = cfg.regularization.l2, cfg.regularization.l1
        kp = cfg.keep_probs()
        self.keep_probs = kp if any(p < 1.0 for p in kp) else None
        # Batch GD without dropout or batch norm: the next forward is the epoch-end train forward.
        self._reuse_forward = (self.config.batch_size >= self.m and self.keep_probs is None
                               and not cfg.network.batch_norm)

    def _scheduled_rate(self) -> float:
        """α = schedule(α₀, epoch − schedule_start_epoch)."""
        return float(scheduled_learning_rate(self.config.schedule, self.alpha0,
                                             self.epoch - self.schedule_start_epoch))

    # ---------------------------------------------------------------- training
    @property
    def batch_count(self) -> int:
        """Iterations per epoch: ⌈m / batch_size⌉."""
        return len(self._batches)

    def step(self, n: int = 1, report: bool = True) -> Optional[Snapshot]:
        """Run n mini-batch iterations (fewer if training ends or diverges) and report.
        Once the run is "done", "stopped_early" or "diverged" nothing trains (see extend()).

        report=False returns None without computing the Snapshot (its full-set passes cost more
        than a few iterations of a small net): for callers that train in many small chunks and
        call snapshot() only when they show something. Training is the same either way.
        """
        if n < 1:
            raise ValueError(f"n = {n}: the number of iterations must be at least 1")
        self._train(n, until_epoch_end=False)
        return self.snapshot() if report else None

    def run_epoch(self, report: bool = True) -> Optional[Snapshot]:
        """Run until the end of the current epoch and report (None with report=False, like step)."""
        self._train(len(self._batches), until_epoch_end=True)
        return self.snapshot() if report else None

    def run(self, progress: Optional[Callable[[dict], None]] = None, interval: float = 0.1) -> Snapshot:
        """Train to config.epochs (or early stop / divergence). progress(info) is called at most
        every `interval` seconds and once at the end with epoch, iteration, costs and lr."""
        last = -_INF
        while self._begin():
            self._train(len(self._batches), until_epoch_end=True)
            if progress is not None and time.monotonic() - last >= interval:
                last = time.monotonic()
                progress(self.progress_info())
        if progress is not None:
            progress(self.progress_info())
        return self.snapshot()

    def progress_info(self) -> dict:
        h = self.history_log()
        return {"epoch": self.epoch, "epochs": self.config.epochs, "iteration": self.iteration,
                "train_cost": h.last("train_cost"), "dev_cost": h.last("dev_cost"),
                "learning_rate": self.learning_rate, "status": self.status}

    @property
    def history(self) -> dict[str, list]:
        """Per-epoch lists train_cost, dev_cost, train_accuracy, dev_accuracy (full sets, test mode)."""
        return self.history_log().lists

    @property
    def best_epoch(self) -> Optional[int]:
        return self._early.best_epoch if self._early else None

    def history_log(self, train: Optional[SetMetrics] = None) -> EpochHistory:
        """The EpochHistory with no pending entry (filled from `train` metrics if given, else evaluated)."""
        if self._history.pending:
            train = train or self._metrics("train")
            self._history.fill_train(train.cost, train.accuracy)
        return self._history

    def _begin(self) -> bool:
        """True if training can go on; marks the run done once config.epochs are reached."""
        if self.status in ACTIVE and self.epoch >= self.config.epochs:
            self.status = "done"
        return self.status in ACTIVE

    def _train(self, n: int, until_epoch_end: bool) -> None:
        if not self._begin():
            return
        self.status = "running"
        self._save_good()
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported as divergence
            self._iterate(n, until_epoch_end)

    def _iterate(self, n: int, until_epoch_end: bool) -> None:
        net, batches, rng = self.network, self._batches, self.rng
        theta, grads, w, others = net.theta, net.grads, self._weights, self._others
        forward, backward, cost, update = net.forward, net.backward, net.cost, self.optimizer.update
        last_batch = len(batches) - 1
        l2, l1, kp, lr, m = self.l2, self.l1, self.keep_probs, self.learning_rate, self.m
        abs_sum = self.backend.xp.abs
        ww = w.dot(w)  # Σ w² of the current weights: the L2 penalty of a forward that blows up
        w1 = float(abs_sum(w).sum()) if l1 else 0.0  # Σ |w|, likewise for L1
        for done in range(n):
            k = self._k
            if k == 0 and self._shuffle:
                self._shuffle_epoch()
            Xb, Yb = batches[k]
            AL, cache = forward(Xb, train=True, keep_probs=kp, rng=rng)
            backward(cache, Yb, l2, l1, m)
            mb_cost = None
            if done == n - 1 or k == last_batch or self._history.pending:  # costs anyone observes
                self.minibatch_cost = mb_cost = sum(cost(AL, Yb, l2, l1, reg_m=m))
                self._seen_minibatch_cost(mb_cost, self.iteration + 1)
                if self._history.pending:  # full batch: this is the last epoch's train cost
                    if not math.isfinite(mb_cost):
                        self._history.fill_train(None, None)
                        self._diverge()
                        return
                    self._history.fill_train(mb_cost, self._accuracy(AL, Yb))
            update(theta, grads, lr)
            self.iteration += 1
            ww_next = w.dot(w)
            if not ww_next + others.dot(others) < _INF:  # NaN or ±inf somewhere in θ
                if mb_cost is None:  # the cost of this forward (θ was finite), for the curves
                    data, _ = cost(AL, Yb, ZL=cache.ZL)
                    self._seen_minibatch_cost(data + l2 / (2.0 * m) * float(ww) + l1 / m * w1, self.iteration)
                self._diverge()
                return
            ww = ww_next
            if l1:
                w1 = float(abs_sum(w).sum())
            if k < last_batch:
                self._k = k + 1
                continue
            self._k = 0
            self._end_epoch()
            if until_epoch_end or self.status not in ACTIVE:
                return
            lr = self.learning_rate

    def _seen_minibatch_cost(self, cost: float, iteration: int) -> None:
        """Remember a finite mini-batch cost, of the forward of `iteration` (1-based: the update
        that followed it made the counter `iteration`)."""
        if math.isfinite(cost):
            self.last_finite_minibatch_cost = float(cost)
            self.last_finite_minibatch_iteration = iteration

    def _end_epoch(self) -> None:
        """Epoch bookkeeping: counter, decayed α, history, early stopping, end of training."""
        self.epoch += 1
        self.learning_rate = self._scheduled_rate()
        dev = self._metrics("dev")
        if dev is not None and not math.isfinite(dev.cost):
            self._diverge_at_epoch_end(self._metrics("train"), dev)
            return
        stop = self._early is not None and self._early.update(self.epoch, dev.cost, self._copy_parameters)
        last = stop or self.epoch >= self.config.epochs
        train = None if self._reuse_forward and not last else self._metrics("train")
        if train is not None and not math.isfinite(train.cost):
            self._diverge_at_epoch_end(train, dev)
            return
        self._history.add(train, dev)  # train None: filled from the next iteration's forward
        self._save_good()
        if stop:
            self._restore(self._early.best_parameters)
            self.status = "stopped_early"
            self.stopped_epoch = self.epoch
        elif last:
            self.status = "done"

    def _diverge_at_epoch_end(self, train: Optional[SetMetrics], dev: Optional[SetMetrics]) -> None:
        """A non-finite epoch-end cost: record the epoch (a non-finite cost, and its accuracy, as
        None; a huge finite one as it is) so the curves reach the blow-up, then diverge."""
        def finite(s):
            if s is None or math.isfinite(s.cost):
                return s
            return SetMetrics(None, None, None, None)
        self._history.add(finite(train), finite(dev))
        self._history.pending = False
        self._diverge()

    def _copy_parameters(self) -> tuple:
        net = self.network
        return net.theta.copy(), {k: v.copy() for k, v in net.running.items()}

    def _restore(self, saved: tuple) -> None:
        theta, running = saved
        self.network.theta[...] = theta
        for k, v in running.items():
            self.network.running[k][...] = v

    def _save_good(self) -> None:
        """Keep a copy of the (finite) parameters to fall back on if the run diverges."""
        self._good_theta[...] = self.network.theta
        self._good_running = {k: v.copy() for k, v in self.network.running.items()}
        self._good_iteration = self.iteration

    def _diverge(self) -> None:
        """Status "diverged", θ restored from the last good copy; minibatch_cost becomes None (the
        last finite one stays in last_finite_minibatch_cost)."""
        self.status = "diverged"
        self.diverged_at, self.diverged_epoch = self.iteration, self.epoch
        self.restored_iteration = self._good_iteration
        self.minibatch_cost = None
        self._restore((self._good_theta, self._good_running))

    # ---------------------------------------------------------------- live changes
    def set(self, **changes) -> None:
        """Change hyperparameters between steps; weights, optimizer state and counters are kept.

        Accepts learning_rate (the α₀ of the schedule), l2, l1, keep_prob, beta, beta1, beta2,
        epsilon, bias_correction, schedule (ScheduleConfig or dict) and human_error. Raises
        pydantic.ValidationError naming the key (e.g. 'optimizer.learning_rate: ...').
        A schedule that differs from the current one (switched on, off, or any of its values
        changed) starts counting epochs now: schedule_start_epoch = epoch, so α = α₀ until the
        next epoch end, then schedule(α₀, 1), ... Re-sending the same schedule changes nothing.
        """
        config, given = apply_live_change(self.config, changes)
        self.history_log()  # a pending train cost is evaluated with the old λ
        if "schedule" in given and config.schedule != self.config.schedule:
            self.schedule_start_epoch = self.epoch
        self.config = config
        hyper = {k: getattr(config.optimizer, k) for k in OPTIMIZER_HYPER if k in given}
        if hyper:
            self.optimizer.configure(**hyper)
        self._apply_hyperparameters()

    # ---------------------------------------------------------------- reporting
    def _metrics(self, name: str) -> Optional[SetMetrics]:
        """Full-set cost and accuracy in test mode (no dropout, running batch-norm statistics)."""
        X, Y = self.sets[name]
        if self._count(X) == 0:
            return None
        AL, cache = self.network.forward(X)
        return self._set_metrics(AL, Y, cache.ZL)

    def _all_metrics(self) -> dict[str, Optional[SetMetrics]]:
        """_metrics of every set from ONE test-mode forward over the sets side by side (test mode
        treats columns independently): a snapshot then costs one pass, not three."""
        if self._joined is None:  # the sets never change: joined once
            self._joined = self.backend.xp.concatenate([X for X, _ in self.sets.values()], axis=self.example_axis)
        AL, cache = self.network.forward(self._joined)
        metrics, a = {}, 0
        for name, (X, Y) in self.sets.items():
            b = a + self._count(X)
            metrics[name] = self._set_metrics(AL[:, a:b], Y, cache.ZL[:, a:b]) if b > a else None
            a = b
        return metrics

    def _set_metrics(self, AL, Y, ZL) -> SetMetrics:
        """Cost (the penalty with m = m_train on every set, so it is the same number on each),
        data cost, penalty and accuracy of one set."""
        data_cost, reg_cost = self.network.cost(AL, Y, self.l2, self.l1, ZL=ZL, reg_m=self.m)
        return SetMetrics(float(data_cost) + float(reg_cost), float(data_cost), float(reg_cost),
                          self._accuracy(AL, Y))

    def _accuracy(self, AL, Y) -> Optional[float]:
        """Binary: ŷ > 0.5; multi-class: argmax; regression: None."""
        xp = self.backend.xp
        if self.output == "linear":
            return None
        # hits / count: the same number as xp.mean of the hits, without its overhead
        if self.output == "sigmoid":
            return int(xp.count_nonzero((AL > 0.5) == (Y > 0.5))) / AL.size
        return int(xp.count_nonzero(xp.argmax(AL, axis=0) == xp.argmax(Y, axis=0))) / AL.shape[1]

    def snapshot(self) -> Snapshot:
        """Counters, full-set metrics (test mode), the last mini-batch cost, norms and diagnosis."""
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite values are reported as None
            metrics = self._all_metrics()
            if self._history.pending:  # the parameters are the epoch-end ones: fill it for free
                self.history_log(metrics["train"])
            grad_norms, weight_norms = self.network.grad_norms(), self.network.weight_norms()
        train, dev = metrics["train"], metrics["dev"]
        diagnosis = diagnose_run(  # None for regression (unless diverged); engine/diagnosis.py
            self.history_log().lists, self.status, train, dev, metrics["test"], grad_norms, self.iteration,
            self.epoch, self.config.human_error, classes=self.layer_dims[-1] + (self.layer_dims[-1] == 1),
            diverged_at=self.diverged_at, restored_iteration=self.restored_iteration,
            dev_size=self._count(self.sets["dev"][0]))
        return Snapshot(
            iteration=self.iteration, epoch=self.epoch, status=self.status,
            learning_rate=self.learning_rate, minibatch_cost=self.minibatch_cost,
            train=train, dev=dev, test=metrics["test"],
            grad_norms=[float(g) for g in grad_norms], weight_norms=[float(w) for w in weight_norms],
            diverged_at=self.diverged_at, diverged_epoch=self.diverged_epoch,
            restored_iteration=self.restored_iteration, diagnosis=diagnosis,
            last_finite_minibatch_cost=self.last_finite_minibatch_cost,
            last_finite_minibatch_iteration=self.last_finite_minibatch_iteration,
            schedule_start_epoch=self.schedule_start_epoch, epochs=self.config.epochs,
            early_stopping=self.early_stopping_info(), continue_epochs=self.continue_epochs,
        )

    def early_stopping_info(self) -> Optional[dict]:
        """None without early stopping; else patience, min_delta, best_epoch (None before the
        first epoch), best_dev_cost, epochs_without_improvement (since best_epoch) and
        stopped_epoch (the epoch counter when it stopped; None while it has not). After a stop
        the parameters are those of best_epoch. early_stopping_message(info) words it."""
        return None if self._early is None else self._early.info(self.stopped_epoch)

    @property
    def continue_epochs(self) -> Optional[int]:
        """How many more epochs extend() without an argument allows, for a run that is "done" or
        "stopped_early" (None otherwise, or when the budget cannot grow): the rest of the budget
        config.epochs when early stopping ended the run before it, else config.epochs again
        (capped so the budget stays <= MAX_EPOCHS)."""
        return continue_epochs(self.status, self.epoch, self.config.epochs, MAX_EPOCHS)

    def extend(self, epochs: Optional[int] = None) -> None:
        """Let a finished run train on: what Play after "Finished" / "Stopped early" does.

        The epoch budget becomes config.epochs = epoch + epochs (epochs=None: continue_epochs);
        the early-stopping patience counter restarts at 0 (the best dev cost, best_epoch and
        their parameters are kept, so a later stop still keeps the best weights of the whole
        run) and stopped_epoch is cleared; status goes back to "running" ("ready" before any
        iteration). Weights (those of best_epoch after an early stop), optimizer state, epoch
        and iteration counters and the schedule carry on. On an active run it only sets the
        budget. Raises ValueError for a diverged run (reset instead) or when no epoch is left
        to add, pydantic.ValidationError (key 'epochs') beyond the config's limit.
        """
        if self.status == "diverged":
            raise ValueError("the run diverged: it cannot continue; lower the learning rate and reset")
        if epochs is None:
            epochs = self.continue_epochs if self.status not in ACTIVE else 0
            if not epochs:
                raise ValueError(f"nothing to continue: the run is {self.status!r} at epoch {self.epoch}")
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs = {epochs!r}: the number of epochs to add must be an integer >= 1")
        self.history_log()
        self.config = load_config({**self.config.model_dump(), "epochs": self.epoch + epochs})
        if self._early is not None:
            self._early.wait = 0
        self.stopped_epoch = None
        if self.status not in ACTIVE:
            self.status = "running" if self.iteration else "ready"

    def grid(self, resolution: int = 100, dtype: Optional[str] = None):
        """(xs, ys, values (res, res)) over prepared.domain in raw input space: row i is x2 = ys[i],
        column j is x1 = xs[j]. Binary: P(y=1); multi-class: argmax class index; regression: ŷ.

        dtype "float32" / "float64" evaluates a copy of the network in that dtype (θ cast on each
        call, engine.grids.NetworkCopy) and returns values in it; None (default) uses the config's
        dtype. float32 over a float64 run is several times faster and agrees to ~1e-6.
        """
        return self._painter.grid(resolution, dtype)

    def neuron_grids(self, resolution: int = 20, dtype: Optional[str] = None) -> list:
        """Every hidden neuron's output A[l] over the domain grid: one (n[l], res, res) per hidden
        layer. dtype as in grid()."""
        return self._painter.neuron_grids(resolution, dtype)

    def grids(self, resolution: int = 100, neuron_resolution: int = 20, dtype: Optional[str] = None):
        """(grid(resolution)[2], neuron_grids(neuron_resolution)) from ONE forward pass over both
        grids' points side by side: what a frame draws. dtype as in grid()."""
        return self._painter.grids(resolution, neuron_resolution, dtype)

    def result(self) -> dict:
        """The CLI's result JSON (docs/config.md, "Result JSON"), JSON-safe."""
        return results.build_result(self)
