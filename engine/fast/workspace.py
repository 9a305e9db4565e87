"""Work buffers of the network's large forward and backward passes, kept for reuse per m.

Why: on a large net (256 units × 10 000 examples) every Z[l], A[l] and dA[l] is a 20 MB array, and
allocating one costs as much as the element-wise pass that fills it (fresh pages fault on first
write). Training calls forward/backward again and again with the same m, so those buffers are
kept and reused.

Safety: a forward pass hands out views of its buffers (the cache's A[l], `hidden_outputs`). A
`BufferSet` is reused only when no view of any of its arrays is alive anywhere (CPython reference
counts: NumPy views keep their base array referenced), so nothing a caller holds is ever
overwritten. The trainer keeps one cache alive while it computes the next, so up to two sets per m
are kept; a third caller-held set is simply not kept.

Memory: only train-mode passes with at least POOL_MIN values per array (m · widest layer, 8 MB
of float64) keep their buffers, for the `sizes` most recent m (the mini-batch and the last,
partial one); what they keep is the memory one training step needs anyway. Smaller passes, test
mode (predictions, grids) and CuPy (its views do not reference their base array, and it has a
memory pool of its own) get fresh arrays on every call, so many small networks (the server's
sessions) keep nothing. Backward's dA/dZ scratch arrays never leave `Network.backward`: one pair
per kept m.
"""
from __future__ import annotations

import sys

POOL_MIN = 1 << 20
_getrefcount = sys.getrefcount


class BufferSet:
    """Arrays for one pass with m examples, by slot number; created on first use."""

    __slots__ = ("xp", "dtype", "m", "arrays", "allocated")

    def __init__(self, xp, dtype, m: int, slots: int):
        self.xp, self.dtype, self.m = xp, dtype, m
        self.arrays = [None] * slots
        self.allocated = []  # the same arrays, without the empty slots

    def take(self, slot: int, rows: int, ones_row: bool = False):
        """The (rows, m) array of `slot`, or (rows + 1, m) with a last row of ones when
        ones_row (an input augmented for W_aug = [W | b]; its top `rows` rows are the values)."""
        a = self.arrays[slot]
        if a is None:
            a = self.xp.empty((rows + ones_row, self.m), dtype=self.dtype)
            if ones_row:
                a[rows] = 1.0
            self.arrays[slot] = a
            self.allocated.append(a)
        return a

    def free(self) -> bool:
        """True when no array of the set is referenced outside it (so it may be overwritten)."""
        # Each array is referenced by `arrays`, `allocated` and getrefcount's argument.
        return not self.allocated or max(map(_getrefcount, self.allocated)) <= 3


class Workspace:
    """BufferSets and backward scratch arrays, kept per m for large passes (module docstring)."""

    def __init__(self, xp, dtype, slots: int, scratch_rows: list, widest: int, pooled: bool,
                 sizes: int = 2, sets_per_size: int = 2):
        self.xp, self.dtype, self.slots, self.scratch_rows = xp, dtype, slots, scratch_rows
        self.pool_min = POOL_MIN if pooled else float("inf")  # values per array (m · widest)
        self.widest, self.sizes, self.sets_per_size = widest, sizes, sets_per_size
        self._sets = {}     # m -> [BufferSet], least recently used m first
        self._scratch = {}  # m -> scratch views

    def buffers(self, m: int, train: bool) -> BufferSet:
        """A BufferSet for m examples that nothing outside it references."""
        if not train or m * self.widest < self.pool_min:
            return BufferSet(self.xp, self.dtype, m, self.slots)
        sets = self._recent(self._sets, m, list)
        for s in sets:
            if s.free():
                return s
        s = BufferSet(self.xp, self.dtype, m, self.slots)
        if len(sets) < self.sets_per_size:
            sets.append(s)
        return s

    def scratch(self, m: int) -> list:
        """(scratch_rows[i], m) arrays private to backward, one per hidden layer i; consecutive
        layers use different memory so that dA[l-1] = W[l]ᵀ dZ[l] never overwrites dZ[l]."""
        keep = m * self.widest >= self.pool_min
        views = self._recent(self._scratch, m, None) if keep else None
        if views is None:
            size = max(self.scratch_rows, default=0) * m
            pair = (self.xp.empty(size, dtype=self.dtype), self.xp.empty(size, dtype=self.dtype))
            views = [pair[i & 1][: n * m].reshape(n, m) for i, n in enumerate(self.scratch_rows)]
            if keep:
                self._scratch[m] = views
                self._recent(self._scratch, m, None)
        return views

    def _recent(self, pool: dict, m: int, make):
        """pool[m] (created by make() if given), marked most recently used; drops the oldest m."""
        value = pool.pop(m, None)
        if value is None and make is not None:
            value = make()
        if value is not None:
            pool[m] = value
            if len(pool) > self.sizes:
                del pool[next(iter(pool))]
        return value
