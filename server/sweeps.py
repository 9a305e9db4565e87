"""Hyperparameter sweeps in the server (issue #14, docs/protocol.md "Sweeps", docs/limits.md "Sweeps").

`check_sweep(spec, csv_rows)` refuses a sweep beyond this server's limits (its base config and
every end of its space checked as the playground's configs are, its number of trials, its
epochs × points); `SweepService` runs sweeps: `engine.sweep.run_sweep` in a thread of its own per
sweep, its trials in one process pool the service owns (sized by the server's worker count, its
processes at a lower OS priority so the playground's sessions keep their frames). Each sweep
gets at most `workers` trials in the pool at a time (`PoolShare`): two sweeps take turns, and a
cancelled sweep has at most that many trials running, which end with the pool's processes when
no other sweep is using them (else they finish, bounded by MAX_TRIAL_WORK).
"""
from __future__ import annotations

import copy
import logging
import multiprocessing
import os
import threading
from collections import deque
from concurrent.futures import CancelledError, Executor, Future
from functools import partial
from typing import Any, Callable, Optional

from pydantic import ValidationError

from engine.sweep import apply_params
from engine.sweep_exec import SweepPool, init_worker
from server import limits
from server.limits import ServerTrainConfig
from server.protocol import ProtocolError, validation_problem

log = logging.getLogger("nn_playground.sweeps")


# ------------------------------------------------------------------ limits
def check_sweep(spec: Any, csv_rows: Optional[int] = None) -> None:
    """Raise ProtocolError (request type `start`, fields under `sweep.`) when the sweep is beyond
    this server's limits. `csv_rows`: the uploaded CSV's rows when the base trains on one."""
    try:
        base = ServerTrainConfig.model_validate(spec.base).model_dump(mode="json")
    except ValidationError as err:
        raise validation_problem(err, ServerTrainConfig, "start", prefix="sweep.base", strip_tag=False) from None
    space = {path: dist.args for path, dist in spec.space.items()}  # [lo, hi], or every choice
    choices = {path: dist.args for path, dist in spec.space.items() if dist.kind == "choice"}
    for path, values in space.items():
        # a key under a choice (network.hidden.1 under network.hidden) exists with some choices only
        contexts = [{}] + [{p: c} for p, cs in choices.items() if path.startswith(p + ".") for c in cs]
        for value in values:
            for context in contexts:
                try:  # base has every default: the engine's own setter, parents before children
                    config = apply_params(copy.deepcopy(base), {**context, path: value})
                except (KeyError, IndexError, TypeError, ValueError):
                    continue  # not there with this choice (the engine checked it is there with one)
                try:
                    ServerTrainConfig.model_validate(config)
                except ValidationError as err:
                    raise ProtocolError(f"sweep.space.{path}", f"{path} = {value!r} cannot be trained on this server: "
                                        f"{validation_problem(err, ServerTrainConfig).message}", "start") from None
    rounds, total = spec.rounds, spec.total
    if total > limits.MAX_SWEEP_TRIALS:
        raise ProtocolError("sweep.trials", f"at most {limits.MAX_SWEEP_TRIALS} trials per sweep on this server, "
                            f"refine rounds included (got {spec.trials} × {rounds} rounds = {total})", "start")
    epochs = max(space.get("epochs", [base["epochs"]]))
    points = csv_rows if csv_rows is not None else max(space.get("data.n", [base["data"]["n"]]))
    trial = epochs * points
    if trial > limits.MAX_TRIAL_WORK:
        raise ProtocolError("sweep.base.epochs", f"a trial may train at most {limits.MAX_TRIAL_WORK:,} epochs × points "
                            f"on this server (got {epochs:,} epochs × {points:,} points = {trial:,}): "
                            "train fewer epochs or on fewer points", "start")
    if trial * total > limits.MAX_SWEEP_WORK:
        raise ProtocolError("sweep.trials", f"a sweep may train at most {limits.MAX_SWEEP_WORK:,} epochs × points "
                            f"on this server (got {total} trials × {epochs:,} epochs × {points:,} points = "
                            f"{trial * total:,}): run fewer trials, epochs or points", "start")


