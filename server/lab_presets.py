"""The optimizer lab's presets (docs/lab.md "Presets"): settings where each lesson shows.

`PRESETS` lists them in menu order; each has an `id`, a `title`, a `lesson` (what that preset
shows, measured: tests/server/test_lab_claims.py asserts every number of it headless over several
jittered starts) and a `state` in the browser's lab-state keys (static/js/lab/state.js
`defaults()`: surface, condition, rotation, normalized, batch, start, tol, speed, optimizers
[{id, name, learning_rate, beta, beta1, beta2, epsilon, bias_correction}]); keys a preset omits
keep the browser's defaults. "default" is the lab without a URL hash.

`configure_message(state, **extra)` builds the `configure` websocket message of a state exactly
as state.js `configureMessage` does (tests/server/test_lab_claims.py compares both in node), for
headless runs; `presets_payload()` is the JSON of `GET /api/lab/presets`.

Why these numbers (κ = 50, so GD's stability bound on the elongated bowl is 2/κ = 0.04):
gradient descent multiplies the across-valley offset by 1 − ακ each step, so it zig-zags (the
factor is negative) and the zig-zag lasts only when α is close to 2/κ: α = 0.0395 gives −0.975.
The course's momentum (VdW = β VdW + (1−β) dW, W −= α VdW) shrinks that offset by about √β ≈ 0.95
per step whatever α, without flipping it every step; so momentum damps GD's zig-zag exactly
when GD's factor is beyond −0.95, i.e. α above ≈ 1.95/κ.
"""
from __future__ import annotations

import copy
from typing import Any, Optional

from engine.config import OptimizerConfig
from engine.surfaces import LOGISTIC_M  # a batch of m is the full batch (as state.js configureMessage)

# static/js/lab/state.js defaults(), the race part (the optimizers are each preset's own).
BROWSER_DEFAULTS: dict[str, Any] = {
    "surface": "quadratic", "condition": 50, "rotation": 30, "normalized": False, "batch": 0,
    "start": None, "tol": 1e-4, "speed": 2,
}

# the hyperparameters' defaults (OptimizerConfig's, as state.js newOptimizer takes them from the schema)
_HYPER = {key: field.default for key, field in OptimizerConfig.model_fields.items() if key not in ("name", "learning_rate")}


def _optimizers(*racers: tuple[str, float]) -> list[dict]:
    """[{id: o1.., name, learning_rate, beta, beta1, beta2, epsilon, bias_correction}] as state.js
    newOptimizer makes them (ids o1, o2, ... in order)."""
    return [{"id": f"o{i}", "name": name, "learning_rate": lr, **_HYPER}
            for i, (name, lr) in enumerate(racers, start=1)]


# GD just below 2/κ = 0.04 zig-zags; momentum at the same α damps it (module docstring).
ZIGZAG_LR = 0.0395
# The default bowl turned to the axes (rotation 0): w₂ is the steep, across-valley direction.
AXIS_BOWL: dict[str, Any] = {"surface": "quadratic", "condition": 50, "rotation": 0, "start": None, "tol": 1e-4}

