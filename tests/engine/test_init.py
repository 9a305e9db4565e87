"""engine/__init__.py: OpenBLAS's threads sleep at once after a matmul unless the user chose otherwise."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("given, expected", [(None, "4"), ("12", "12")])
def test_openblas_thread_timeout_default_respects_the_user(given, expected):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    if given is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = given
    out = subprocess.run([sys.executable, "-c", "import engine, os; print(os.environ['OPENBLAS_THREAD_TIMEOUT'])"],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == expected
