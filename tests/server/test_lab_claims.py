"""Every lab preset's lesson claims only what its own preset shows (server/lab_presets.py).

Each test runs a preset headless — LabSession from `configure_message(preset state)`, the message
the browser sends — from the shipped start point and from two slightly jittered ones (the surfaces
without mini-batches have no other randomness), and asserts in numbers what the lesson text says.
"About N" in a lesson means within ±20 % here; the ranges are not copied from a run of this code
but from the lesson's words (and the course's formulas: GD multiplies the across-valley offset by
1 − ακ each step).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from engine.surfaces import make_surface
from server.lab_presets import BROWSER_DEFAULTS, PRESETS, configure_message, preset, presets_payload
from server.lab_protocol import Configure
from server.lab_race import dumps
from server.lab_session import LabSession

ROOT = Path(__file__).resolve().parents[2]
SEEDS = [0, 1, 2]  # 0: the shipped start; 1, 2: jittered
JITTER = {"quadratic": 0.03, "rosenbrock": 0.02, "logistic": 0.05}


def about(value, claimed, rel=0.2):
    return (1 - rel) * claimed <= value <= (1 + rel) * claimed


def race(preset_id: str, seed: int, steps: int, **changes) -> LabSession:
    """The preset's race after `steps` updates (fewer when every path has finished)."""
    state = {**preset(preset_id)["state"], **changes}
    surface_name = state.get("surface", BROWSER_DEFAULTS["surface"])
    start = None
    if seed:
        cfg = configure_message(state)["surface"]
        x, y = make_surface(cfg).start
        dx, dy = np.random.default_rng(seed).uniform(-1, 1, 2) * JITTER[surface_name]
        start = [x + dx, y + dy]
    msg = Configure.model_validate(configure_message(state, start=start, seed=seed, max_steps=5000))
    session = LabSession(msg)
    done = 0
    while done < steps and not session.finished:
        session.advance(min(500, steps - done))
        done += 500
    return session


def path(session: LabSession, k: int) -> np.ndarray:
    track = session.racers[k].main
    return track.points[:track.length]


def across(session: LabSession, k: int) -> np.ndarray:
    """The offset across the valley: the coordinate along the steep axis (curvature κ)."""
    steep = np.array(session.surface.axes()[0]["direction"])
    return path(session, k) @ steep


def swing(u: np.ndarray) -> float:
    """The issue's measure: the largest offset across the valley in steps 10–30."""
    return float(np.abs(u[10:31]).max())


def flip_share(u: np.ndarray, first=1, last=30) -> float:
    """Share of steps first..last whose across-valley move has the opposite sign of the one before."""
    d = np.diff(u)[first - 1:last]
    return float(np.mean(np.sign(d[1:]) != np.sign(d[:-1])))


def steps_to_tol(session: LabSession, k: int):
    return session.racers[k].main.runner.steps_to_tolerance


# ------------------------------------------------------------------ the contract's shape

def test_presets_payload_lists_the_lessons_in_order():
    payload = presets_payload()
    assert payload["default"] == "default"
    assert [p["id"] for p in payload["presets"]] == [
        "default", "gd-zigzag", "momentum", "rmsprop", "adam", "too-large-alpha", "normalize"]
    for p in payload["presets"]:
        assert set(p) == {"id", "title", "lesson", "state"} and p["title"] and p["lesson"]
        Configure.model_validate(configure_message(p["state"]))  # every state is a valid race
    default = payload["presets"][0]["state"]
    assert [o["name"] for o in default["optimizers"]] == ["gd", "momentum", "rmsprop", "adam"]
    json.dumps(payload, allow_nan=False)


