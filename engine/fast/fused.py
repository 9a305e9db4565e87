"""Fused-bias layers: the bias rides in the matmul, and narrow layers work a block of rows at a time.

Z[l] = W_aug [A[l-1]; 1ᵀ] with W_aug = [W | b], and [dW | db] = dZ [A[l-1]; 1ᵀ]ᵀ: the same numbers
as Z = W A + b and db = Σ_cols dZ, without the passes Z += b and db = Σ_cols dZ over (n[l], m) arrays.

A layer with a narrow input (at most NARROW rows in [A[l-1]; 1ᵀ], e.g. the first layer on 2-D
points) goes further: forward computes Z[l] = W_aug A_aug and g, backward g' and [dW | db], a
block of rows at a time (forward_block / backward_block). Each (n[l], m) array is then written
once and re-read from cache, and each small matmul stays under OpenBLAS's threading threshold
(M·N·K <= 2^18): threaded BLAS on such thin products mostly waits on its threads, badly so when
another process holds a core.
"""
from __future__ import annotations

NARROW = 8        # rows of [A[l-1]; 1ᵀ] up to which a layer works block by block
BLOCK = 1 << 15   # values of Z[l] per block: BLOCK · NARROW = 2^18


class FusedLayer:
    """Layer l's fused-bias buffers W_aug = [W | b] and [dW | db] (None in a batch-norm layer,
    which has no b), and where its arrays live in a BufferSet."""

    __slots__ = ("n", "bn", "dW", "db", "Waug", "dWaug", "dWaug_W", "dWaug_b", "feeds_aug", "narrow")

    def __init__(self, l, dims, bn, dW, db, zeros):
        """bn[l] says whether layer l is batch-normalized; dW, db its gradient views."""
        self.n, self.bn, self.dW, self.db = dims[l], bn[l], dW, db
        self.feeds_aug = l < len(dims) - 1 and not bn[l + 1]  # the next layer takes [A[l]; 1ᵀ]
        self.narrow = not self.bn and dims[l - 1] + 1 <= NARROW
        self.Waug = self.dWaug = self.dWaug_W = self.dWaug_b = None
        if not self.bn:
            shape = (dims[l], dims[l - 1] + 1)
            self.Waug = zeros(shape)
            # [dW | db] = dZ A_augᵀ has a long inner dimension (m). OpenBLAS splits it over its
            # threads well when the output's second axis in column-major terms is the longer one;
            # the other way round every thread waits at each block of m, which costs up to 25×
            # as soon as another process holds a core. So: row-major iff n[l] >= n[l-1] + 1.
            self.dWaug = zeros(shape) if shape[0] >= shape[1] else zeros(shape[::-1]).T
            self.dWaug_W, self.dWaug_b = self.dWaug[:, :-1], self.dWaug[:, -1:]

    def buffers(self, work, i, dropped, train):
        """(dest, A_out, Z, Z_norm) of this layer, hidden layer i (0-based), in the BufferSet
        `work`: dest holds the next layer's input ([A[l]; 1ᵀ] when that layer fuses its bias),
        A_out its top n[l] rows, Z the array that becomes g(Z[l]) (A_out unless dropout follows),
        Z_norm the batch-norm Z (train mode only)."""
        n, slot = self.n, 1 + 3 * i
        dest = work.take(slot, n, ones_row=self.feeds_aug)
        A_out = dest[:n] if self.feeds_aug else dest
        Z = work.take(slot + 1, n) if dropped else A_out
        Zn = work.take(slot + 2, n) if self.bn and train else None
        return dest, A_out, Z, Zn

    def fused_grads(self, dZ, A_aug, xp):
        """dW[l] = dZ[l] A[l-1]ᵀ and db[l] = Σ_cols dZ[l] from one matmul [dW | db] = dZ A_augᵀ,
        A_aug = [A[l-1]; 1ᵀ]."""
        xp.matmul(dZ, A_aug.T, out=self.dWaug)
        self.split_grads(xp)

    def split_grads(self, xp):
        """Copy [dW | db] into the dW[l], db[l] views of the flat gradient buffer."""
        xp.copyto(self.dW, self.dWaug_W)
        xp.copyto(self.db, self.dWaug_b)


def forward_block(Waug_rows, Z_rows, A_aug, matmul, g):
    """Rows of Z[l] = W_aug A_aug, then A[l] = g(Z[l]) in place (a narrow layer's forward)."""
    matmul(Waug_rows, A_aug, out=Z_rows)
    g(Z_rows, Z_rows)


def backward_block(dA_rows, A_rows, dWaug_rows, A_aug, matmul, g_back):
    """Rows of dZ[l] = dA[l] * g'(Z[l]) in place, then the same rows of [dW | db] = dZ A_augᵀ."""
    g_back(dA_rows, A_rows)
    matmul(dA_rows, A_aug.T, out=dWaug_rows)


def outer(w_column, out, dz_row, multiply):
    """out = w dz, the outer product of a column and a row, as a broadcast multiply (BLAS is slow
    for this k = 1 product; engine.fast.parallel runs it on row blocks)."""
    multiply(w_column, dz_row, out=out)
