"""A run's cost curve: the rows its curves are drawn from, the `history` of a saved run.

One rule, shared with the browser's curves (static/js/cost-curve.js, the same class and the
same rule), so a saved run's history is the curve the student saw, sampled alike:
- a row is recorded when its iteration is at least `stride` after the last row's (so a second
  snapshot of an iteration, e.g. after a live `set` or of a loaded run's last row, adds nothing);
- when `cap` rows are reached every other row is dropped (the first kept) and `stride` doubles,
  so a long run keeps an even sample of its whole course in bounded memory;
- a diverged run ends with its blow-up rows (`diverge`), after which nothing is recorded;
- a loaded run's rows start the curve (`restore`), thinned like `add` would have.
The server records a row per snapshot (every frame's figures, and the snapshots between frames
while no frame is wanted); the browser a point per frame it receives. So until the first thinning
every point the browser drew is a row of the saved run (tests/e2e/test_cost_curve.py); after it
both keep an even sample of the run by the same stride.

HISTORY_COLUMNS: the row's columns, as saved with a run (server/runs.py) and exported as CSV.
"""
from __future__ import annotations

from typing import Optional

from server import limits

HISTORY_COLUMNS = [
    "iteration", "epoch", "learning_rate", "minibatch_cost",
    "train_cost", "train_data_cost", "train_reg_cost", "train_accuracy",
    "dev_cost", "dev_data_cost", "dev_reg_cost", "dev_accuracy",
]


def snapshot_row(d: dict) -> list:
    """A Snapshot's to_dict() (or a frame header: the same figures) as a row of HISTORY_COLUMNS."""
    train, dev = d.get("train") or {}, d.get("dev") or {}
    return [d["iteration"], d["epoch"], d["learning_rate"], d["minibatch_cost"],
            train.get("cost"), train.get("data_cost"), train.get("reg_cost"), train.get("accuracy"),
            dev.get("cost"), dev.get("data_cost"), dev.get("reg_cost"), dev.get("accuracy")]


class CostCurve:
    """The rows of HISTORY_COLUMNS recorded so far (oldest first), by the rule above."""

    def __init__(self, cap: int = limits.MAX_HISTORY_ROWS):
        self.cap, self.stride, self.rows = cap, 1, []
        self.diverged_at: Optional[int] = None  # once the blow-up rows are recorded

    def add(self, d: dict, divergence: Optional[dict] = None) -> None:
        """Record a Snapshot's to_dict(); a diverged run's with its `divergence`
        (Session.divergence()): the blow-up rows instead."""
        if divergence is not None:
            self.diverge(d["learning_rate"], divergence)
            return
        if self.diverged_at is not None:
            return
        if self.rows and d["iteration"] - self.rows[-1][0] < self.stride:
            return
        self.rows.append(snapshot_row(d))
        self._thin()

    def restore(self, rows: list[list]) -> None:
        """Start from a saved run's rows (oldest first), thinned like `add` would have."""
        self.rows, self.stride = [list(r) for r in rows], 1
        self._thin()

    def _thin(self) -> None:
        while len(self.rows) >= self.cap:
            self.rows = self.rows[::2]
            self.stride *= 2

    def diverge(self, learning_rate: Optional[float], point: dict) -> None:
        """The blow-up, whatever the stride: the last finite mini-batch cost at its iteration, and
        at `diverged_at` the epoch-end costs when the epoch end blew up (finite, maybe huge). The
        full-set costs of the restored weights are not recorded at `diverged_at`: they belong to
        `restored_iteration`. Recorded once (a later snapshot of the diverged run, e.g. after a
        live `set`, adds nothing)."""
        if self.diverged_at == point["diverged_at"]:
            return
        self.diverged_at = point["diverged_at"]
        last_iteration, last_cost = point["last_finite_minibatch_iteration"], point["last_finite_minibatch_cost"]
        first = min(i for i in (last_iteration, point["diverged_at"]) if i is not None)
        while self.rows and self.rows[-1][0] >= first:
            self.rows.pop()
        empty = [None] * 8
        if last_cost is not None and last_iteration is not None and last_iteration != point["diverged_at"]:
            self.rows.append([last_iteration, point["diverged_epoch"], learning_rate, last_cost, *empty])
            last_cost = None
        row = [point["diverged_at"], point["diverged_epoch"], learning_rate, last_cost, *empty]
        row[4], row[8] = point["train_cost"], point["dev_cost"]
        if any(v is not None for v in (row[3], row[4], row[8])):
            self.rows.append(row)

    def as_dict(self) -> dict:
        """The saved run's `history` and the `history` message's body: {columns, rows}."""
        return {"columns": list(HISTORY_COLUMNS), "rows": [list(r) for r in self.rows]}
