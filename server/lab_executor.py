"""The optimizer lab's own executor (issue #12, point 6): every race's computation (ticks, `step`,
replays, the contour grid of a `configure`) runs on one dedicated thread, never in the event loop's
default thread pool, which saving runs and parsing uploads share.

Why one thread: the lab's maths is numpy on 2-element vectors, so it holds the GIL nearly all the
time; more threads would not compute more, they would only take more of the GIL (and of a 2-core
machine) from the event loop, which relays every playground frame. One race at top speed
(6 optimizers × 1000 steps × 60 fps, mini-batch logistic) asks for ~18 cores, so the lab's share
has to be bounded whatever the number of races:
- one job at a time, first come first served: a race submits its next tick only once the last one
  is done, so the ticks of many races are served round-robin;
- a tick is bounded in time (`LAB_TICK_SECONDS`, server/limits.py): a race whose `steps_per_frame` cost more gets fewer
  steps that tick (server/lab_race.py), never a backlog;
- the thread rests `LAB_REST` of the time it worked after each job, so the lab takes at most
  1 / (1 + REST) of a core however many races there are.
"""
from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional, TypeVar

from server.limits import LAB_REST as REST

T = TypeVar("T")

_executor: Optional[ThreadPoolExecutor] = None
_lock = threading.Lock()


def executor() -> ThreadPoolExecutor:
    """The lab's single thread (made on first use: a server without lab sockets has none)."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lab")
        return _executor


def _rested(fn: Callable[..., T], args: tuple) -> T:
    started = time.perf_counter()
    try:
        return fn(*args)
    finally:
        time.sleep((time.perf_counter() - started) * REST)


async def run(fn: Callable[..., T], *args) -> T:
    """fn(*args) on the lab's thread, after the jobs already queued (the lab's `asyncio.to_thread`)."""
    return await asyncio.get_running_loop().run_in_executor(executor(), _rested, fn, args)
