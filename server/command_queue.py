"""Per-session fair queuing of a worker's commands (issue #12; docs/limits.md "Commands").

Why: a worker used to run every command the moment it read it, ahead of every training turn and
frame. One client sending costly commands at the allowed 60 messages/s (a gradient check costs
~0.1 s of CPU on the largest allowed network, a 200×200 boundary grid ~15 ms) kept its worker
busy with its backlog: the other sessions there got no frame for as long as it went on, and the
backlog ran on after the client had left.

The rules (server/scheduler.py applies them):
- each session has a budget of the worker's time for its commands, a token bucket refilled at
  COMMAND_RATE seconds per second (less with many sessions on the worker: `fair_rate`) and
  holding at most COMMAND_BURST; what a command really cost
  (the worker's elapsed time, measured around it: what the other sessions waited; its CPU time
  would be a fraction of that on a loaded machine) is charged after it ran, so a costly one may
  take the budget below zero (a debt);
- a command runs at once, as it always did, while its session has nothing waiting and no debt:
  an honest client never waits;
- otherwise it waits in the session's queue, in arrival order (replies keep their order), and the
  queue is served in the session's turn of the worker's round-robin once the debt is paid back:
  at most CHUNK_SECONDS of commands per turn, so a costly one takes the whole turn and the other
  sessions' frames and training come in between;
- repeated costly commands coalesce: a newer `predict_grid` replaces the waiting one, a second
  `gradcheck` while one waits is refused; at most MAX_QUEUED commands wait, more are refused;
- a closed session's queue goes with it: nothing runs on for a client that left.
"""
from __future__ import annotations

from collections import deque
from typing import Optional

from server.limits import COMMAND_BURST, COMMAND_RATE, COMMAND_SHARE, MAX_QUEUED
from server.time_budget import TimeBudget


def fair_rate(sessions: int) -> float:
    """Seconds per second one session's commands may take of its worker: COMMAND_RATE, or less,
    its fair share COMMAND_SHARE / sessions, when the worker holds more sessions (a client
    flooding gradient checks among 25 neighbours got a fifth of the worker: 7 times its share)."""
    return min(COMMAND_RATE, COMMAND_SHARE / max(1, sessions))


class CommandQueue:
    """One session's waiting commands and its budget of the worker's seconds for commands."""

    def __init__(self) -> None:
        self.waiting: deque[list] = deque()  # [op, args], oldest first
        self.budget = TimeBudget(COMMAND_RATE, COMMAND_BURST)  # the worker's seconds for its commands

    def __len__(self) -> int:
        return len(self.waiting)

    def add(self, op: str, args: dict) -> Optional[str]:
        """Queue a command behind the waiting ones; returns why it is refused, or None."""
        if op == "predict_grid":
            for entry in self.waiting:
                if entry[0] == "predict_grid":  # only the newest resolution matters
                    entry[1] = args
                    return None
        elif op == "gradcheck" and any(entry[0] == "gradcheck" for entry in self.waiting):
            return "a gradient check is already waiting to run: wait for its reply before asking again"
        if len(self.waiting) >= MAX_QUEUED:
            return (f"too many commands waiting ({MAX_QUEUED}; a session's commands may take "
                    f"{COMMAND_RATE:g} s per second of its worker): wait for the replies of the earlier ones")
        self.waiting.append([op, args])
        return None

    def pop(self) -> tuple[str, dict]:
        op, args = self.waiting.popleft()
        return op, args