def test_configure_message_matches_the_browsers_builder():
    """state.js presetState + configureMessage, run in node, give the same messages."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(ROOT / "static" / "js", Path(tmp) / "js")
        (Path(tmp) / "js" / "package.json").write_text('{"type": "module"}')
        script = Path(tmp) / "js" / "check.mjs"
        script.write_text(
            "import { presetState, configureMessage } from './lab/state.js';\n"
            "import { readFileSync } from 'node:fs';\n"
            "globalThis.location = { hash: '' };\n"
            "const presets = JSON.parse(readFileSync(process.argv[2], 'utf8'));\n"
            "const out = presets.map((p) => configureMessage(presetState(p.state)));\n"
            "console.log(JSON.stringify(out));\n")
        data = Path(tmp) / "presets.json"
        data.write_text(json.dumps(PRESETS))
        run = subprocess.run([node, str(script), str(data)], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        browser = json.loads(run.stdout)
    for p, theirs in zip(PRESETS, browser):
        assert configure_message(p["state"]) == theirs, p["id"]


# ------------------------------------------------------------------ the lessons in numbers

@pytest.mark.parametrize("seed", SEEDS)
def test_default_race_gd_zigzags_momentum_damps_it_adam_is_not_last(seed):
    s = race("default", seed, 400)
    gd, mom, rms, adam = range(4)
    assert s.surface.lr_limit() == pytest.approx(0.04)
    assert s.racers[gd].spec.learning_rate < 0.04 and s.racers[gd].spec.learning_rate > 0.95 * 0.04  # near 2/κ
    u_gd, u_mom = across(s, gd), across(s, mom)
    assert flip_share(u_gd) >= 0.95          # GD zig-zags: its across-valley move flips every step
    assert flip_share(u_mom) <= 0.3          # momentum does not
    assert swing(u_mom) < 0.75 * swing(u_gd)  # "swings less"
    n = {k: steps_to_tol(s, k) for k in (gd, mom, rms, adam)}
    assert None not in n.values()
    assert about(n[gd], 270) and about(n[mom], 65) and about(n[rms], 120) and about(n[adam], 120)
    assert n[adam] < n[gd] and n[rms] < n[gd]  # Adam is not the slowest racer


@pytest.mark.parametrize("seed", SEEDS)
def test_gd_zigzag_near_two_over_kappa(seed):
    s = race("gd-zigzag", seed, 700)
    fast, slow = 0, 1
    w2_fast, w2_slow = path(s, fast)[:, 1], path(s, slow)[:, 1]  # rotation 0: w2 is across the valley
    assert flip_share(w2_fast) == 1.0          # "changes sign every step"
    assert about(swing(w2_fast), 0.7, 0.15)    # "still ±0.7 wide at steps 10–30"
    assert flip_share(w2_slow) == 0.0          # α = 0.01 "does not zig-zag"
    assert about(steps_to_tol(s, slow), 480) and about(steps_to_tol(s, fast), 240)


@pytest.mark.parametrize("seed", SEEDS)
def test_momentum_damps_the_zigzag(seed):
    s = race("momentum", seed, 400)
    gd, mom, nes = 0, 1, 2
    assert {r.spec.learning_rate for r in s.racers} == {0.0395} and s.racers[mom].spec.beta == 0.9
    w2 = {k: path(s, k)[:, 1] for k in (gd, mom, nes)}
    assert about(swing(w2[mom]), 0.45) and about(swing(w2[gd]), 0.7, 0.15)
    assert swing(w2[mom]) < 0.75 * swing(w2[gd])
    assert about(steps_to_tol(s, mom), 65) and about(steps_to_tol(s, gd), 240)
    assert swing(w2[nes]) < 0.2 and about(steps_to_tol(s, nes), 70)


@pytest.mark.parametrize("seed", SEEDS)
def test_rmsprop_moves_each_direction_alike(seed):
    s = race("rmsprop", seed, 400)
    gd, rms = 0, 1
    w = path(s, rms)
    g = s.surface.grad(w[0])
    assert abs(g[1] / g[0]) >= 20                      # "w₂'s gradient is 25× w₁'s" (κ·w2/w1 = 50·0.9/1.8)
    moves = np.abs(np.diff(w[:6], axis=0))             # the first five steps
    ratio = moves[:, 0] / moves[:, 1]
    assert (0.5 <= ratio).all() and (ratio <= 2).all()  # "about the same amount"
    gd_moves = np.abs(np.diff(path(s, gd)[:2], axis=0))[0]
    assert gd_moves[0] / gd_moves[1] < 0.1              # GD's first step is mostly along w2
    assert about(steps_to_tol(s, rms), 50) and about(steps_to_tol(s, gd), 240)


@pytest.mark.parametrize("seed", SEEDS)
def test_adam_wins_on_rosenbrock(seed):
    s = race("adam", seed, 5000)
    gd, mom, rms, adam = range(4)
    limit = s.surface.lr_limit()
    assert 0.0019 < limit < 0.002  # "GD's limit 2/λmax ≈ 0.002"
    assert s.racers[gd].spec.learning_rate == s.racers[mom].spec.learning_rate == 0.0019 < limit
    n_adam = steps_to_tol(s, adam)
    assert n_adam is not None and about(n_adam, 510)
    for k in (gd, mom, rms):  # each needs over 4000 (or never gets there in 5000)
        n = steps_to_tol(s, k)
        assert n is None or n > 4000, (s.racers[k].spec.name, n)
    assert all(s.racers[k].main.status != "diverged" for k in range(4))


@pytest.mark.parametrize("seed", SEEDS)
def test_too_large_alpha_diverges_just_below_converges(seed):
    s = race("too-large-alpha", seed, 400)
    big, small = 0, 1
    limit = s.surface.lr_limit()
    assert limit == pytest.approx(0.04)
    assert s.racers[big].spec.learning_rate > limit > s.racers[small].spec.learning_rate
    events = []
    s2 = race("too-large-alpha", seed, 0)
    for _ in range(100):
        events += s2.advance(1)
        dumps({"paths": [s2.racer_info(r) for r in s2.racers]})  # allow_nan=False: raises on NaN/inf
    diverged = [e for e in events if e["type"] == "diverged"]
    assert [e["id"] for e in diverged] == [s.racers[big].spec.id]
    assert diverged[0]["step"] <= 72                     # "within about 60 steps"
    assert s.racers[big].main.status == "diverged"
    assert np.isfinite(path(s, big)).all()               # never a NaN on the wire
    u = across(s, big)
    assert flip_share(u) >= 0.95 and (np.abs(u[2::2]) > np.abs(u[:-2:2])).all()  # every zig-zag wider
    assert s.racers[small].main.status == "converged"


@pytest.mark.parametrize("seed", SEEDS)
def test_normalizing_makes_the_bowl_round_and_gd_fast(seed):
    raw = race("normalize", seed, 500)
    norm = race("normalize", seed, 500, normalized=True)
    assert raw.surface.equal_axes and norm.surface.equal_axes
    assert about(raw.surface.condition_number(), 30) and raw.surface.condition_number() >= 15
    assert about(norm.surface.condition_number(), 1.3) and norm.surface.condition_number() <= 2
    assert raw.racers[0].spec.learning_rate == norm.racers[0].spec.learning_rate == 2.5
    n_raw, n_norm = steps_to_tol(raw, 0), steps_to_tol(norm, 0)
    assert about(n_raw, 50) and n_norm is not None and n_norm <= 7   # "about 5"
    assert n_raw >= 5 * n_norm
    for s in (raw, norm):  # the plot's domain shows the whole path
        xmin, xmax, ymin, ymax = s.surface.domain
        p = path(s, 0)
        assert (p[:, 0] >= xmin).all() and (p[:, 0] <= xmax).all()
        assert (p[:, 1] >= ymin).all() and (p[:, 1] <= ymax).all()
