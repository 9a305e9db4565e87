"""The cache: what one forward pass keeps for backward (the course's "cache" of forward propagation).

Lists are indexed from 0 for layer l = 1: entry l-1 belongs to layer l.
"""
from __future__ import annotations


class ForwardCache:
    """What backward needs from one forward pass.

    inputs[l-1] = A[l-1] fed to layer l (after dropout; inputs[0] = X), l = 1..L
    acts[l-1]   = A[l] = g(Z[l]) of hidden layer l before dropout (g' is computed from it)
    masks[l-1]  = scaled dropout mask D[l]/keep_prob of hidden layer l, or None (masks None: no dropout)
    bn[l-1]     = (Z_norm, 1/√(σ²+ε)) of a batch-norm hidden layer l in train mode, or None
    ZL, AL      = Z[L] and A[L] = ŷ
    augs        = None for the course's path (engine.network); on the large-pass path (engine.fast)
                  augs[l-1] = [inputs[l-1]; 1ᵀ] when layer l computed W_aug [A; 1ᵀ] = W A + b in one
                  matmul, else None (the bias was added apart)
    """

    __slots__ = ("inputs", "acts", "masks", "bn", "ZL", "AL", "augs")

    def __init__(self, inputs, acts, masks, bn, ZL, AL, augs=None):
        self.inputs, self.acts, self.masks, self.bn, self.ZL, self.AL = inputs, acts, masks, bn, ZL, AL
        self.augs = augs
