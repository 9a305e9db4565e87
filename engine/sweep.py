"""Hyperparameter search (issue #14): random values on the right scale, coarse to fine, in parallel.

The course's tuning week: try random values, not a grid; sample α on a log scale (r = −4·rand(),
α = 10^r) and β through 1 − β (r ∈ [−3, −1], β = 1 − 10^r), since β near 1 is sensitive; then
zoom into the region of the best values (coarse to fine); "caviar": train many models in
parallel and keep the best. A sweep (docs/config.md, "Hyperparameter search (sweep)") is a base
TrainConfig, a number of trials, a seed, a metric and a space {dotted config path: distribution}.

Sampling (in the calling process, so every executor trains the same trials). Trial t of round r
takes, for each dimension at path p, one u ∈ [0, 1) made of 53 bits of
SeedSequence([seed, r, t, crc32(p)]) (so a dimension's values do not depend on the others), and:

    log_uniform [lo, hi]            10^(log10 lo + u·(log10 hi − log10 lo))
    one_minus_log_uniform [lo, hi]  1 − 10^(log10(1 − hi) + u·(log10(1 − lo) − log10(1 − hi)))
    uniform [lo, hi]                lo + u·(hi − lo)
    int_uniform [lo, hi]            lo + ⌊u·(hi − lo + 1)⌋   (both bounds included)
    choice [c0, …, c(k−1)]          c⌊u·k⌋

each clipped to [lo, hi] against rounding. Trial t trains with seed (10 000·spec.seed + t) mod 2³²
(unless `seed` is itself a dimension); data.seed stays the base's, so every trial sees the same
data and the same train/dev split. Rounds: round 0 is trials 0 … T−1; with `refine`, round r + 1
(trials (r+1)·T … (r+2)·T − 1) samples the space narrowed to the best keep_top fraction of round
r (`refine_space`).
"""
from __future__ import annotations

import functools
import json
import math
import re
import threading
import time
import zlib
from concurrent.futures import FIRST_COMPLETED, CancelledError, Executor, wait
from typing import Any, Callable, Literal, Optional

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.config import format_errors, load_config

MAX_TRIALS = 1000          # trials per round
MAX_ROUNDS = 5             # refine rounds after the first
SEED_STRIDE = 10_000       # trial seed = (SEED_STRIDE·spec.seed + trial) mod 2³²; > MAX_TRIALS·(MAX_ROUNDS + 1)
POLL_SECONDS = 0.1         # how often run_sweep looks at `cancel` while trials run
METRICS = ("dev.accuracy", "dev.cost", "train.accuracy", "train.cost")
KINDS = ("log_uniform", "one_minus_log_uniform", "uniform", "int_uniform", "choice")
CONTINUOUS = ("log_uniform", "one_minus_log_uniform", "uniform")
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|[0-9]+))*$")


