"""The sweep's progress on stderr: trials done / total, the best so far and the ETA.

On a terminal one bar is redrawn in place (at most every `interval` seconds, and at the last
trial); elsewhere (a log file, a pipe) each finished trial prints one plain line. ETA =
elapsed · (total − done) / done: the mean time per finished trial, all workers together.
"""
from __future__ import annotations

import sys
import time
from typing import Optional, TextIO

BAR_WIDTH = 24


def clock(seconds: float) -> str:
    """h:mm:ss, or m:ss under an hour."""
    s = int(round(seconds))
    h, m = divmod(s // 60, 60)
    return f"{h}:{m:02d}:{s % 60:02d}" if h else f"{m}:{s % 60:02d}"


def _value(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:.4g}"


class SweepProgress:
    """The on_trial(entry, progress) callback of engine.sweep.run_sweep that draws the progress."""

    def __init__(self, metric: str, stream: TextIO = sys.stderr, tty: Optional[bool] = None,
                 interval: float = 0.1):
        self.metric, self.stream, self.interval = metric, stream, interval
        self.tty = stream.isatty() if tty is None else tty
        self.start = time.monotonic()
        self._drawn = -float("inf")
        self._line = False

    def _status(self, progress: dict) -> str:
        done, total, best = progress["done"], progress["total"], progress["best"]
        eta = (time.monotonic() - self.start) * (total - done) / done if done else 0.0
        best_text = (f"best {self.metric} {_value(self._metric(best))} (trial {best['trial']})"
                     if best is not None else "best –")
        return f"{done}/{total}  {best_text}  ETA {clock(eta)}"

    def _metric(self, entry: dict) -> Optional[float]:
        name, key = self.metric.split(".")
        return (entry.get(name) or {}).get(key)

    def __call__(self, entry: dict, progress: dict) -> None:
        done, total = progress["done"], progress["total"]
        if self.tty:
            now = time.monotonic()
            if now - self._drawn < self.interval and done < total:
                return
            self._drawn = now
            filled = BAR_WIDTH * done // total
            self.stream.write(f"\r[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {self._status(progress)}".ljust(79))
            self._line = True
        else:
            self.stream.write(f"trial {entry['trial']} (round {progress['round']}): {entry['status']}, "
                              f"{self.metric} {_value(self._metric(entry))}, {entry['seconds']:.2f} s; "
                              f"{self._status(progress)}\n")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line (a terminal only)."""
        if self._line:
            self.stream.write("\n")
            self.stream.flush()
            self._line = False
