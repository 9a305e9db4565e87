"""One optimizer-lab race, without sockets: a surface, up to six racers moving from one start point,
and the JSON messages describing them (docs/lab.md).

Each racer is an engine `PathRunner`; on a mini-batch logistic surface it also has a full-batch
twin so the noisy mini-batch path can be drawn against the smooth batch path. A racer's status:
"running", "converged" (J - J* < tolerance), "diverged" (non-finite cost, or the point left the
plotted domain by more than ESCAPE_SPANS times its size) or "stopped" (max_steps reached).
Points are kept in preallocated (max_steps + 1, 2) buffers, with the full cost J at each point in
a (max_steps + 1,) buffer; row 0 is the start point. `replay(id, changes)` recomputes one racer's
whole path from the start with new hyperparameters, for as many steps as it had (same mini-batch
seed, so the same batches in the same order); its `revision` then counts up so frames send its
whole path again (`points_from` 0).

The lab's one thread (server/lab_executor.py) computes races in bounded jobs: `advance_within(n,
seconds)` makes as many of n updates as fit in `seconds`, a replay is computed in parts
(`start_replay`, `Replay.advance_within`, `finish_replay`), and contour grids are cached.
"""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Optional

import numpy as np

from engine.surfaces import LOGISTIC_M, PathRunner, Surface, SurfaceConfig, make_surface
from server.lab_protocol import LAB_LIMITS, Configure, LabOptimizer
from server.protocol import ProtocolError

from server.limits import LAB_GRID_CACHE as GRID_CACHE

ESCAPE_SPANS = 100.0  # a point this many domain widths outside the domain counts as diverged
FINISHED = ("converged", "diverged", "stopped")


class Track:
    """One path: a PathRunner and the points it has produced so far."""

    def __init__(self, surface: Surface, spec: LabOptimizer, start, seed: int, tolerance: float,
                 max_steps: int, bounds: tuple[float, float, float, float]):
        self.runner = PathRunner(surface, spec.model_dump(exclude={"id"}), start, seed, tolerance)
        self.points = np.empty((max_steps + 1, 2))
        self.costs = np.empty(max_steps + 1)
        self.points[0] = self.runner.point
        self.costs[0] = self.runner.cost
        self.length = 1
        self.max_steps, self.bounds = max_steps, bounds
        self.status = self.runner.status
        self.reason: Optional[str] = None

    def advance(self, n: int) -> None:
        """Up to n updates; stops at convergence, divergence or max_steps."""
        n = min(n, self.max_steps - self.runner.steps)
        if self.status != "running" or n <= 0:
            return
        new, costs = self.runner.step_costs(n)
        xmin, xmax, ymin, ymax = self.bounds
        outside = (new[:, 0] < xmin) | (new[:, 0] > xmax) | (new[:, 1] < ymin) | (new[:, 1] > ymax)
        if outside.any():  # keep the points up to the escape, never stream what follows
            keep = int(np.argmax(outside))
            new, costs = new[:keep], costs[:keep]
            self.status = "diverged"
            self.reason = f"the point left the plotted region by more than {ESCAPE_SPANS:g}× its size"
        self.points[self.length:self.length + len(new)] = new
        self.costs[self.length:self.length + len(new)] = costs
        self.length += len(new)
        if self.status == "diverged":
            return
        self.status = self.runner.status
        if self.status == "diverged":
            self.reason = "the cost became NaN or infinite"
        elif self.status == "running" and self.runner.steps >= self.max_steps:
            self.status = "stopped"

    @property
    def steps(self) -> int:
        return self.length - 1

    def cost(self, surface: Surface) -> float:
        """Full cost at the last streamed point (finite by construction)."""
        return float(self.costs[self.length - 1])

    def configure(self, changes: dict) -> None:
        self.runner.configure(**changes)


