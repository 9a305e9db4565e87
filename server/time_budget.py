"""A token bucket of a worker's seconds (issue #12; docs/limits.md "Commands" and "Frames").

`tokens` is refilled at `rate` seconds per second up to `burst`; what a piece of work really
cost is charged after it ran, so a costly one may take the budget below zero (a debt), and the
next piece waits until the debt is paid back: -tokens / rate seconds.
"""
from __future__ import annotations

from typing import Optional


class TimeBudget:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate    # seconds of work per second, sustained
        self.burst = burst  # seconds of work at most at once after a quiet while
        self.tokens = burst
        self._at: Optional[float] = None  # when the tokens were last refilled

    def _refill(self, now: float) -> None:
        if self._at is not None:
            self.tokens = min(self.burst, self.tokens + (now - self._at) * self.rate)
        self._at = now

    def can_run(self, now: float) -> bool:
        """The budget is not in debt."""
        self._refill(now)
        return self.tokens >= 0

    def wait(self, now: float) -> float:
        """Seconds until the budget is out of debt (0 when it is)."""
        self._refill(now)
        return max(0.0, -self.tokens / self.rate)

    def charge(self, seconds: float) -> None:
        """What a piece of work that ran cost (seconds of the worker's time)."""
        self.tokens -= seconds
