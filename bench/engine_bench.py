"""Engine speed figures, printed; never pass/fail on timing (exit 0). Runs in well under a minute.

1. Playground-size net 2-8-8-1 (tanh, 250 points, batch 10): steps/s through Trainer.step() with
   GD and with Adam, and the Adam step's cost relative to a bare NumPy forward + backward + GD
   step written inline below (same net, same batch size, same run). Goal ≤ 1.5×.
2. Large net 2-256-256-1 (ReLU, 10 000 points, full batch): achieved GFLOP/s of Trainer.step()
   (2·m·n·k per matmul of forward and backward) as a fraction of a plain A @ B of comparable
   size measured in the same run. Goal ≥ 60 %.
3. PyTorch (if importable) on the small net: our steps/s should be ≥ 6× PyTorch's.

Every rate is the best of 5 rounds, the jobs of a comparison interleaved round by round: the
machine's speed drifts (by a third within minutes on a shared VM), and both sides of a ratio
should see it alike.

Usage: python bench/engine_bench.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.blas import short_thread_spin  # noqa: E402

short_thread_spin()  # before NumPy loads OpenBLAS (engine/blas.py)

import numpy as np  # noqa: E402

from engine.config import load_config  # noqa: E402
from engine.trainer import Trainer  # noqa: E402

SMALL = {"hidden": [8, 8], "points": 250, "batch": 10}
LARGE = {"hidden": [256, 256], "points": 10_000}


def best_rates(jobs: dict, rounds: int = 3) -> dict:
    """name -> best rate (units/s) of fn(count) for jobs {name: (fn, count)}, measured in
    interleaved rounds so that load from other processes hits every job alike."""
    best = {name: float("inf") for name in jobs}
    for _ in range(rounds):
        for name, (fn, count) in jobs.items():
            start = time.perf_counter()
            fn(count)
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: jobs[name][1] / best[name] for name in jobs}


def small_trainer(optimizer: str) -> Trainer:
    return Trainer(load_config({
        "data": {"name": "circle", "n": SMALL["points"], "noise": 0.1, "split": [1.0, 0.0, 0.0]},
        "network": {"hidden": SMALL["hidden"], "activation": "tanh", "init": "xavier"},
        "optimizer": {"name": optimizer, "learning_rate": 0.01},
        "batch_size": SMALL["batch"], "epochs": 1_000_000,
    }))


def trainer_job(optimizer: str, steps: int = 20_000):
    t = small_trainer(optimizer)
    t.step(500)  # warm-up
    return t.step, steps


def bare_numpy_job(steps: int = 20_000):
    """Forward + backward + GD on contiguous mini-batch slices, written out by hand."""
    t = small_trainer("gd")
    X, Y = (np.ascontiguousarray(a) for a in t.sets["train"])
    rng = np.random.default_rng(0)
    dims = [2, *SMALL["hidden"], 1]
    W = [rng.standard_normal((dims[l], dims[l - 1])) * np.sqrt(1 / dims[l - 1]) for l in range(1, 4)]
    b = [np.zeros((dims[l], 1)) for l in range(1, 4)]
    m, bs, lr = X.shape[1], SMALL["batch"], 0.01
    starts = list(range(0, m, bs))

    def run(count: int) -> None:
        for i in range(count):
            a = starts[i % len(starts)]
            A0, Yb = X[:, a:a + bs], Y[:, a:a + bs]
            A1 = np.tanh(W[0] @ A0 + b[0])
            A2 = np.tanh(W[1] @ A1 + b[1])
            A3 = 1.0 / (1.0 + np.exp(-(W[2] @ A2 + b[2])))
            dZ3 = (A3 - Yb) / A0.shape[1]
            dW3, db3 = dZ3 @ A2.T, dZ3.sum(axis=1, keepdims=True)
            dZ2 = (W[2].T @ dZ3) * (1 - A2 * A2)
            dW2, db2 = dZ2 @ A1.T, dZ2.sum(axis=1, keepdims=True)
            dZ1 = (W[1].T @ dZ2) * (1 - A1 * A1)
            dW1, db1 = dZ1 @ A0.T, dZ1.sum(axis=1, keepdims=True)
            for p, g in ((W[0], dW1), (W[1], dW2), (W[2], dW3), (b[0], db1), (b[1], db2), (b[2], db3)):
                p -= lr * g

    run(500)
    return run, steps


def torch_job(steps: int = 3_000):
    import torch

    torch.set_num_threads(1)
    t = small_trainer("adam")
    X, Y = (torch.tensor(np.asarray(a).T.copy()) for a in t.sets["train"])
    model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8),
                                torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn, bs = torch.nn.BCEWithLogitsLoss(), SMALL["batch"]

    def run(count: int) -> None:
        for i in range(count):
            a = (i * bs) % X.shape[0]
            opt.zero_grad()
            loss_fn(model(X[a:a + bs]), Y[a:a + bs]).backward()
            opt.step()

    run(200)
    return run, steps


def matmul_flops(dims: list[int], m: int) -> int:
    """2·m·n·k per matmul: forward Z[l] = W[l] A[l-1]; backward dW[l] = dZ[l] A[l-1]ᵀ and
    dA[l-1] = W[l]ᵀ dZ[l] (not for l = 1)."""
    layers = list(zip(dims[1:], dims[:-1]))
    forward = sum(2 * m * n * k for n, k in layers)
    backward = forward + sum(2 * m * n * k for n, k in layers[1:])
    return forward + backward


def large_net_figures(iterations: int = 16) -> tuple[float, float]:
    t = Trainer(load_config({
        "data": {"name": "circle", "n": LARGE["points"], "noise": 0.1, "split": [1.0, 0.0, 0.0]},
        "network": {"hidden": LARGE["hidden"], "activation": "relu"},
        "optimizer": {"name": "adam", "learning_rate": 0.001},
        "batch_size": LARGE["points"], "epochs": 1_000_000,
    }))
    t.step(2)
    n = LARGE["hidden"][0]
    A, B = np.random.default_rng(0).standard_normal((n, n)), np.random.default_rng(1).standard_normal((n, t.m))
    out = np.empty((n, t.m))
    rates = best_rates({"trainer": (lambda c: t.step(c, report=False), iterations),  # training only
                        "matmul": (lambda c: [np.matmul(A, B, out=out) for _ in range(c)], 30)}, rounds=5)
    return rates["trainer"] * matmul_flops(t.layer_dims, t.m) / 1e9, rates["matmul"] * 2 * n * n * t.m / 1e9


def main() -> int:
    print(f"small net 2-{'-'.join(map(str, SMALL['hidden']))}-1 tanh, {SMALL['points']} points, batch {SMALL['batch']}")
    jobs = {"gd": trainer_job("gd"), "adam": trainer_job("adam"), "bare": bare_numpy_job()}
    try:
        jobs["torch"] = torch_job()
    except ImportError:
        pass
    rates = best_rates(jobs, rounds=5)
    gd, adam, bare, torch_rate = rates["gd"], rates["adam"], rates["bare"], rates.get("torch")
    ratio = bare / adam
    print(f"  Trainer.step, GD:          {gd:10,.0f} steps/s")
    print(f"  Trainer.step, Adam:        {adam:10,.0f} steps/s")
    print(f"  bare NumPy fwd+bwd+GD:     {bare:10,.0f} steps/s")
    print(f"  Adam step / bare step:     {ratio:10.2f}×   (goal ≤ 1.5×: {'met' if ratio <= 1.5 else 'missed'})")
    if torch_rate is None:
        print("  PyTorch: not importable, skipped")
    else:
        print(f"  PyTorch Adam (1 thread):   {torch_rate:10,.0f} steps/s; ours/PyTorch = {adam / torch_rate:.1f}× "
              f"(goal ≥ 6×: {'met' if adam >= 6 * torch_rate else 'missed'})")
    achieved, plain = large_net_figures()
    print(f"large net 2-{'-'.join(map(str, LARGE['hidden']))}-1 relu, {LARGE['points']} points, full batch, Adam")
    print(f"  Trainer.step:              {achieved:10.1f} GFLOP/s (matmuls of forward + backward)")
    print(f"  plain A @ B (256×256 @ 256×{LARGE['points']}): {plain:.1f} GFLOP/s")
    print(f"  fraction:                  {achieved / plain:10.1%}   (goal ≥ 60%: {'met' if achieved >= 0.6 * plain else 'missed'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
