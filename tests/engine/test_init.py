"""engine.blas: OpenBLAS's threads sleep at once after a matmul unless the user chose otherwise;
the setting is an explicit call (the CLI and the benchmarks make it), not a side effect of import."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, given: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    if given is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = given
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.mark.parametrize("given, expected", [(None, "4"), ("12", "12")])
def test_openblas_thread_timeout_default_respects_the_user(given, expected):
    code = ("from engine.blas import short_thread_spin; import os; before = short_thread_spin(); "
            "import numpy; print(before, os.environ['OPENBLAS_THREAD_TIMEOUT'])")
    assert _run(code, given) == f"True {expected}"


def test_importing_the_engine_leaves_the_environment_alone():
    code = "import engine, engine.network, os; print(os.environ.get('OPENBLAS_THREAD_TIMEOUT'))"
    assert _run(code, None) == "None"


def test_the_cli_sets_the_timeout_before_numpy_loads():
    code = ("import runpy, sys, os; sys.argv = ['engine', '--help']\n"
            "try:\n    runpy.run_module('engine', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print(os.environ['OPENBLAS_THREAD_TIMEOUT'])")
    assert _run(code, None).splitlines()[-1] == "4"
