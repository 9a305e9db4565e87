"""BatchedTrainer vs separate Trainers: frames/s and iterations/s per run, printed; never
pass/fail on timing (exit 0). Runs in about a minute.

A "frame" is what the server computes for one student's page: ITERATIONS training iterations,
one Snapshot (full-set costs and accuracies, norms, diagnosis) and one boundary grid
(RESOLUTION² points) with the neuron thumbnails (NEURON² points), in float32 as sessions draw it.

    separate   for each of S Trainers: t.step(ITERATIONS, report=False); t.snapshot();
               t.grids(RESOLUTION, NEURON, dtype="float32")
    batched    bt.step(ITERATIONS); bt.snapshots(); bt.grids(RESOLUTION, NEURON, dtype="float32")

The S runs are one lesson's config (moons, 2-8-4-1 ReLU, mini-batches of 64 of 320 training
points, Adam) with a different seed, data seed and learning rate each. Per-run rates: frames/s
each student gets = frames done / elapsed (every run advances one frame per round); the ratio is
batched / separate. Best of ROUNDS interleaved measurements (the machine's speed drifts). A last
line shows the 100-run batch without the per-run bias/variance diagnosis (plain Python per run).

Usage: python bench/batched_bench.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.blas import short_thread_spin  # noqa: E402

short_thread_spin()  # before NumPy loads OpenBLAS (engine/blas.py)


from engine.batched import BatchedTrainer  # noqa: E402
from engine.trainer import Trainer  # noqa: E402

ITERATIONS, RESOLUTION, NEURON = 5, 40, 20
SIZES = (1, 10, 100)
ROUNDS = 3


def config(i: int) -> dict:
    return {"data": {"name": "moons", "n": 400, "noise": 0.2, "seed": i},
            "network": {"hidden": [8, 4]}, "batch_size": 64, "epochs": 1_000_000, "seed": i + 1,
            "optimizer": {"name": "adam", "learning_rate": 0.005 * (1 + i % 4)}}


def separate(S: int):
    trainers = [Trainer(config(i)) for i in range(S)]

    def frames(count: int) -> None:
        for _ in range(count):
            for t in trainers:
                t.step(ITERATIONS, report=False)
                t.snapshot()
                t.grids(RESOLUTION, NEURON, dtype="float32")
    return frames


def batched(S: int, diagnosis: bool = True):
    bt = BatchedTrainer()
    for i in range(S):
        bt.add(config(i))

    def frames(count: int) -> None:
        for _ in range(count):
            bt.step(ITERATIONS)
            bt.snapshots(diagnosis=diagnosis)
            bt.grids(RESOLUTION, NEURON, dtype="float32")
    return frames


def rate(fn, count: int) -> float:
    """Frames per second per run of fn(count) (each call advances every run `count` frames)."""
    start = time.perf_counter()
    fn(count)
    return count / (time.perf_counter() - start)


def main() -> None:
    print(f"frame = {ITERATIONS} iterations + snapshot + {RESOLUTION}x{RESOLUTION} grid "
          f"(+ {NEURON}x{NEURON} neuron thumbnails), float32 grids; per-run rates, best of {ROUNDS}")
    print(f"{'S':>4} | {'separate fps':>12} {'it/s':>8} | {'batched fps':>11} {'it/s':>8} | {'ratio':>6}")
    for S in SIZES:
        jobs = {"separate": separate(S), "batched": batched(S)}
        count = max(3, 400 // S)
        for fn in jobs.values():
            fn(1)  # warm-up: caches of grid points, first allocations
        best = {name: 0.0 for name in jobs}
        for _ in range(ROUNDS):
            for name, fn in jobs.items():
                best[name] = max(best[name], rate(fn, count))
        sep, bat = best["separate"], best["batched"]
        print(f"{S:>4} | {sep:>12.1f} {sep * ITERATIONS:>8.0f} | {bat:>11.1f} {bat * ITERATIONS:>8.0f} "
              f"| {bat / sep:>5.1f}x")
        if S == max(SIZES):
            lean = batched(S, diagnosis=False)
            lean(1)
            fps = max(rate(lean, count) for _ in range(ROUNDS))
            print(f"{S:>4} | batched with snapshots(diagnosis=False): {fps:.1f} fps per run, "
                  f"{fps / sep:.1f}x separate")


if __name__ == "__main__":
    main()
