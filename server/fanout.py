"""Fan-out of a run's frames to its viewers in the main process, thinned when the event loop
cannot keep up (issue 10, "Scale": the teacher's frame rate with the class connected).

Every follower's frame costs the main process a send and a `ready` to read back (~0.06 ms of
CPU with uvicorn's websockets: 500 followers at 30 frames/s are ~0.85 of a core). When the
process gets less CPU than that (a busy machine), each frame's round trip waited behind the
whole class's sends and `ready`s, and the run, so the teacher, slowed down with them (65 % of its
rate alone, 500 followers, two busy processes beside the server). So the followers give way first:

- a probe measures the loop's lag (how late a 50 ms timer fires; moving average) while frames
  are fanned out to followers;
- each frame of a run goes to its owner (the teacher of a room's run, a student of their own
  run), to viewers marked `every_frame` (a Redis relay: the receiving process thins its own
  followers), and to a `share` of its other viewers, in turns (a window that moves along the
  viewer list by share × followers per frame: each follower gets every 1/share-th frame, and
  every frame costs the same part of the class);
- `share` shrinks by a tenth every ADJUST_SECONDS while the lag is above LAG_HIGH, down to
  MIN_SHARE (a third: 10 of a run's 30 frames/s), and grows back while it is below LAG_LOW
  (1 = every frame to everyone, as without thinning).

A follower still gets a frame only when its own `ready` credits allow (server/live_run.py);
this only decides which frames are offered. One Fanout per process (FANOUT); its probe starts
with the first fan-out to followers on the running loop and stops IDLE_SECONDS after the last.
"""
from __future__ import annotations

import asyncio
import math
import time
from typing import Any, Optional

PERIOD = 0.05         # the lag probe's timer (s)
LAG_HIGH = 0.010      # mean lag above which followers get fewer frames ...
LAG_LOW = 0.005       # ... and below which they get more again
ADJUST_SECONDS = 0.25  # how often `share` may change
MIN_SHARE = 1 / 3     # followers get at least this part of a run's frames
IDLE_SECONDS = 10.0   # the probe stops this long after the last fan-out to followers


class Fanout:
    def __init__(self) -> None:
        self.share = 1.0
        self.lag = 0.0           # moving average of the probe's lateness (s)
        self.last_used = 0.0
        self._task: Optional[asyncio.Task] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    def offer(self, run: Any, frame: bytes, thin: bool = True) -> None:
        """Offer `frame` to `run`'s viewers (run.viewers, run.owner): the owner first, then the
        `every_frame` ones, and the other viewers whose turn it is (all while the loop keeps up,
        or when not `thin`: the frame of a run that stopped, which every follower must show).
        The window's position is kept on the run (run.fanout_position)."""
        viewers, owner = run.viewers, run.owner
        if owner is not None and owner in viewers:
            owner.offer(frame)
        share = self.share if thin else 1.0
        if share >= 1.0:
            followers = 0
            for viewer in viewers:
                if viewer is not owner:
                    viewer.offer(frame)
                    followers += 1
            if followers:
                self._watch()
            return
        rest = [v for v in viewers if v is not owner and not getattr(v, "every_frame", False)]
        for viewer in viewers:
            if viewer is not owner and getattr(viewer, "every_frame", False):
                viewer.offer(frame)
        n = len(rest)
        if not n:
            return
        start = getattr(run, "fanout_position", 0.0) % n
        stop = start + share * n  # followers start <= k < stop (mod n) get this frame
        first, end = math.ceil(start), math.ceil(stop)
        for k in range(first, min(end, n)):
            rest[k].offer(frame)
        for k in range(end - n):  # the window wrapped around
            rest[k].offer(frame)
        run.fanout_position = stop % n
        self._watch()

    # ------------------------------------------------------------------ the lag probe
    def _watch(self) -> None:
        self.last_used = time.monotonic()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._task is None or self._task.done() or self._loop is not loop:
            self._loop, self.share, self.lag = loop, 1.0, 0.0
            self._task = loop.create_task(self._probe())

    async def _probe(self) -> None:
        loop = asyncio.get_running_loop()
        adjusted = loop.time()
        try:
            while time.monotonic() - self.last_used < IDLE_SECONDS:
                start = loop.time()
                await asyncio.sleep(PERIOD)
                now = loop.time()
                self.lag += 0.2 * (max(0.0, now - start - PERIOD) - self.lag)
                if now - adjusted >= ADJUST_SECONDS:
                    adjusted = now
                    if self.lag > LAG_HIGH:
                        self.share = max(MIN_SHARE, self.share * 0.9)
                    elif self.lag < LAG_LOW:
                        self.share = min(1.0, self.share * 1.1)
        finally:
            self.share, self.lag = 1.0, 0.0


FANOUT = Fanout()