PRESETS: list[dict] = [
    {
        "id": "default",
        "title": "The race",
        "lesson": ("On this bowl (κ = 50, GD's limit 2/κ = 0.04) GD at α = 0.0395 zig-zags across the "
                   "valley and needs about 270 steps; momentum at the same α swings less and arrives "
                   "in about 65, RMSprop and Adam in about 120."),
        "state": {**BROWSER_DEFAULTS,
                  "optimizers": _optimizers(("gd", ZIGZAG_LR), ("momentum", ZIGZAG_LR),
                                            ("rmsprop", 0.05), ("adam", 0.3))},
    },
    {
        "id": "gd-zigzag",
        "title": "GD zig-zags",
        "lesson": ("At α = 0.0395, just below 2/κ = 0.04, GD's w₂ step changes sign every step: it "
                   "zig-zags across the valley, still ±0.7 wide at steps 10–30. At α = 0.01 it does "
                   "not zig-zag, but it crawls: about 480 steps instead of 240."),
        "state": {**AXIS_BOWL, "optimizers": _optimizers(("gd", ZIGZAG_LR), ("gd", 0.01))},
    },
    {
        "id": "momentum",
        "title": "Momentum damps the zig-zag",
        "lesson": ("Same α = 0.0395 for all: momentum (β = 0.9) averages away GD's back-and-forth, so "
                   "its swing across the valley in steps 10–30 is about 0.45 against GD's 0.7, and it "
                   "reaches the tolerance in about 65 steps against GD's 240. Nesterov momentum brakes "
                   "earlier: its swing is below 0.2, in about 70 steps."),
        "state": {**AXIS_BOWL, "optimizers": _optimizers(("gd", ZIGZAG_LR), ("momentum", ZIGZAG_LR),
                                                         ("nesterov", ZIGZAG_LR))},
    },
    {
        "id": "rmsprop",
        "title": "RMSprop: per-direction steps",
        "lesson": ("At the start w₂'s gradient is 25× w₁'s, yet RMSprop's first five steps move w₁ and "
                   "w₂ by about the same amount: it divides each direction by its own √SdW. It reaches "
                   "the tolerance in about 50 steps, GD in about 240."),
        "state": {**AXIS_BOWL, "optimizers": _optimizers(("gd", ZIGZAG_LR), ("rmsprop", 0.01))},
    },
    {
        "id": "adam",
        "title": "Adam on a curved valley",
        "lesson": ("On Rosenbrock's curved valley Adam (α = 0.3) reaches the tolerance first, in about "
                   "510 steps. GD and momentum at α = 0.0019 (just under GD's limit 2/λmax ≈ 0.002 at "
                   "the minimum) and RMSprop at α = 0.005 each need over 4000."),
        "state": {"surface": "rosenbrock", "start": None, "tol": 1e-4, "speed": 20,
                  "optimizers": _optimizers(("gd", 0.0019), ("momentum", 0.0019), ("rmsprop", 0.005),
                                            ("adam", 0.3))},
    },
    {
        "id": "too-large-alpha",
        "title": "Too large α diverges",
        "lesson": ("GD's limit on this bowl is 2/κ = 0.04. At α = 0.042 each zig-zag is wider than the "
                   "last and the path diverges within about 60 steps; at α = 0.038 it converges."),
        "state": {"surface": "quadratic", "condition": 50, "rotation": 30, "start": None, "tol": 1e-4,
                  "optimizers": _optimizers(("gd", 0.042), ("gd", 0.038))},
    },
    {
        "id": "normalize",
        "title": "Normalize inputs",
        "lesson": ("Raw inputs (x₁ in 0..3, x₂ in 0..1) make the cost an elongated bowl (condition ≈ 30) "
                   "and GD at α = 2.5 needs about 50 steps. Tick 'normalized': the bowl is nearly round "
                   "(≈ 1.3) and the same α needs about 5."),
        "state": {"surface": "logistic", "normalized": False, "batch": 0, "start": None, "tol": 1e-4,
                  "optimizers": _optimizers(("gd", 2.5))},
    },
]

DEFAULT_PRESET = "default"


def preset(preset_id: str) -> dict:
    """A deep copy of the preset with this id (KeyError otherwise)."""
    for p in PRESETS:
        if p["id"] == preset_id:
            return copy.deepcopy(p)
    raise KeyError(preset_id)


def presets_payload() -> dict:
    """GET /api/lab/presets: {"default": id, "presets": [{id, title, lesson, state}, ...]}."""
    return {"default": DEFAULT_PRESET, "presets": copy.deepcopy(PRESETS)}


def full_state(state: dict) -> dict:
    """The state with the browser's defaults for the race keys it omits."""
    return {**BROWSER_DEFAULTS, **state}


def configure_message(state: dict, **extra) -> dict:
    """The `configure` message of a lab state, as static/js/lab/state.js configureMessage builds
    it; `extra` adds or replaces top-level fields (seed, max_steps, start, ...)."""
    s = full_state(state)
    batch = s["batch"]
    start: Optional[list] = list(s["start"]) if s["start"] is not None else None
    message = {
        "type": "configure",
        "surface": {
            "name": s["surface"], "condition": s["condition"], "rotation": s["rotation"],
            "normalized": s["normalized"], "batch_size": batch if 0 < batch < LOGISTIC_M else None,
        },
        "optimizers": [{key: o[key] for key in ("id", "name", "learning_rate", "beta", "beta1", "beta2",
                                                 "epsilon", "bias_correction")} for o in s["optimizers"]],
        "start": start,
        "tolerance": s["tol"],
        "resolution": 160 if s["surface"] == "rosenbrock" else 100,
    }
    message.update(extra)
    return message
