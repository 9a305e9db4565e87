"""bench/soak.py keeps working: a tiny soak (3 honest clients, 2 hostile, 15 s after a 6 s
baseline) as a subprocess; asserts it exits 0 and prints every summary line with its numbers.
No assertion on the figures themselves (they are timings, and CI machines are busy)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"[-+]?\d+(?:\.\d+)?"


def test_soak_runs_and_prints_the_summary():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "soak.py"), "--clients", "3", "--hostile", "2",
         "--minutes", "0.25", "--baseline-minutes", "0.1", "--interval", "5"],
        cwd=ROOT, capture_output=True, text=True, timeout=90)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert re.search(rf"^ +{NUMBER} +{NUMBER} +{NUMBER} +{NUMBER} +{NUMBER} = +{NUMBER} \+ +{NUMBER} ", out, re.M), out
    summary = out.split("Summary (goals of issue 12):", 1)[1]
    expected = [
        rf"- median fps per honest client: baseline {NUMBER}, soak {NUMBER}; ratio {NUMBER} .*goal (met|missed)",
        rf"- server RSS \(soak, mean over each interval, from the end of the {NUMBER}-min warm-up\): first {NUMBER} MiB, "
        rf"last {NUMBER} MiB \({NUMBER}%\), max {NUMBER} MiB .*goal (met|missed)",
        rf"- server tracebacks \(baseline\): \d+ .*goal (met|missed)",
        rf"- server tracebacks \(soak\): \d+ .*goal (met|missed)",
        rf"- leaked sessions at the end \(baseline\): \d+, workers hold \d+ .*goal (met|missed)",
        rf"- leaked sessions at the end \(soak\): \d+, workers hold \d+ .*goal (met|missed)",
        r"- errors received by honest clients \(soak\): \d+",
    ]
    for line in expected:
        assert re.search(line, summary), f"no line matching {line!r} in:\n{summary}"