class SweepError(ValueError):
    """An invalid sweep: `lines` has one problem per line, each starting with the dotted field."""

    def __init__(self, lines: list[str]):
        self.lines = list(lines)
        super().__init__("\n".join(self.lines))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Distribution(_Strict):
    """Exactly one of the keys, e.g. {"log_uniform": [1e-4, 1]} (formulas in the module docstring)."""

    log_uniform: Optional[tuple[float, float]] = None
    one_minus_log_uniform: Optional[tuple[float, float]] = None
    uniform: Optional[tuple[float, float]] = None
    int_uniform: Optional[tuple[int, int]] = None
    choice: Optional[list[Any]] = None

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) is not None)

    @property
    def args(self) -> Any:
        """[lo, hi], or the choices."""
        return list(getattr(self, self.kind))

    def to_json(self) -> dict:
        return {self.kind: self.args}

    @model_validator(mode="after")
    def _one_valid_kind(self) -> "Distribution":
        given = [k for k in KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of " + ", ".join(KINDS))
        kind = given[0]
        if kind == "choice":
            if not self.choice:
                raise ValueError("choice needs at least one value")
            return self
        lo, hi = getattr(self, kind)
        if kind == "log_uniform" and not 0 < lo < hi:
            raise ValueError("log_uniform needs 0 < lo < hi")
        if kind == "one_minus_log_uniform" and not 0 < lo < hi < 1:
            raise ValueError("one_minus_log_uniform needs 0 < lo < hi < 1")
        if kind in ("uniform", "int_uniform") and not lo < hi:
            raise ValueError(f"{kind} needs lo < hi")
        return self


class Refine(_Strict):
    rounds: int = Field(0, ge=0, le=MAX_ROUNDS, description="rounds of `trials` more trials, each in a narrowed space")
    keep_top: float = Field(0.25, gt=0.0, le=1.0, description="fraction of a round's ranked trials that spans the next space")


class SweepSpec(_Strict):
    base: dict = Field(default_factory=dict, description="a training config, as for `train`")
    trials: int = Field(..., ge=1, le=MAX_TRIALS, description="trials per round")
    seed: int = Field(0, ge=0, le=2**32 - 1)
    metric: Literal[METRICS] = "dev.accuracy"  # type: ignore[valid-type]
    space: dict[str, Distribution] = Field(default_factory=dict)
    refine: Optional[Refine] = None

    @property
    def rounds(self) -> int:
        return 1 + (self.refine.rounds if self.refine else 0)

    @property
    def total(self) -> int:
        return self.trials * self.rounds


# ---------------------------------------------------------------------------- config paths

def _parts(path: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in path.split(".")]


def _get(config: dict, path: str) -> Any:
    """The value at a dotted path; KeyError naming the first part that is missing."""
    node: Any = config
    done: list[str] = []
    for part in _parts(path):
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
        elif isinstance(part, str) and isinstance(node, dict) and part in node:
            node = node[part]
        else:
            where = ".".join(done) or "the config"
            if node is None:
                raise KeyError(f"{where} is null in the base config: give it a value in base to sample {path}")
            if isinstance(node, list):
                raise KeyError(f"{where} has {len(node)} items in the base config (no index {part})")
            raise KeyError(f"no key {part!r} in {where}")
        done.append(str(part))
    return node


def _set(config: dict, filled: dict, path: str, value: Any) -> None:
    """config[path] = value; a section or list the config leaves to its defaults is first copied
    from `filled` (the same config with defaults filled in), the rest stays as the config gives it."""
    *head, last = _parts(path)
    node, shadow = config, filled
    for part in head:
        if isinstance(node, dict) and part not in node:
            node[part] = {} if isinstance(shadow[part], dict) else _copy(shadow[part])
        node = node[part]
        try:
            shadow = shadow[part]
        except (KeyError, IndexError, TypeError):  # a part a parent dimension added
            shadow = node
    node[last] = value


def apply_params(config: dict, params: dict[str, Any], filled: Optional[dict] = None) -> dict:
    """config with params set, parents before children (network.hidden before network.hidden.0);
    `filled`: see _set (None: config has every default already)."""
    filled = config if filled is None else filled
    for path in sorted(params, key=lambda p: p.count(".")):
        _set(config, filled, path, _copy(params[path]))
    return config


def _copy(value: Any) -> Any:
    return [_copy(v) for v in value] if isinstance(value, list) else (
        {k: _copy(v) for k, v in value.items()} if isinstance(value, dict) else value)


# ---------------------------------------------------------------------------- sampling

def unit(seed: int, rnd: int, trial: int, path: str) -> float:
    """u ∈ [0, 1): 53 bits of SeedSequence([seed, rnd, trial, crc32(path)])."""
    a, b = np.random.SeedSequence([seed, rnd, trial, zlib.crc32(path.encode())]).generate_state(2)
    return ((int(a) << 21) | (int(b) >> 11)) / 2.0**53


def draw(dist: Distribution, u: float) -> Any:
    """The value of `dist` at u ∈ [0, 1) (formulas in the module docstring)."""
    kind, args = dist.kind, dist.args
    if kind == "choice":
        return _copy(args[min(int(u * len(args)), len(args) - 1)])
    lo, hi = args
    if kind == "int_uniform":
        return int(min(lo + math.floor(u * (hi - lo + 1)), hi))
    if kind == "log_uniform":
        value = 10.0 ** (math.log10(lo) + u * (math.log10(hi) - math.log10(lo)))
    elif kind == "one_minus_log_uniform":
        r_lo, r_hi = math.log10(1.0 - hi), math.log10(1.0 - lo)
        value = 1.0 - 10.0 ** (r_lo + u * (r_hi - r_lo))
    else:
        value = lo + u * (hi - lo)
    return float(min(max(value, lo), hi))


def sample(space: dict[str, Distribution], seed: int, rnd: int, trial: int) -> dict[str, Any]:
    """{path: value} of trial `trial` in round `rnd`."""
    return {path: draw(dist, unit(seed, rnd, trial, path)) for path, dist in space.items()}


def trial_seed(spec: SweepSpec, trial: int) -> int:
    """(SEED_STRIDE·spec.seed + trial) mod 2³², the `seed` (initialization, shuffling, dropout) of a trial."""
    return (SEED_STRIDE * spec.seed + trial) % 2**32


def _with(base: dict, params: dict[str, Any]) -> dict:
    """A copy of the base as given with params set (a default it leaves out is filled in where a
    path goes through it: network.hidden.0 of a base without network copies the default hidden)."""
    return apply_params(_copy(base), params, load_config(base).model_dump(mode="json"))


def trial_config(spec: SweepSpec, params: dict[str, Any], trial: int) -> dict:
    """The training config of a trial: the base as given with seed = trial_seed, then params set
    at their dotted paths (a list index as a number: network.hidden.0), validated (its other keys
    keep their defaults). It is what `python -m engine train` takes to train the same network."""
    config = _with({**spec.base, "seed": trial_seed(spec, trial)}, params)
    load_config(config)
    return config


# ---------------------------------------------------------------------------- parsing

def _check_space(spec: SweepSpec, base: dict) -> list[str]:
    """Problems of the space against the base config: unknown paths, wrong value types, values the
    config refuses (each dimension's bounds and choices, the others at the base's values)."""
    problems = []
    parents = {p: d for p, d in spec.space.items() if d.kind == "choice"}
    for path, dist in spec.space.items():
        field = f"space.{path}"
        if not _PATH.match(path):
            problems.append(f"{field}: not a dotted config path (keys and list indexes joined by '.')")
            continue
        # a child of a choice dimension (network.hidden.0 under network.hidden) must exist in each choice
        contexts = [{}] + [{p: c} for p, d in parents.items() if path.startswith(p + ".") for c in d.args]
        try:
            values = [_get(apply_params(_copy(base), ctx), path) for ctx in contexts]
        except KeyError as e:
            problems.append(f"{field}: {e.args[0]}")
            continue
        current = values[0]
        if dist.kind != "choice":
            if current is None:
                problems.append(f"{field}: {path} is null in the base config: give it a number in base to sample it")
                continue
            if isinstance(current, bool) or not isinstance(current, (int, float)):
                problems.append(f"{field}: {path} is {type(current).__name__}, not a number: sample it with choice")
                continue
            if dist.kind in CONTINUOUS and isinstance(current, int):
                problems.append(f"{field}: {path} is an integer: sample it with int_uniform or choice")
                continue
        for value in dist.args:  # [lo, hi] (draw clips into it) or every choice
            try:
                load_config(_with(spec.base, {path: value}))
            except ValidationError as e:
                problems.append(f"{field}: the value {value!r} is refused: " + "; ".join(format_errors(e)))
                break
    return problems


def parse_sweep(obj: dict) -> SweepSpec:
    """A validated SweepSpec. Raises SweepError (a ValueError; one line per problem, each starting
    with the dotted field, e.g. 'space.optimizer.beta: one_minus_log_uniform needs 0 < lo < hi < 1')
    when the JSON is malformed, the base config is invalid, a space path is not in the base config
    (after its defaults), a distribution does not fit its key, or a sample would be refused."""
    if not isinstance(obj, dict):
        raise SweepError([f"sweep: expected a JSON object, got {type(obj).__name__}"])
    try:
        spec = SweepSpec.model_validate(obj)
    except ValidationError as e:
        raise SweepError(format_errors(e)) from None
    try:
        base = load_config(spec.base).model_dump(mode="json")
    except ValidationError as e:
        raise SweepError(format_errors(e, prefix="base")) from None
    problems = _check_space(spec, base)
    if not problems:
        try:
            trial_config(spec, sample(spec.space, spec.seed, 0, 0), 0)
        except ValidationError as e:
            problems = ["space: trial 0's sample is refused: " + "; ".join(format_errors(e))]
    if problems:
        raise SweepError(problems)
    return spec


# ---------------------------------------------------------------------------- trials

@functools.lru_cache(maxsize=2)
def load_csv_text(text: str):
    """engine.data.load_csv of the text (ValueError naming line and column), parsed once per
    process for all the trials it runs."""
    from engine.data import load_csv

    return load_csv(text)


def csv_config(config: dict, csv_text: Optional[str]) -> dict:
    """With a CSV, the config's data.name becomes 'csv': the file replaces the generated dataset,
    as `train --data` does."""
    if csv_text is not None and config.get("data", {}).get("name") != "csv":
        config = {**config, "data": {**config.get("data", {}), "name": "csv"}}
    return config


def run_trial(config: dict, csv_text: Optional[str] = None) -> dict:
    """Train `config` exactly as `python -m engine train CONFIG [--data CSV]` does (Trainer.run to
    the end: done, stopped_early or diverged) and return {"status", "epochs_run", "train": {"cost",
    "accuracy"}, "dev": {...} or None for an empty dev set, "seconds"} (final parameters in test
    mode; a diverged run's are the last finite ones). Divergence is a status, never an exception;
    a config or data error raises ValueError. Top-level and picklable, for any executor."""
    from engine.trainer import Trainer

    start = time.perf_counter()
    trainer = Trainer(csv_config(config, csv_text), csv=None if csv_text is None else load_csv_text(csv_text))
    snap = trainer.run()

    def pick(m):
        return None if m is None else {"cost": m.to_dict()["cost"], "accuracy": m.to_dict()["accuracy"]}
    return {"status": trainer.status, "epochs_run": trainer.epoch, "train": pick(snap.train),
            "dev": pick(snap.dev), "seconds": round(time.perf_counter() - start, 4)}


def metric_value(entry: dict, metric: str) -> Optional[float]:
    """The metric of a finished trial ('dev.accuracy' → entry['dev']['accuracy']), None if absent."""
    name, key = metric.split(".")
    return (entry.get(name) or {}).get(key)


def rank_key(entry: dict, metric: str) -> Optional[tuple]:
    """Sort key, best first: accuracy maximized (equal accuracies: the lower cost of the same set
    first), cost minimized; then the lower trial number. None for a diverged trial or one without
    the metric: they are never the best."""
    value = metric_value(entry, metric)
    if entry["status"] == "diverged" or value is None:
        return None
    if metric.endswith("accuracy"):
        cost = metric_value(entry, metric.replace("accuracy", "cost"))
        return (-value, math.inf if cost is None else cost, entry["trial"])
    return (value, 0.0, entry["trial"])


def ranked(entries: list[dict], metric: str) -> list[dict]:
    return sorted((e for e in entries if rank_key(e, metric) is not None), key=lambda e: rank_key(e, metric))


def refine_space(space: dict[str, Distribution], entries: list[dict], metric: str,
                 keep_top: float) -> dict[str, Distribution]:
    """Coarse to fine: the space of the next round, from the best k = max(1, ⌈keep_top·n⌉) of the n
    ranked (non-diverged) trials of `entries`. A numeric dimension becomes [min, max] of the best
    ones' values, on the same scale (for log_uniform this is the span of their log10, for β the
    span of log10(1 − β): a monotone map keeps the extremes); a choice keeps the choices seen among
    the best, in their order. With no ranked trial the space is unchanged."""
    best = ranked(entries, metric)
    best = best[:max(1, math.ceil(keep_top * len(best)))] if best else []
    if not best:
        return dict(space)
    narrowed = {}
    for path, dist in space.items():
        values = [e["params"][path] for e in best]
        if dist.kind == "choice":
            new = [c for c in dist.args if c in values]
        else:
            new = [min(values), max(values)]
        narrowed[path] = Distribution.model_construct(**{dist.kind: new})
    return narrowed


# ---------------------------------------------------------------------------- the run loop

def check_sweep(spec: SweepSpec, csv_text: Optional[str] = None) -> None:
    """What can only be checked with the data (before any trial runs), raising SweepError: the CSV
    (its line and column), a config the data refuses, and the metric: a dev.* metric needs a
    non-empty dev set (no silent fallback to train.*: the course picks hyperparameters on dev),
    *.accuracy needs classification data."""
    from engine.trainer import Trainer

    config = csv_config(trial_config(spec, sample(spec.space, spec.seed, 0, 0), 0), csv_text)
    try:
        trainer = Trainer({**config, "epochs": 0}, csv=None if csv_text is None else load_csv_text(csv_text))
    except ValueError as e:
        raise SweepError([str(e)]) from None
    name, key = spec.metric.split(".")
    if trainer.sets[name][1].shape[1] == 0:  # Y is (n_y, m) for every kind of data
        raise SweepError([f"metric: {spec.metric} needs a dev set, but the base config's dev set is empty "
                          "(data.split[1] = 0, or no 'dev' row in the CSV's split column): give data.split "
                          "a dev share or use train.*"])
    if key == "accuracy" and trainer.output == "linear":
        raise SweepError([f"metric: {spec.metric}: regression has no accuracy; use {name}.cost"])


def run_sweep(spec: SweepSpec, executor: Executor, *, csv_text: Optional[str] = None,
              on_trial: Optional[Callable[[dict, dict], None]] = None,
              cancel: Optional[threading.Event] = None) -> dict:
    """Run every trial of `spec` on `executor` (run_trial on trial_config) and return
    {"status": "done" | "cancelled", "metric", "trials": [{"trial", "round", "params", "status",
    "epochs_run", "train", "dev", "seconds"}] (by trial number), "best": the best entry (rank_key)
    or None, "rounds": [{"round", "space"}] (each round's space, narrowed by refine_space)}.

    on_trial(entry, {"done", "total", "best", "round"}) is called in this thread after each
    finished trial. cancel.set() (or the executor cancelling the futures) stops the sweep within
    POLL_SECONDS: pending trials are cancelled, running ones are not waited for, finished ones
    are kept, status "cancelled". check_sweep's SweepError comes before any trial runs; a trial's
    ValueError (a config its data refuses, e.g. a sampled output that does not fit a CSV's labels)
    becomes SweepError("trial N {params}: …"); that or any other error of a trial cancels the
    pending ones and propagates."""
    check_sweep(spec, csv_text)
    space = dict(spec.space)
    entries: list[dict] = []
    rounds: list[dict] = []
    best: Optional[dict] = None
    status = "done"
    for rnd in range(spec.rounds):
        rounds.append({"round": rnd, "space": {p: d.to_json() for p, d in space.items()}})
        futures: dict = {}
        pending: set = set()
        finished: list[dict] = []
        try:
            for trial in range(rnd * spec.trials, (rnd + 1) * spec.trials):
                if cancel is not None and cancel.is_set():
                    status = "cancelled"
                    break
                params = sample(space, spec.seed, rnd, trial)
                future = executor.submit(run_trial, trial_config(spec, params, trial), csv_text)
                futures[future] = (trial, params)
                pending.add(future)
            while pending and status == "done":
                if cancel is not None and cancel.is_set():
                    status = "cancelled"
                    break
                done, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: futures[f][0]):
                    try:
                        outcome = future.result()
                    except Exception as e:  # cancelled, or its worker ended by a cancel (Ctrl-C)
                        if isinstance(e, CancelledError) or (cancel is not None and cancel.is_set()):
                            status = "cancelled"
                            continue
                        if isinstance(e, ValueError):  # the data refuses this corner of the space
                            trial, params = futures[future]
                            raise SweepError([f"trial {trial} {json.dumps(params)}: {e}"]) from e
                        raise
                    trial, params = futures[future]
                    entry = {"trial": trial, "round": rnd, "params": params, **outcome}
                    finished.append(entry)
                    key = rank_key(entry, spec.metric)
                    if key is not None and (best is None or key < rank_key(best, spec.metric)):
                        best = entry
                    if on_trial is not None:
                        on_trial(entry, {"done": len(entries) + len(finished), "total": spec.total,
                                         "best": best, "round": rnd})
        finally:
            for future in pending:
                future.cancel()
        entries.extend(finished)
        if status != "done":
            break
        if rnd + 1 < spec.rounds:
            space = refine_space(space, finished, spec.metric, spec.refine.keep_top)
    entries.sort(key=lambda e: e["trial"])
    return {"status": status, "metric": spec.metric, "trials": entries, "best": best, "rounds": rounds}


def dumps(result: dict) -> str:
    """The results as JSON text: one top-level key per line and one trial per line (strict JSON)."""
    def line(value):
        return json.dumps(value, allow_nan=False)
    items = []
    for key, value in result.items():
        if key == "trials":
            rows = ",\n  ".join(line(entry) for entry in value)
            items.append(f' "trials": [\n  {rows}\n ]' if value else ' "trials": []')
        else:
            items.append(f" {line(key)}: {line(value)}")
    return "{\n" + ",\n".join(items) + "\n}\n"
