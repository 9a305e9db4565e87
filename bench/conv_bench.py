"""Convolution speed figures (engine/conv.py), printed; never pass/fail on timing (exit 0).

1. One conv layer, forward + backward (dW, db and dA[l-1]): a batch of 64 16×16×8 images → 16
   filters 3×3 "same", in float64 (the engine's default dtype) and float32, vs PyTorch CPU
   (torch.nn.Conv2d, one thread, same data). Goal (float64): ≥ 2× faster than PyTorch.
2. The im2col product's rate: GFLOP/s of the forward's product Zᵀ = W2ᵀ (n_C × f²·n_C[l-1]) @
   colsᵀ (f²·n_C[l-1] × m·n_H·n_W), and of the whole layer (its three products, 3·2·M·K·N flops, over the
   forward + backward time), each as a % of a plain 512×512 @ 512×512 product in the same run.
   Goal: ≥ 40 %.
3. The issue's digits ConvNet (conv 8 3×3 same, max pool 2, flatten, dense 32, softmax; Adam,
   batch 32) trained by the Trainer: wall time from config to result (data loading included)
   and test accuracy. Goal: ≥ 97 % within 30 s.

Both sides run on ONE thread (OPENBLAS_NUM_THREADS=1 unless already set, torch.set_num_threads(1)):
a ratio of one-thread rates is what the goal compares. Every rate is the best of 7 rounds, the jobs
of a comparison interleaved round by round, so load from other processes hits both sides alike.

Usage: python bench/conv_bench.py [--skip-digits]
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads OpenBLAS
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from engine.conv import conv_backward, conv_forward  # noqa: E402

M, SIDE, C_IN, C_OUT, F = 64, 16, 8, 16, 3
ROUNDS = 7


def best_seconds(jobs: dict, reps: int, rounds: int = ROUNDS) -> dict:
    """name -> best time of one call of fn over interleaved rounds of `reps` calls each."""
    best = {name: float("inf") for name in jobs}
    for fn in jobs.values():
        fn()  # warm-up
    for _ in range(rounds):
        for name, fn in jobs.items():
            start = time.perf_counter()
            for _ in range(reps):
                fn()
            best[name] = min(best[name], (time.perf_counter() - start) / reps)
    return best


def conv_jobs(dtype) -> dict:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((M, SIDE, SIDE, C_IN)).astype(dtype)
    W = (rng.standard_normal((F, F, C_IN, C_OUT)) * 0.1).astype(dtype)
    b = np.zeros((1, 1, 1, C_OUT), dtype)
    dW, db = np.empty_like(W), np.empty_like(b)
    dZ = rng.standard_normal((M, SIDE, SIDE, C_OUT)).astype(dtype)
    p = (F - 1) // 2

    def ours():
        Z, cols = conv_forward(np, X, W, b, 1, p)
        conv_backward(np, dZ, cols, W, dW, db, 1, p, X.shape, True)

    _, colsT = conv_forward(np, X, W, b, 1, p)
    W2T = W.reshape(F * F * C_IN, C_OUT).T
    jobs = {"ours": ours, "im2col product": lambda: W2T @ colsT}  # the forward's product, as conv_forward
    try:
        import torch
    except ImportError:
        return jobs
    torch.set_num_threads(1)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    conv = torch.nn.Conv2d(C_IN, C_OUT, F, padding=p, dtype=tdtype)
    Xt = torch.tensor(X.transpose(0, 3, 1, 2).copy(), requires_grad=True)
    dZt = torch.tensor(dZ.transpose(0, 3, 1, 2).copy())

    def theirs():
        Xt.grad = None
        conv.zero_grad()
        conv(Xt).backward(dZt)

    jobs["torch"] = theirs
    return jobs


def gemm_job(dtype):
    A = np.random.default_rng(1).standard_normal((512, 512)).astype(dtype)
    return lambda: A @ A


def conv_section() -> None:
    rows = M * SIDE * SIDE  # im2col rows: one per output position and example
    k = F * F * C_IN
    product_flops = 2.0 * rows * k * C_OUT  # cols @ W; dW = colsᵀ dZ and dA's product: the same each
    print(f"1-2. conv layer forward + backward: batch {M} of {SIDE}×{SIDE}×{C_IN} → {C_OUT} filters "
          f"{F}×{F} 'same' (OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, torch 1 thread)")
    for dtype in (np.float64, np.float32):
        jobs = conv_jobs(dtype)
        jobs["gemm 512"] = gemm_job(dtype)
        t = best_seconds(jobs, reps=5)
        gemm_rate = 2.0 * 512 ** 3 / t["gemm 512"] / 1e9
        ours_rate = 3 * product_flops / t["ours"] / 1e9
        im2col_rate = product_flops / t["im2col product"] / 1e9
        name = np.dtype(dtype).name
        print(f"  {name}: ours {t['ours'] * 1e3:7.2f} ms", end="")
        if "torch" in t:
            ratio = t["torch"] / t["ours"]
            goal = f" (goal ≥ 2×: {'met' if ratio >= 2 else 'missed'})" if dtype == np.float64 else ""
            print(f"   PyTorch {t['torch'] * 1e3:7.2f} ms   ours is {ratio:.2f}× as fast{goal}")
        else:
            print("   PyTorch not installed (pip install 'nn-playground[bench]')")
        print(f"    same-run GEMM 512×512: {gemm_rate:6.1f} GFLOP/s;  im2col product alone {im2col_rate:6.1f} "
              f"GFLOP/s = {100 * im2col_rate / gemm_rate:4.0f} % (goal ≥ 40 %: "
              f"{'met' if im2col_rate >= 0.4 * gemm_rate else 'missed'});  whole layer "
              f"{ours_rate:6.1f} GFLOP/s = {100 * ours_rate / gemm_rate:4.0f} %")


def digits_section() -> None:
    from engine.trainer import Trainer

    config = {"data": {"name": "digits", "split": [0.7, 0.15, 0.15]},
              "network": {"layers": [
                  {"type": "conv", "filters": 8, "size": 3, "stride": 1, "padding": "same", "activation": "relu"},
                  {"type": "pool", "mode": "max", "size": 2, "stride": 2}, {"type": "flatten"},
                  {"type": "dense", "units": 32, "activation": "relu"}], "output": "softmax", "init": "he"},
              "optimizer": {"name": "adam", "learning_rate": 0.003}, "batch_size": 32, "epochs": 12}
    start = time.perf_counter()
    trainer = Trainer(config)
    loaded = time.perf_counter() - start
    snap = trainer.run()
    seconds = time.perf_counter() - start
    acc = snap.test.accuracy
    print(f"3. digits ConvNet ({trainer.network.size} parameters, {trainer.m} training images, "
          f"{config['epochs']} epochs): test accuracy {100 * acc:.1f} % in {seconds:.1f} s "
          f"(data {loaded:.1f} s) (goal ≥ 97 % within 30 s: {'met' if acc >= 0.97 and seconds <= 30 else 'missed'})")


def main() -> int:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average before: {load:.1f} on {os.cpu_count()} cores")
    conv_section()
    if "--skip-digits" not in sys.argv:
        digits_section()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average after: {load:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
