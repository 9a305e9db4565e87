"""Reusable work buffers of the network's forward and backward passes, per number of examples m.

Why: on a large net (256 units × 10 000 examples) every Z[l], A[l] and dA[l] is a 20 MB array, and
allocating one costs as much as the element-wise pass that fills it (fresh pages fault on first
write). Reusing buffers for calls with the same m removes that cost.

Safety: a forward pass hands out views of its buffers (the cache's A[l], `hidden_outputs`). A
`BufferSet` is reused only when no view of any of its arrays is alive anywhere (CPython reference
counts: NumPy views keep their base array referenced), so nothing a caller holds is ever
overwritten. The trainer keeps one cache alive while it computes the next, so up to two sets per m
are kept; a third caller-held set is simply not pooled. Buffers of the least recently used m are
dropped beyond `sizes` distinct m (mini-batch, last partial batch, full-set evaluation).
Backward's dA/dZ scratch arrays never leave `Network.backward`, so one pair per m is shared.
Only NumPy is pooled: CuPy views do not reference their base array, and CuPy has its own pool.
Passes under POOL_MIN values per array (m · widest layer; every playground-size net) allocate
fresh arrays instead: NumPy's small allocations are cheaper than this bookkeeping.
"""
from __future__ import annotations

import sys

POOL_MIN = 1 << 14
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
    """Pools of BufferSets and backward scratch arrays, keyed by m (see the module docstring)."""

    def __init__(self, xp, dtype, slots: int, scratch_rows: list, pooled: bool, sizes: int = 3,
                 sets_per_size: int = 2):
        self.xp, self.dtype, self.slots, self.scratch_rows = xp, dtype, slots, scratch_rows
        self.pooled, self.sizes, self.sets_per_size = pooled, sizes, sets_per_size
        self._sets = {}     # m -> [BufferSet], least recently used m first
        self._scratch = {}  # m -> (flat0, flat1)

    def buffers(self, m: int) -> BufferSet:
        """A BufferSet for m examples that nothing outside it references."""
        if not self.pooled:
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
        views = self._recent(self._scratch, m, None) if self.pooled else None
        if views is None:
            size = max(self.scratch_rows, default=0) * m
            pair = (self.xp.empty(size, dtype=self.dtype), self.xp.empty(size, dtype=self.dtype))
            views = [pair[i & 1][: n * m].reshape(n, m) for i, n in enumerate(self.scratch_rows)]
            if self.pooled:
                self._scratch[m] = views
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