class Racer:
    """An optimizer in the race: its settings, its path and (mini-batch surfaces) its batch twin."""

    def __init__(self, spec: LabOptimizer, main: Track, twin: Optional[Track]):
        self.spec, self.main, self.twin = spec, main, twin
        self.reported = False  # divergence already announced
        self.revision = 0      # counts replays: a frame sends a replayed path whole

    @property
    def finished(self) -> bool:
        return all(t.status in FINISHED for t in (self.main, self.twin) if t is not None)


@dataclass(frozen=True)
class TrackView:
    """What a frame needs of a track at one moment (the buffers are append-only, so rows below
    `length` never change afterwards; a replay makes new buffers and a new `revision`)."""

    points: np.ndarray
    length: int
    costs: Optional[np.ndarray] = None   # J at each point (a Redis mirror keeps relayed lists)
    revision: int = 0


@dataclass(frozen=True)
class RacerView:
    id: str
    main: TrackView
    twin: Optional[TrackView]
    info: dict


@dataclass(frozen=True)
class Snapshot:
    generation: int
    step: int
    racers: tuple[RacerView, ...]


_grids: OrderedDict[tuple, dict] = OrderedDict()
_grids_lock = threading.Lock()


def contour_grid(surface: Surface, resolution: int) -> dict:
    """{x, y, z, levels} of a surface message, kept for the GRID_CACHE latest surfaces: a logistic
    grid at resolution 200 is ~0.3 s of the lab's one thread, the same for every student of a class
    (a mini-batch size does not change the full cost J drawn, so it is not part of the key)."""
    params = tuple(sorted((k, v) for k, v in surface.params().items() if k != "batch_size"))
    key = (surface.name, params, resolution)
    with _grids_lock:
        grid = _grids.get(key)
        if grid is not None:
            _grids.move_to_end(key)
            return grid
    xs, ys, J = surface.grid(resolution)
    grid = {"x": [float(v) for v in xs], "y": [float(v) for v in ys],
            "z": [[float(f"{v:.6g}") for v in row] for row in J.tolist()],
            "levels": [float(f"{v:.6g}") for v in surface.levels(J).tolist()]}
    with _grids_lock:
        _grids[key] = grid
        while len(_grids) > GRID_CACHE:
            _grids.popitem(last=False)
    return grid


def _decimals(span: float) -> int:
    """Decimal places that keep 1e-6 of the domain's span (paths are rounded for the wire)."""
    return max(0, 6 - math.floor(math.log10(span)))


