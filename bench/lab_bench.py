"""Optimizer-lab replay figures, printed; never pass/fail on timing (exit 0). Runs in a few seconds.

A `set` with `"replay": true` (docs/lab.md) recomputes one racer's whole path from the start
point with new hyperparameters (LabSession.replay). This prints, for paths of 500 steps, the time
of one replay and its cost per step, on the quadratic (each optimizer), the logistic surface and
a mini-batch logistic surface (path + full-batch twin), and how many replays a second that allows
(a dragged slider sends ~30 `set`s a second; the ones arriving during a replay are coalesced).
Best of 5 rounds (the machine is shared: the best round is the one least disturbed).

Usage: python bench/lab_bench.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.lab_protocol import Configure  # noqa: E402
from server.lab_session import LabSession  # noqa: E402

STEPS = 500
CASES = [
    ("quadratic κ=50", {"name": "quadratic", "condition": 50, "rotation": 30}, "gd", 0.001),
    ("quadratic κ=50", {"name": "quadratic", "condition": 50, "rotation": 30}, "momentum", 0.001),
    ("quadratic κ=50", {"name": "quadratic", "condition": 50, "rotation": 30}, "nesterov", 0.001),
    ("quadratic κ=50", {"name": "quadratic", "condition": 50, "rotation": 30}, "rmsprop", 0.001),
    ("quadratic κ=50", {"name": "quadratic", "condition": 50, "rotation": 30}, "adam", 0.001),
    ("logistic raw", {"name": "logistic"}, "gd", 0.01),
    ("logistic batch 16 + twin", {"name": "logistic", "normalized": True, "batch_size": 16}, "adam", 0.001),
]


def replay_seconds(surface: dict, name: str, lr: float, rounds: int = 5) -> float:
    msg = Configure.model_validate({"type": "configure", "surface": surface, "tolerance": 1e-12,
                                    "optimizers": [{"id": "a", "name": name, "learning_rate": lr}]})
    session = LabSession(msg)
    session.advance(STEPS)
    assert session.racers[0].main.steps == STEPS, "the path must not stop early"
    best = float("inf")
    for k in range(rounds):
        started = time.perf_counter()
        session.replay("a", {"learning_rate": lr * (1.01 + 0.01 * k)})
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    print(f"replay of a {STEPS}-step path (LabSession.replay), best of 5:")
    print(f"{'surface':26s} {'optimizer':9s} {'ms/replay':>10s} {'µs/step':>8s} {'replays/s':>10s}")
    for label, surface, name, lr in CASES:
        seconds = replay_seconds(surface, name, lr)
        print(f"{label:26s} {name:9s} {seconds * 1e3:10.2f} {seconds / STEPS * 1e6:8.1f} {1 / seconds:10.0f}")


if __name__ == "__main__":
    main()
