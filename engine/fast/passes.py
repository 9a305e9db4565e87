"""Forward and backward of engine.network for large passes (engine/fast/__init__.py says how).

Every step is one of the course's (engine/network.py, same names, lists indexed by layer l):
    Z[l] = W[l] A[l-1] + b[l],  A[l] = g(Z[l]),  dropout, batch norm;
    dW[l] = dZ[l] A[l-1]ᵀ,  db[l] = Σ_cols dZ[l],  dA[l-1] = W[l]ᵀ dZ[l],  dZ[l] = dA[l] * g'(Z[l]),
computed into reused buffers, with the bias fused into the matmul and element-wise passes on threads.
"""
from __future__ import annotations

from engine.cache import ForwardCache
from engine.fast.fused import BLOCK, FusedLayer, backward_block, forward_block, outer
from engine.fast.parallel import by_rows
from engine.fast.workspace import Workspace
from engine.regularization import dropout, dropout_mask


class FastPasses:
    """The large-pass forward/backward of one Network (its buffers and fused-bias layers).

    It keeps no reference to the Network: each call gets it as `net`."""

    def __init__(self, net):
        dims, L, bn, xp = net.layer_dims, net.L, net._bn, net.be.xp
        self.layers = [None] + [FusedLayer(l, dims, bn, net._dW[l], net._db[l], net.be.zeros)
                                for l in range(1, L + 1)]
        # X is copied into [X; 1ᵀ] only when that copy is smaller than the Z[1] passes it saves.
        self.aug_input = not bn[1] and dims[0] <= dims[1]
        self.work = Workspace(xp, net.be.dtype, slots=1 + 3 * (L - 1), scratch_rows=dims[1:-1],
                              widest=max(dims), pooled=True)

    def forward(self, net, X, train, probs, rng, update_running):
        """Network.forward on a large pass: (A[L], cache); A[L] and Z[L] are new arrays."""
        xp, L, W, b, g = net.be.xp, net.L, net._W, net._b, net._g
        matmul, concatenate = xp.matmul, xp.concatenate
        work = self.work.buffers(X.shape[1], train)
        inputs, acts, augs = [X], [], [None] * L
        masks = [None] * (L - 1) if probs is not None else None
        norms = [None] * (L - 1) if net.batch_norm else None
        A = X
        if self.aug_input:
            augs[0] = work.take(0, X.shape[0], ones_row=True)
            xp.copyto(augs[0][:-1], X)
        for l in range(1, L):
            i, layer = l - 1, self.layers[l]
            dropped = masks is not None and probs[i] < 1.0
            dest, A_out, Z, Zn = layer.buffers(work, i, dropped, train)
            blocked = layer.narrow and augs[i] is not None  # matmul and g by row blocks
            if layer.bn:
                Z = net._bn_forward(l, matmul(W[l], A, out=Zn if train else Z), train, update_running,
                                   norms, out=Z)
            elif augs[i] is not None:
                Waug = concatenate((W[l], b[l]), axis=1, out=layer.Waug)
                if blocked:
                    by_rows(forward_block, Waug, Z, shared=(augs[i], matmul, g[l]), block=BLOCK)
                else:
                    matmul(Waug, augs[i], out=Z)
            else:
                matmul(W[l], A, out=Z)
                by_rows(xp.add, Z, b[l], Z)
            if not blocked:
                by_rows(g[l], Z, Z)  # A[l] = g(Z[l]) in place
            A = Z
            acts.append(A)
            if dropped:
                masks[i] = D = dropout_mask(xp, rng, A.shape, probs[i], net.be.dtype)
                A = dropout(xp, A, D, out=A_out)
            inputs.append(A)
            if layer.feeds_aug:
                augs[l] = dest
        if augs[L - 1] is not None:
            ZL = matmul(concatenate((W[L], b[L]), axis=1, out=self.layers[L].Waug), augs[L - 1])
        else:
            ZL = matmul(W[L], A)
            ZL += b[L]
        AL = g[L](ZL)
        return AL, ForwardCache(inputs, acts, masks, norms, ZL, AL, augs)

    def backward(self, net, cache, dZ):
        """Network.backward on a large pass from dZ = dZ[L]: fills dW[l], db[l], dγ[l], dβ[l]."""
        xp, L, W, dW, db, g_back = net.be.xp, net.L, net._W, net._dW, net._db, net._g_back
        matmul, multiply = xp.matmul, xp.multiply
        inputs, acts, masks, augs = cache.inputs, cache.acts, cache.masks, cache.augs
        if augs[L - 1] is None:
            matmul(dZ, inputs[L - 1].T, out=dW[L])
            dZ.sum(axis=1, keepdims=True, out=db[L])
        else:
            self.layers[L].fused_grads(dZ, augs[L - 1], xp)
        scratch = self.work.scratch(dZ.shape[1])
        for l in range(L - 1, 0, -1):
            i, layer = l - 1, self.layers[l]
            dA = scratch[i]
            if W[l + 1].shape[0] == 1:  # dA = W[l+1]ᵀ dZ[l+1] is an outer product: broadcasting beats BLAS
                by_rows(outer, W[l + 1].T, dA, shared=(dZ, multiply))
            else:
                matmul(W[l + 1].T, dZ, out=dA)
            if masks is not None and masks[i] is not None:
                dropout(xp, dA, masks[i], out=dA)
            if layer.narrow and augs[i] is not None:  # g' and [dW | db] by row blocks
                by_rows(backward_block, dA, acts[i], layer.dWaug, shared=(augs[i], matmul, g_back[l]),
                        block=BLOCK)
                layer.split_grads(xp)
                dZ = dA
                continue
            by_rows(g_back[l], dA, acts[i])  # dZ[l] = dA[l] * g'(Z[l]) in place
            dZ = dA
            if layer.bn:
                dZ = net._bn_backward(l, dZ, cache.bn)
                matmul(dZ, inputs[i].T, out=dW[l])
            elif augs[i] is None:
                matmul(dZ, inputs[i].T, out=dW[l])
                dZ.sum(axis=1, keepdims=True, out=db[l])
            else:
                layer.fused_grads(dZ, augs[i], xp)