class LabSession:
    """A configured race. `advance(n)` moves every unfinished racer n updates."""

    def __init__(self, msg: Configure, generation: int = 1):
        self.config = msg
        self.surface = make_surface(msg.surface)
        batch = msg.surface.batch_size
        self.minibatch = msg.surface.name == "logistic" and batch is not None and batch < LOGISTIC_M
        full = SurfaceConfig(**{**msg.surface.model_dump(), "batch_size": None})
        self.batch_surface = make_surface(full) if self.minibatch else self.surface
        xmin, xmax, ymin, ymax = self.surface.domain
        self.decimals = (_decimals(xmax - xmin), _decimals(ymax - ymin))
        sx, sy = ESCAPE_SPANS * (xmax - xmin), ESCAPE_SPANS * (ymax - ymin)
        self.bounds = (xmin - sx, xmax + sx, ymin - sy, ymax + sy)
        self.start = self._checked_start(msg.start, "start")
        self.step_seconds: Optional[float] = None  # one update of every path, as last measured
        self.generation = generation - 1
        self.restart()

    def _checked_start(self, start, field: str) -> tuple[float, float]:
        if start is None:
            return tuple(float(v) for v in self.surface.start)
        x, y = start
        xmin, xmax, ymin, ymax = self.surface.domain
        if not (xmin <= x <= xmax and ymin <= y <= ymax):
            raise ProtocolError(field, f"({x:g}, {y:g}) must lie in the plotted domain: "
                                       f"{xmin:.4g} ≤ w1 ≤ {xmax:.4g}, {ymin:.4g} ≤ w2 ≤ {ymax:.4g}")
        return float(x), float(y)

    # --- commands --------------------------------------------------------------------------------
    def restart(self) -> None:
        """Every racer back to the start point with fresh optimizer state (a new generation)."""
        cfg = self.config
        self.generation += 1
        old = {r.spec.id: r.spec for r in getattr(self, "racers", [])}
        specs = [old.get(s.id, s) for s in cfg.optimizers]  # live changes survive a reset

        def track(surface: Surface, spec: LabOptimizer) -> Track:
            return Track(surface, spec, self.start, cfg.seed, cfg.tolerance, cfg.max_steps, self.bounds)

        self.racers = [Racer(s, track(self.surface, s), track(self.batch_surface, s) if self.minibatch else None)
                       for s in specs]

    def set_start(self, x: float, y: float) -> None:
        self.start = self._checked_start((x, y), "x")
        self.restart()

    def racer(self, racer_id: str) -> Racer:
        """The racer with this id; ProtocolError (field `id`) naming the race's ids otherwise."""
        racer = next((r for r in self.racers if r.spec.id == racer_id), None)
        if racer is None:
            ids = ", ".join(r.spec.id for r in self.racers)
            raise ProtocolError("id", f"no optimizer {racer_id!r} in the race: allowed {ids}", "set")
        return racer

    def set(self, racer_id: str, changes: dict) -> None:
        """Live change of one racer's hyperparameters; its path and optimizer state continue."""
        racer = self.racer(racer_id)
        racer.spec = racer.spec.model_copy(update=changes)
        for track in (racer.main, racer.twin):
            if track is not None:
                track.configure(changes)

    def replay(self, racer_id: str, changes: dict) -> list[dict]:
        """One racer's whole path recomputed from the start point with its hyperparameters
        changed, for as many updates as it had made (its twin likewise; the same mini-batch
        seed, so the same batches in the same order). Returns the `diverged` message if the new
        path diverges (announced again even if the old one had been)."""
        replay = self.start_replay(racer_id, changes)
        while not replay.advance_within(math.inf):
            pass
        return self.finish_replay(replay)

    def start_replay(self, racer_id: str, changes: dict) -> "Replay":
        """`replay` in parts (the lab's executor computes it in bounded chunks): the new tracks,
        advanced by `Replay.advance_within`, installed by `finish_replay`."""
        racer = self.racer(racer_id)
        racer.spec = racer.spec.model_copy(update=changes)
        cfg = self.config

        def track(surface: Surface, old: Track) -> tuple[Track, int]:
            new = Track(surface, racer.spec, self.start, cfg.seed, cfg.tolerance, cfg.max_steps, self.bounds)
            return new, old.steps

        main = track(self.surface, racer.main)
        twin = track(self.batch_surface, racer.twin) if racer.twin is not None else None
        return Replay(racer, main, twin)

    def finish_replay(self, replay: "Replay") -> list[dict]:
        racer = replay.racer
        racer.main = replay.main[0]
        racer.twin = replay.twin[0] if replay.twin is not None else None
        racer.revision += 1
        racer.reported = False
        return self._divergence(racer)

    def advance(self, n: int) -> list[dict]:
        """n updates of every unfinished path; returns the `diverged` messages this produced."""
        events = []
        for racer in self.racers:
            for track in (racer.main, racer.twin):
                if track is not None:
                    track.advance(n)
            events += self._divergence(racer)
        return events

    def advance_within(self, n: int, seconds: float) -> tuple[list[dict], int]:
        """Up to n updates of every unfinished path, stopping once about `seconds` have passed
        (the lab's bounded tick: a costly race gets fewer steps, never a long hold of the lab's
        thread). Returns the `diverged` messages and the number of updates made."""
        events, done = [], 0
        started = time.perf_counter()
        while done < n and not self.finished:
            if self.step_seconds is None:
                chunk = 1  # one update measured first
            else:
                chunk = int((seconds - (time.perf_counter() - started)) / self.step_seconds)
            chunk = max(1, min(n - done, chunk))
            before = time.perf_counter()
            events += self.advance(chunk)
            self.step_seconds = max(1e-7, (time.perf_counter() - before) / chunk)
            done += chunk
            if time.perf_counter() - started >= seconds:
                break
        return events, done

    def _divergence(self, racer: Racer) -> list[dict]:
        """The racer's `diverged` message, once."""
        if racer.main.status != "diverged" or racer.reported:
            return []
        racer.reported = True
        return [{"type": "diverged", "id": racer.spec.id, "step": racer.main.steps + 1,
                 "reason": racer.main.reason,
                 "hint": f"lower the learning rate of {racer.spec.id} "
                         f"(now {racer.spec.learning_rate:g}) and press reset"}]

    @property
    def finished(self) -> bool:
        return all(r.finished for r in self.racers)

    @property
    def step(self) -> int:
        return max(r.main.steps for r in self.racers)

    # --- messages --------------------------------------------------------------------------------
    def racer_info(self, racer: Racer) -> dict:
        main = racer.main
        return {
            "id": racer.spec.id, "name": racer.spec.name, "learning_rate": racer.spec.learning_rate,
            "status": main.status, "steps": main.steps, "cost": main.cost(self.surface),
            "gap": main.cost(self.surface) - float(self.surface.min_cost),
            "steps_to_tolerance": main.runner.steps_to_tolerance, "reason": main.reason,
            "batch_cost": racer.twin.cost(self.surface) if racer.twin is not None else None,
            "batch_status": racer.twin.status if racer.twin is not None else None,
        }

    def snapshot(self) -> Snapshot:
        views = tuple(
            RacerView(r.spec.id, TrackView(r.main.points, r.main.length, r.main.costs, r.revision),
                      TrackView(r.twin.points, r.twin.length, r.twin.costs, r.revision) if r.twin is not None else None,
                      self.racer_info(r))
            for r in self.racers)
        return Snapshot(self.generation, self.step, views)

    def rounded(self, points: np.ndarray) -> list:
        """Rows of (w1, w2) rounded to 1e-6 of the domain span (short JSON, no float noise)."""
        return np.column_stack([np.round(points[:, 0], self.decimals[0]),
                                np.round(points[:, 1], self.decimals[1])]).tolist()

    @staticmethod
    def rounded_costs(costs) -> list:
        """Costs J at full precision: the client plots J − J* down to the tolerance (≥ 1e-12)."""
        return [float(v) for v in costs]

    def surface_message(self) -> dict:
        """The contour grid (sent once per configure): rows of z are w2 from ymin up, columns w1."""
        return {
            "type": "surface", **self.surface.describe(), "generation": self.generation,
            "minibatch": self.minibatch, "tolerance": self.config.tolerance,
            **contour_grid(self.batch_surface, self.config.resolution),
        }

    def state_message(self, status: str, speed: dict) -> dict:
        cfg = self.config
        return {
            "type": "state", "status": status, "generation": self.generation, "step": self.step,
            "surface": cfg.surface.model_dump(), "start": list(self.start), "tolerance": cfg.tolerance,
            "max_steps": cfg.max_steps, "resolution": cfg.resolution, "seed": cfg.seed,
            "optimizers": [r.spec.model_dump() for r in self.racers], "speed": speed, "limits": LAB_LIMITS,
        }


class Replay:
    """A replay being computed: the racer's new tracks and how many updates each must make."""

    def __init__(self, racer: Racer, main: tuple[Track, int], twin: Optional[tuple[Track, int]]):
        self.racer, self.main, self.twin = racer, main, twin

    def advance_within(self, seconds: float, chunk: int = 64) -> bool:
        """Advances the new tracks in chunks for about `seconds`; True once both are complete."""
        started = time.perf_counter()
        while True:
            pending = [(t, steps) for t, steps in (self.main, self.twin or (None, 0))
                       if t is not None and t.status == "running" and t.steps < steps]
            if not pending:
                return True
            for track, steps in pending:
                track.advance(min(chunk, steps - track.steps))
            if time.perf_counter() - started >= seconds:
                return False