# ------------------------------------------------------------------ the pool
class PoolShare(Executor):
    """One sweep's view of the shared pool: at most `limit` of its trials in the pool at a time,
    the others wait here in order (cancellable until they leave). run_sweep sees a plain Executor."""

    def __init__(self, pool: Callable[[], Executor], limit: int):
        self._pool, self._limit = pool, limit  # the pool is asked for at each trial (it may be replaced)
        self._waiting: deque = deque()
        self._in_pool = 0
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable, /, *args, **kwargs) -> Future:
        outer: Future = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new trials after the sweep ended")
            self._waiting.append((outer, fn, args, kwargs))
        self._dispatch()
        return outer

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                if self._in_pool >= self._limit or not self._waiting:
                    return
                outer, fn, args, kwargs = self._waiting.popleft()
                if not outer.set_running_or_notify_cancel():
                    continue  # cancelled while it waited: it never reaches the pool
                self._in_pool += 1
            try:
                inner = self._pool().submit(fn, *args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - a broken or closed pool fails the trial, not the thread
                with self._lock:
                    self._in_pool -= 1
                outer.set_exception(exc)
                continue
            inner.add_done_callback(lambda done, outer=outer: self._finished(outer, done))

    def _finished(self, outer: Future, inner: Future) -> None:
        with self._lock:
            self._in_pool -= 1
        if inner.cancelled():
            outer.set_exception(CancelledError())
        elif inner.exception() is not None:
            outer.set_exception(inner.exception())
        else:
            outer.set_result(inner.result())
        self._dispatch()

    def cancel_waiting(self) -> int:
        """Cancel the trials that have not reached the pool; returns how many."""
        with self._lock:
            waiting = list(self._waiting)
            self._waiting.clear()
        return sum(outer.cancel() for outer, *_ in waiting)

    @property
    def in_pool(self) -> int:
        return self._in_pool

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
        if cancel_futures:
            self.cancel_waiting()


# ------------------------------------------------------------------ sweeps
class Sweep:
    """One running sweep: run_sweep in a thread; `cancel(reason)` stops it within 0.1 s (no new
    trial starts; the running ones are not waited for). `on_trial(entry, progress)` and
    `on_end(outcome)` are called in the sweep's thread; outcome = {status, reason, result}."""

    def __init__(self, service: "SweepService", spec: Any, csv_text: Optional[str],
                 on_trial: Callable[[dict, dict], None], on_end: Callable[[dict], None]):
        self.service, self.spec, self.csv_text = service, spec, csv_text
        self.on_trial, self.on_end = on_trial, on_end
        self.cancelled = threading.Event()
        self.reason: Optional[str] = None
        self.share = PoolShare(service.pool, service.workers)
        self.thread = threading.Thread(target=self._run, name="sweep", daemon=True)
        self.timer = threading.Timer(limits.MAX_SWEEP_SECONDS, self.cancel,
                                     (f"it ran for the time limit of {limits.MAX_SWEEP_SECONDS:g} s",))
        self.timer.daemon = True

    def start(self) -> None:
        self.thread.start()
        self.timer.start()

    def cancel(self, reason: str = "cancelled") -> None:
        if self.reason is None:
            self.reason = reason
        self.cancelled.set()
        self.share.cancel_waiting()

    def _run(self) -> None:
        from engine.sweep import run_sweep

        try:
            result = run_sweep(self.spec, self.share, csv_text=self.csv_text, on_trial=self.on_trial,
                               cancel=self.cancelled)
            outcome = {"status": result["status"], "reason": self.reason if result["status"] == "cancelled" else None,
                       "result": result}
        except Exception as exc:  # noqa: BLE001 - the client is told; the server carries on
            log.exception("sweep failed")
            outcome = {"status": "failed", "reason": f"the sweep failed: {exc}", "result": None}
        finally:
            self.timer.cancel()
            self.share.shutdown(cancel_futures=True)
            self.service.finished(self)
        self.on_end(outcome)


class SweepService:
    """The server's sweeps: their pool (started with the first sweep: `workers` processes, spawned,
    niced) and the global cap (MAX_SWEEPS running; a sweep counts until its thread has ended)."""

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self._pool: Optional[SweepPool] = None
        self._sweeps: set[Sweep] = set()
        self._lock = threading.Lock()

    def pool(self) -> SweepPool:
        with self._lock:
            if self._pool is None:
                # spawn, never fork: the server's process has threads (uvicorn's, the sweeps')
                # the engine's initializer (its module imports no NumPy, so the BLAS pin holds; one from
                # here would load NumPy first): one BLAS thread, SIGINT ignored, and below the
                # playground's workers, which stream live frames
                self._pool = SweepPool(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=partial(init_worker, nice=limits.SWEEP_NICE))
            return self._pool

    def warm(self) -> None:
        """Start the pool's processes now (a page that may start a sweep has opened): spawning
        them and importing NumPy and the engine takes ~1 s a process, not to be waited for at Start."""
        pool = self.pool()
        for _ in range(self.workers):
            pool.submit(os.getpid)

    @property
    def running(self) -> int:
        return len(self._sweeps)

    def start(self, spec: Any, csv_text: Optional[str], on_trial, on_end) -> Sweep:
        sweep = Sweep(self, spec, csv_text, on_trial, on_end)
        with self._lock:  # the cap's check and the count in one step
            if len(self._sweeps) >= limits.MAX_SWEEPS:
                raise ProtocolError("", f"the server is running {limits.MAX_SWEEPS} sweeps already (at most "
                                    f"{limits.MAX_SWEEPS}): try again when one has finished", "start")
            self._sweeps.add(sweep)
        sweep.start()
        return sweep

    def finished(self, sweep: Sweep) -> None:
        """A sweep's thread ends. Trials of it still running (cancelled, or a failed sweep) are
        ended with the pool's processes when no other sweep is using the pool, and a broken pool is
        dropped; the next sweep starts a new pool."""
        with self._lock:
            self._sweeps.discard(sweep)
            broken = getattr(self._pool, "_broken", False)  # a trial's process died: the pool refuses work
            stale = broken or (sweep.share.in_pool > 0 and not self._sweeps)
            pool = self._pool if stale else None
            if stale:
                self._pool = None
        if pool is not None:
            pool.abandon()

    @property
    def pool_started(self) -> bool:
        return self._pool is not None

    def stats(self) -> dict:
        with self._lock:
            sweeps = list(self._sweeps)
            started = self._pool is not None
        return {"running": len(sweeps), "max_sweeps": limits.MAX_SWEEPS, "workers": self.workers,
                "trials_in_pool": sum(s.share.in_pool for s in sweeps), "pool_started": started}

    def stop(self) -> None:
        """Server shutdown: cancel every sweep and end the pool's processes now (a trial is lost work)."""
        with self._lock:
            sweeps, pool, self._pool = list(self._sweeps), self._pool, None
        for sweep in sweeps:
            sweep.cancel("the server stopped")
        if pool is not None:
            pool.abandon()
