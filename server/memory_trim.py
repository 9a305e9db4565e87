"""Give a worker's freed memory back to the system after sessions end (glibc's malloc_trim).

Why: a worker's sessions come and go (a class reconnecting, resetting, configuring anew), and
glibc keeps the heap pages their NumPy arrays freed for later use. The worker's RSS then climbs
to the high-water mark of every mix of sessions it ever held and stays there: +45 % in the first
minutes of bench/soak.py, while the Python objects stay flat (tracemalloc). malloc_trim(0) hands
the free pages back (~4 ms for a 100 MiB heap), so RSS follows what the sessions really hold.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import time
from typing import Callable, Optional

M_MMAP_THRESHOLD = -3   # mallopt's parameter number (malloc.h)
MMAP_THRESHOLD = 1 << 20  # bytes: larger blocks (a 200×200 grid's hidden outputs, a CSV's points)
                          # get pages of their own, handed back when freed
TRIM_SECONDS = 10.0  # at most one trim per this many seconds (each one holds the worker ~4 ms)
FREEING_OPS = frozenset(("close", "configure", "import", "reset"))  # ops that drop a session's arrays


def _libc():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def _malloc_trim() -> Optional[Callable[[int], int]]:
    """libc's malloc_trim, or None where there is none (not glibc: musl, macOS)."""
    return getattr(_libc(), "malloc_trim", None)


def fix_mmap_threshold() -> bool:
    """Blocks over MMAP_THRESHOLD always get pages of their own (glibc's mallopt). By default
    glibc raises that threshold to the largest block freed so far (up to 32 MiB): after one 15 MB
    grid was freed, every later one comes from the shared heap and fragments it. True if set."""
    mallopt = getattr(_libc(), "mallopt", None)
    return bool(mallopt and mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))


class Trimmer:
    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 trim: Optional[Callable[[int], int]] = None) -> None:
        self.clock = clock
        self.trim = trim if trim is not None else _malloc_trim()
        self.pending = False
        self.last = -TRIM_SECONDS

    def saw(self, op: str) -> None:
        """A command ran: one that drops a session's arrays makes a trim due."""
        if op in FREEING_OPS:
            self.pending = True

    def cap(self, timeout: Optional[float]) -> Optional[float]:
        """The worker's wait for commands (None: until one), shortened so a due trim is not
        put off by an idle worker."""
        if not self.pending or self.trim is None:
            return timeout
        remaining = max(0.0, TRIM_SECONDS - (self.clock() - self.last))
        return remaining if timeout is None else min(timeout, remaining)

    def maybe_trim(self) -> bool:
        """Trim if a session ended since the last trim and TRIM_SECONDS went by; True if it did."""
        if not self.pending or self.trim is None or self.clock() - self.last < TRIM_SECONDS:
            return False
        self.trim(0)
        self.last, self.pending = self.clock(), False
        return True
