"""Convolutional networks in the course's notation: conv, pool, flatten, dense and residual layers.

Layout (the course's): an activation volume A[l] is (m, n_H, n_W, n_C) — examples first, then
height, width, channels (row-major). A conv filter bank W[l] is (f, f, n_C[l-1], n_C[l]) and its
bias b[l] is (1, 1, 1, n_C[l]). After `flatten` the layers are the dense course's: A[l] is
(n[l], m) with examples as COLUMNS, W[l] (n[l], n[l-1]), b[l] (n[l], 1); flatten unrolls each
example's volume in (h, w, c) order: unit (h·n_W + w)·n_C + c. The output layer L (dense, with
`output` softmax / sigmoid / linear) gives A[L] = ŷ of shape (n_y, m), like engine.network, so the
losses, the Trainer's costs and accuracy are the dense path's.

Layer numbering: l = i + 1 for entry i of `layers` (pool and flatten count too; they just have
no parameters), L = len(layers) + 1 for the output layer.

Shapes (`out_size`; "same" padding is p = (f − 1)/2 and needs an odd f):
    conv   n[l] = ⌊(n[l-1] + 2p − f)/s⌋ + 1 for n_H and n_W;  n_C[l] = filters
    pool   n[l] = ⌊(n[l-1] − f)/s⌋ + 1;  n_C[l] = n_C[l-1]  (no parameters)
    residual  two "same" convs of stride 1 keep (n_H, n_W, n_C)
Forward:
    conv      Z[l] = W[l] * A[l-1] + b[l]  (cross-correlation, as in the course):
              Z[i, h, w, c] = Σ_{a,b,k} A_pad[i, h·s + a, w·s + b, k] · W[a, b, k, c] + b[c]
              A[l] = g(Z[l])   (batch norm per channel: Z̃ = γ Z_norm + β, statistics over m, n_H, n_W)
    pool      max:  A[i, h, w, c] = max_{a,b<f} A[l-1][i, h·s + a, w·s + b, c];  average: the mean
    residual  A[l] = g(Z₂ + A[l-1]) with Z₂ = W₂ * g(W₁ * A[l-1] + b₁) + b₂   (the ResNet block
              a[l+2] = g(z[l+2] + a[l]); both convs "same", stride 1, n_C filters)
    dense     Z[l] = W[l] A[l-1] + b[l],  A[l] = g(Z[l])
Backward (dZ[L] = (A[L] − Y)/m, so every gradient below carries the 1/m):
    conv      dW[a, b, k, c] = Σ_{i,h,w} A_pad[i, h·s + a, w·s + b, k] dZ[i, h, w, c]
              db[c] = Σ_{i,h,w} dZ[i, h, w, c]
              dA_pad[i, y, x, k] = Σ_{h,w,c : y = h·s + a, x = w·s + b} W[a, b, k, c] dZ[i, h, w, c]
              i.e. dcolsᵀ = W dZᵀ (one product), each window's column scattered back onto the inputs
              it covers (col2im); dA[l-1] is dA_pad without the p-wide border
    max pool  dA[l-1] gets dA at the position of each window's (first) maximum, 0 elsewhere
    avg pool  dA[l-1][i, y, x, c] = Σ over the windows covering (y, x) of dA[i, h, w, c] / f²
    residual  dZ₂ = dA[l] · g'(...);  dA[l-1] = (conv₁ and conv₂ backward of dZ₂) + dZ₂ (the skip)

Vectorization: a conv is ONE matrix product on im2col columns: a strided view (as
`sliding_window_view` makes one) holds every window without a copy, one reshape copies it into
the (f·f·n_C[l-1], m·n_H·n_W) matrix colsᵀ, and Zᵀ = W2ᵀ colsᵀ with W2 = W as
(f·f·n_C[l-1], n_C). Backward is two more products (dW2 = colsᵀ (dZᵀ)ᵀ, dcolsᵀ = W2 dZᵀ) and a
col2im: a strided view writes every window's share at its input position, one plane per filter
offset, and a sum over the planes adds them. (A full convolution of the dilated dZ with the
flipped filters would give dA too, but its product has only n_C[l-1] columns, e.g. 8, and runs
far below BLAS's rate.)
Memory layout: the arrays are the course's (m, n_H, n_W, n_C) in shape, but a conv or pool
output lives in channels-first memory (n_C, m, n_H, n_W) and is handed on as the transposed view
(`volume`): then every product has m·n_H·n_W columns (~1.5× BLAS's rate with m·n_H·n_W rows here)
and every window copy moves whole rows of n_W values instead of runs of n_C. Shapes, indexing,
parameters and results are those of the course's layout; only strides differ.
Pooling reduces the window view; max-pool backward writes dA at the saved
argmax positions with one scatter. There is no Python loop over examples, positions, filter
offsets or channels; only over layers.

Parameters live in ONE flat buffer `theta` like engine.network: every W first (conv filters,
residual W₁ and W₂, dense and output W), then per layer b, or γ, β for a batch-norm layer, so the
L2/L1 penalties, the optimizers and the Trainer's divergence check work unchanged. Names:
W{l}, b{l} (conv, dense, output), W{l}_1, b{l}_1, W{l}_2, b{l}_2 (residual),
gamma{l}, beta{l} (batch norm; gamma{l}_1 ... in a residual block), and the running statistics
running_mean{l}, running_var{l} (held in `running` as mu{l}, var{l}).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np  # sliding_window_view; the arrays themselves are the backend's (NumPy)
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from engine import batchnorm
from engine.activations import HIDDEN, OUTPUTS, make_activation
from engine.backend import get_backend, host_rng
from engine.initializers import INITS, init_std
from engine.net_base import NetBase
from engine.losses import loss_for_output
from engine.regularization import check_keep_probs, dropout, dropout_mask, l1_grad, l2_grad

LAYER_TYPES = ("conv", "pool", "flatten", "dense", "residual")


# ---------------------------------------------------------------------------------- shapes

class ShapeError(ValueError):
    """A layer that does not fit its input; `index` is the entry of `layers`, the message names it
    (network.layers.{index}: ...) and the arithmetic that led there."""

    def __init__(self, index: int, message: str):
        super().__init__(f"network.layers.{index}: {message}")
        self.index, self.reason = index, message


def out_size(n: int, f: int, s: int, p: int = 0) -> int:
    """⌊(n + 2p − f)/s⌋ + 1: output height or width of a conv or pool window of size f, stride s,
    padding p over an input of size n (the window always lies inside the padded input)."""
    return (n + 2 * p - f) // s + 1


def padding_of(padding, f: int) -> int:
    """p for padding "valid" (0), "same" (p = (f − 1)/2, f odd) or an int."""
    if padding == "valid":
        return 0
    if padding == "same":
        return (f - 1) // 2
    return int(padding)


def _formula(n: int, f: int, s: int, p: int) -> str:
    return f"⌊({n} + {2 * p} − {f})/{s}⌋ + 1 = {out_size(n, f, s, p)}"


def _spec(layer) -> dict:
    """A layer spec as a dict (a pydantic layer model or a plain dict)."""
    return layer.model_dump() if hasattr(layer, "model_dump") else dict(layer)


@dataclass
class LayerPlan:
    """One entry of `layers` with its shapes: in_shape/out_shape are (n_H, n_W, n_C) for volumes,
    (n,) for dense units; `why` says how out_shape was computed (for error messages)."""

    index: int
    spec: dict
    in_shape: tuple
    out_shape: tuple
    why: str = ""
    p: int = 0
    params: list = field(default_factory=list)  # [(name suffix, shape, "W" | "b")] without BN

    @property
    def type(self) -> str:
        return self.spec["type"]


def plan_layers(layers, input_shape: tuple) -> list[LayerPlan]:
    """Each layer's input and output shape from the image shape (n_H, n_W, n_C); ShapeError names
    the first layer that does not fit (its index in `layers`) and the arithmetic."""
    shape, plans, why = tuple(int(n) for n in input_shape), [], "the image"
    for i, layer in enumerate(layers):
        spec = _spec(layer)
        kind = spec["type"]
        if kind not in LAYER_TYPES:
            raise ShapeError(i, f"unknown layer type {kind!r}: allowed {', '.join(LAYER_TYPES)}")
        plan = LayerPlan(i, spec, shape, shape)
        where = f"({why})" if i == 0 else f"(after layer {i}: {why})"
        if kind in ("conv", "pool", "residual"):
            if len(shape) != 3:
                raise ShapeError(i, f"{kind} needs an image volume (n_H, n_W, n_C), but its input is "
                                    f"{shape[0]} dense units {where}: convolutions and pooling go before flatten")
            n_H, n_W, n_C = shape
            f = int(spec.get("size", 3))
            if kind == "residual":
                if f % 2 == 0:
                    raise ShapeError(i, f"residual size {f} must be odd: its convs keep the size with p = (f − 1)/2")
                p = (f - 1) // 2
                plan.p = p
                plan.params = [("_1", (f, f, n_C, n_C), "W"), ("_2", (f, f, n_C, n_C), "W"),
                               ("_1", (1, 1, 1, n_C), "b"), ("_2", (1, 1, 1, n_C), "b")]
                plan.why = f"residual keeps {n_H}×{n_W}×{n_C}"
            else:
                s = int(spec.get("stride") or (f if kind == "pool" else 1))  # pool: s = f by default
                padding = spec.get("padding", "valid") if kind == "conv" else 0
                if padding == "same" and f % 2 == 0:
                    raise ShapeError(i, f"padding 'same' needs an odd size f (p = (f − 1)/2), got f = {f}")
                p = padding_of(padding, f)
                if f > n_H + 2 * p or f > n_W + 2 * p:
                    padded = f" + 2·{p} padding" if p else ""
                    raise ShapeError(i, f"{kind} size {f} > input {n_H}×{n_W}{padded} {where}")
                h, w = out_size(n_H, f, s, p), out_size(n_W, f, s, p)
                c = int(spec["filters"]) if kind == "conv" else n_C
                plan.p = p
                plan.why = (f"{kind} n_H = {_formula(n_H, f, s, p)}"
                            + ("" if n_W == n_H else f", n_W = {_formula(n_W, f, s, p)}"))
                plan.out_shape = (h, w, c)
                if kind == "conv":
                    plan.params = [("", (f, f, n_C, c), "W"), ("", (1, 1, 1, c), "b")]
        elif kind == "flatten":
            if len(shape) != 3:
                raise ShapeError(i, f"flatten needs an image volume, but its input is already flat "
                                    f"({shape[0]} units {where})")
            plan.out_shape = (shape[0] * shape[1] * shape[2],)
            plan.why = f"flatten {shape[0]}×{shape[1]}×{shape[2]} = {plan.out_shape[0]}"
        else:  # dense
            if len(shape) != 1:
                raise ShapeError(i, f"dense needs flat units: put a flatten layer before it (its input "
                                    f"is the volume {shape[0]}×{shape[1]}×{shape[2]} {where})")
            units = int(spec["units"])
            plan.out_shape = (units,)
            plan.params = [("", (units, shape[0]), "W"), ("", (units, 1), "b")]
            plan.why = f"dense {units} units"
        why, shape = plan.why, plan.out_shape
        plans.append(plan)
    if len(shape) != 1:
        raise ShapeError(len(plans) - 1 if plans else 0,
                         f"the output layer is dense: end the layers with flatten or dense (the last "
                         f"output is the volume {shape[0]}×{shape[1]}×{shape[2]})")
    return plans


# ---------------------------------------------------------------------------------- kernels

def channels_first(A):
    """The (n_C, m, n_H, n_W) view of a volume A (m, n_H, n_W, n_C) (no copy)."""
    return A.transpose(3, 0, 1, 2)


def volume(T):
    """The (m, n_H, n_W, n_C) view of a channels-first array T (n_C, m, n_H, n_W) (no copy)."""
    return T.transpose(1, 2, 3, 0)


def im2col(A, f: int, s: int, p: int, n_H: int, n_W: int):
    """colsᵀ, the (f·f·n_C, m·n_H·n_W) matrix whose column (i, h, w) is the window
    A_pad[i, h·s : h·s + f, w·s : w·s + f, :] in (a, b, k) order. One copy pads A and puts its
    channels first; a strided view of that holds every window (rows [a, b, k, i, h, w] =
    A_pad[i, h·s + a, w·s + b, k]); one more copy lays the windows out for the product."""
    m, H, W, C = A.shape
    Ac = _padded_channels_first(A, p)
    Ac[:, :, p:p + H, p:p + W] = channels_first(A)
    sc, si, sy, sx = Ac.strides
    windows = as_strided(Ac, shape=(f, f, C, m, n_H, n_W), strides=(sy, sx, sc, si, s * sy, s * sx),
                         writeable=False)
    return windows.reshape(f * f * C, m * n_H * n_W)


def _padded_channels_first(A, p: int):
    """Zeros (n_C, m, n_H + 2p, n_W + 2p) of A's dtype (uninitialized when p = 0: all overwritten)."""
    m, H, W, C = A.shape
    shape = (C, m, H + 2 * p, W + 2 * p)
    return np.zeros(shape, dtype=A.dtype) if p else np.empty(shape, dtype=A.dtype)


def conv_forward(xp, A, W, b, s: int, p: int):
    """(Z, colsᵀ): Z[l] = W * A + b as (m, n_H, n_W, n_C) (a view of channels-first memory, see
    the module docstring); colsᵀ = im2col of A (kept for dW). b may be None (batch norm).
    Zᵀ = W2ᵀ colsᵀ with W2 = W as (f·f·n_C[l-1], n_C): n_C rows of m·n_H·n_W values, the
    orientation in which BLAS runs this product fastest (~1.5× the (m·n_H·n_W)-row one here)."""
    f, _, n_C_prev, n_C = W.shape
    m, H, Wd, _ = A.shape
    n_H, n_W = out_size(H, f, s, p), out_size(Wd, f, s, p)
    colsT = im2col(A, f, s, p, n_H, n_W)
    ZT = W.reshape(f * f * n_C_prev, n_C).T @ colsT                   # (n_C, m·n_H·n_W)
    if b is not None:
        ZT += b.reshape(n_C, 1)
    return volume(ZT.reshape(n_C, m, n_H, n_W)), colsT


def conv_backward(xp, dZ, colsT, W, dW, db, s: int, p: int, in_shape, need_dA: bool = True):
    """Fill dW (= colsᵀ dZ) and db (= Σ dZ per channel; db may be None) in place; return dA[l-1]
    of shape in_shape (m, H, W, n_C[l-1]) (channels-first memory), or None when not needed."""
    f, _, n_C_prev, n_C = W.shape
    m, n_H, n_W, _ = dZ.shape
    dZT = xp.ascontiguousarray(channels_first(dZ)).reshape(n_C, m * n_H * n_W)  # no copy after a conv
    W2 = W.reshape(f * f * n_C_prev, n_C)
    xp.matmul(colsT, dZT.T, out=dW.reshape(f * f * n_C_prev, n_C))
    if db is not None:
        dZT.sum(axis=1, out=db.reshape(n_C))
    if not need_dA:
        return None
    _, H, Wd, _ = in_shape
    # col2im: dcolsᵀ = W2 dZᵀ holds, for every window (i, h, w), what each of its f·f·n_C[l-1]
    # inputs (a, b, k) receives; input (y, x) = (h·s + a, w·s + b) sums the windows covering it.
    # P gets one plane per filter offset (a, b), each window's share written at its input position
    # through a strided view (distinct (a, b) planes never overlap), and dA_pad = Σ over the f·f
    # planes. Rows (a, b, k) first keep each copy's inner run a row of n_W windows (with rows
    # (i, h, w) first the scatter copies runs of n_C[l-1] values, ~3× slower).
    Hp, Wp = H + 2 * p, Wd + 2 * p
    dcolsT = W2 @ dZT                                                  # (f·f·n_C[l-1], m·n_H·n_W)
    P = xp.zeros((f, f, n_C_prev, m, Hp, Wp), dtype=dZ.dtype)
    sa, sb, sk, si, sy, sx = P.strides
    planes = as_strided(P, shape=(f, f, n_C_prev, m, n_H, n_W),
                        strides=(sa + sy, sb + sx, sk, si, s * sy, s * sx))  # [a, b, k, i, h, w] = P[a, b, k, i, h·s + a, w·s + b]
    planes[...] = dcolsT.reshape(f, f, n_C_prev, m, n_H, n_W)
    dA_pad = P.reshape(f * f, -1).sum(axis=0).reshape(n_C_prev, m, Hp, Wp)
    return volume(dA_pad[:, :, p:p + H, p:p + Wd])


def pool_forward(xp, A, f: int, s: int, mode: str):
    """(A[l], argmax flat indices into the channels-first A[l-1] or None): max or average over
    f×f windows, stride s. The window view is reduced over its leading (a, b) axes: NumPy then
    combines whole planes (reducing a trailing axis of f² values runs ~100× slower per value)."""
    m, H, W, C = A.shape
    n_H, n_W = out_size(H, f, s), out_size(W, f, s)
    v = sliding_window_view(channels_first(A), (f, f), axis=(2, 3))
    v = v[:, :, : (n_H - 1) * s + 1 : s, : (n_W - 1) * s + 1 : s].transpose(4, 5, 0, 1, 2, 3)  # (f, f, C, m, n_H, n_W)
    if mode == "average":
        out = v.sum(axis=(0, 1))
        out *= 1.0 / (f * f)
        return volume(out), None
    win = xp.ascontiguousarray(v).reshape(f * f, C, m, n_H, n_W)  # one copy: planes of contiguous values
    out = win.max(axis=0)
    # the first maximum in row-major (a, b) order, as PyTorch takes it: the largest of
    # [win = max]·(f² − k) over k = a·f + b is f² − k_first
    rank = xp.arange(f * f, 0, -1).reshape(f * f, 1, 1, 1, 1)
    k = f * f - ((win == out) * rank).max(axis=0)
    xp.minimum(k, f * f - 1, out=k)  # a NaN window matches nothing: any index in it will do
    # flat index of that maximum in the channels-first (C, m, H, W): ((c·m + i)·H + h·s + a)·W + w·s + b
    a, bb = xp.divmod(k, f)
    rows = xp.arange(n_H).reshape(1, 1, n_H, 1) * s + a
    cols = xp.arange(n_W).reshape(1, 1, 1, n_W) * s + bb
    planes = xp.arange(C).reshape(C, 1, 1, 1) * m + xp.arange(m).reshape(1, m, 1, 1)
    idx = (planes * H + rows) * W + cols
    return volume(out), idx


def pool_backward(xp, dA, in_shape, f: int, s: int, mode: str, idx):
    """dA[l-1] (in_shape, channels-first memory) from dA[l] (formulas in the module docstring)."""
    m, H, W, C = in_shape
    _, n_H, n_W, _ = dA.shape
    dAc = channels_first(dA)  # (C, m, n_H, n_W), the order of idx
    if mode == "max":
        flat = xp.zeros(C * m * H * W, dtype=dA.dtype)
        if s >= f:  # windows do not overlap: every index at most once, a plain scatter
            flat[idx.ravel()] = dAc.ravel()
        else:  # overlapping windows add up where they share a maximum
            flat += xp.bincount(idx.ravel(), weights=dAc.ravel(), minlength=flat.size)
        return volume(flat.reshape(C, m, H, W))
    # average: each window spreads dA/f² over its f×f inputs = a stride-1 window sum over dA/f²
    # placed every s positions inside an (f − 1)-wide zero border.
    D = xp.zeros((C, m, (n_H - 1) * s + 2 * f - 1, (n_W - 1) * s + 2 * f - 1), dtype=dA.dtype)
    D[:, :, f - 1 : f - 1 + (n_H - 1) * s + 1 : s, f - 1 : f - 1 + (n_W - 1) * s + 1 : s] = dAc
    D *= 1.0 / (f * f)
    covered = sliding_window_view(D, (f, f), axis=(2, 3)).transpose(4, 5, 0, 1, 2, 3).sum(axis=(0, 1))
    out = xp.zeros((C, m, H, W), dtype=dA.dtype)
    out[:, :, : covered.shape[2], : covered.shape[3]] = covered  # rows past the last window get 0
    return volume(out)


def _bn_train(xp, Z, gamma, beta, eps):
    """Batch norm of a conv Z (m, n_H, n_W, n_C) per channel, statistics over (m, n_H, n_W):
    engine.batchnorm on the channels-first (n_C, m·n_H·n_W) view. Returns (Z̃, (Z_norm, inv_std),
    μ, σ²)."""
    m, n_H, n_W, C = Z.shape
    out = xp.empty((C, m, n_H, n_W), dtype=Z.dtype)
    Zt, Zn, inv_std, mu, var = batchnorm.forward_train(
        xp, channels_first(Z).reshape(C, -1), gamma.reshape(C, 1), beta.reshape(C, 1), eps, out=out.reshape(C, -1))
    return volume(out), (Zn, inv_std), mu, var


# ---------------------------------------------------------------------------------- layers

class _Layer:
    """One entry of `layers`. forward(A, train) -> A[l]; backward(dA, need_dA) -> dA[l-1]."""

    weights: tuple = ()  # names of this layer's W entries (for ‖W[l]‖)

    def __init__(self, net, plan: LayerPlan, l: int):
        self.net, self.plan, self.l = net, plan, l
        self.in_shape, self.out_shape = plan.in_shape, plan.out_shape

    def bind(self):
        """Look up the parameter views once the flat buffers exist."""

    def hidden_act(self):
        return make_activation(self.plan.spec.get("activation", "relu"), self.net.be.xp, self.net.leaky_slope)


class _ConvCore:
    """Z̃ = BN(W * A + b) of one conv (no activation): used by Conv and twice by Residual."""

    def __init__(self, net, key: str, s: int, p: int, bn: bool):
        self.net, self.key, self.s, self.p, self.bn = net, key, s, p, bn

    def bind(self):
        net, k = self.net, self.key
        self.W, self.dW = net.params["W" + k], net.dparams["dW" + k]
        if self.bn:
            self.gamma, self.beta = net.params["gamma" + k], net.params["beta" + k]
            self.dgamma, self.dbeta = net.dparams["dgamma" + k], net.dparams["dbeta" + k]
            self.mu, self.var = net.running["mu" + k], net.running["var" + k]
            self.b = self.db = None
        else:
            self.b, self.db = net.params["b" + k], net.dparams["db" + k]

    def forward(self, A, train, update_running):
        xp, net = self.net.be.xp, self.net
        Z, cols = conv_forward(xp, A, self.W, self.b, self.s, self.p)
        norm = None
        if self.bn:
            C = Z.shape[-1]
            if train:
                Z, norm, mu, var = _bn_train(xp, Z, self.gamma, self.beta, net.bn_epsilon)
                if update_running:
                    batchnorm.update_running(self.mu.reshape(C, 1), self.var.reshape(C, 1), mu, var, net.bn_momentum)
            else:
                m, n_H, n_W, _ = Z.shape
                Zc = batchnorm.forward_test(xp, channels_first(Z).reshape(C, -1), self.gamma.reshape(C, 1),
                                            self.beta.reshape(C, 1), self.mu.reshape(C, 1), self.var.reshape(C, 1),
                                            net.bn_epsilon)
                Z = volume(Zc.reshape(C, m, n_H, n_W))
        return Z, (cols, norm, A.shape)

    def backward(self, dZ, cache, need_dA):
        xp = self.net.be.xp
        cols, norm, in_shape = cache
        if self.bn:
            if norm is None:
                raise ValueError("backward through batch norm needs a forward pass with train=True")
            m, n_H, n_W, C = dZ.shape
            Zn, inv_std = norm
            # a copy: batchnorm.backward works in place, and dZ may be a residual's shared dZ₂
            dZc = xp.array(channels_first(dZ), order="C").reshape(C, -1)
            dZc = batchnorm.backward(dZc, Zn, inv_std, self.gamma.reshape(C, 1),
                                     self.dgamma.reshape(C, 1), self.dbeta.reshape(C, 1))
            dZ = volume(dZc.reshape(C, m, n_H, n_W))
        return conv_backward(xp, dZ, cols, self.W, self.dW, self.db, self.s, self.p, in_shape, need_dA)


class Conv(_Layer):
    def __init__(self, net, plan, l, bn):
        super().__init__(net, plan, l)
        spec = plan.spec
        self.core = _ConvCore(net, str(l), int(spec.get("stride") or 1), plan.p, bn)
        self.g = self.hidden_act()
        self.weights = (f"W{l}",)

    def bind(self):
        self.core.bind()

    def forward(self, A, train, update_running):
        Z, cache = self.core.forward(A, train, update_running)
        A_out = self.g.forward(Z, Z)  # A[l] = g(Z[l]), in place
        return A_out, (cache, A_out)

    def backward(self, dA, cache, need_dA):
        core_cache, A_out = cache
        dZ = self.g.backward(dA, A_out)  # dZ[l] = dA[l] · g'(Z[l])
        return self.core.backward(dZ, core_cache, need_dA)


class Residual(_Layer):
    def __init__(self, net, plan, l, bn):
        super().__init__(net, plan, l)
        self.c1 = _ConvCore(net, f"{l}_1", 1, plan.p, bn)
        self.c2 = _ConvCore(net, f"{l}_2", 1, plan.p, bn)
        self.g = self.hidden_act()
        self.weights = (f"W{l}_1", f"W{l}_2")

    def bind(self):
        self.c1.bind()
        self.c2.bind()

    def forward(self, A, train, update_running):
        Z1, k1 = self.c1.forward(A, train, update_running)
        A1 = self.g.forward(Z1, Z1)
        Z2, k2 = self.c2.forward(A1, train, update_running)
        Z2 += A                                # z[l+2] + a[l]: the skip connection
        A_out = self.g.forward(Z2, Z2)
        return A_out, (k1, A1, k2, A_out)

    def backward(self, dA, cache, need_dA):
        k1, A1, k2, A_out = cache
        dZ2 = self.g.backward(dA, A_out)
        dA1 = self.c2.backward(dZ2, k2, True)
        dZ1 = self.g.backward(dA1, A1)
        dA_main = self.c1.backward(dZ1, k1, need_dA)
        if not need_dA:
            return None
        dA_main += dZ2                         # the skip carries dZ₂ straight to A[l-1]
        return dA_main


class Pool(_Layer):
    def __init__(self, net, plan, l):
        super().__init__(net, plan, l)
        spec = plan.spec
        self.f = int(spec.get("size", 2))
        self.s = int(spec.get("stride") or self.f)
        self.mode = spec.get("mode", "max")

    def forward(self, A, train, update_running):
        out, idx = pool_forward(self.net.be.xp, A, self.f, self.s, self.mode)
        return out, (idx, A.shape)

    def backward(self, dA, cache, need_dA):
        idx, in_shape = cache
        return pool_backward(self.net.be.xp, dA, in_shape, self.f, self.s, self.mode, idx) if need_dA else None


class Flatten(_Layer):
    def forward(self, A, train, update_running):
        m, n_H, n_W, n_C = A.shape
        return A.reshape(m, n_H * n_W * n_C).T, A.shape  # (n_H·n_W·n_C, m): examples as columns

    def backward(self, dA, cache, need_dA):
        return dA.T.reshape(cache) if need_dA else None


class Dense(_Layer):
    """Z[l] = W[l] A[l-1] + b[l] (or batch norm), A[l] = g(Z[l]); also the output layer."""

    def __init__(self, net, plan, l, bn, g=None):
        super().__init__(net, plan, l)
        self.bn = bn
        self.g = g if g is not None else self.hidden_act()
        self.weights = (f"W{l}",)

    def bind(self):
        net, l = self.net, self.l
        self.W, self.dW = net.params[f"W{l}"], net.dparams[f"dW{l}"]
        if self.bn:
            self.gamma, self.beta = net.params[f"gamma{l}"], net.params[f"beta{l}"]
            self.dgamma, self.dbeta = net.dparams[f"dgamma{l}"], net.dparams[f"dbeta{l}"]
            self.mu, self.var = net.running[f"mu{l}"], net.running[f"var{l}"]
        else:
            self.b, self.db = net.params[f"b{l}"], net.dparams[f"db{l}"]

    def linear(self, A, train, update_running):
        net, xp = self.net, self.net.be.xp
        Z = self.W @ A
        norm = None
        if not self.bn:
            Z += self.b
        elif train:
            Z, Zn, inv_std, mu, var = batchnorm.forward_train(xp, Z, self.gamma, self.beta, net.bn_epsilon)
            norm = (Zn, inv_std)
            if update_running:
                batchnorm.update_running(self.mu, self.var, mu, var, net.bn_momentum)
        else:
            batchnorm.forward_test(xp, Z, self.gamma, self.beta, self.mu, self.var, net.bn_epsilon)
        return Z, (A, norm)

    def forward(self, A, train, update_running):
        Z, cache = self.linear(A, train, update_running)
        A_out = self.g.forward(Z, Z)
        return A_out, (cache, A_out)

    def backward(self, dA, cache, need_dA):
        lin, A_out = cache
        return self.backward_linear(self.g.backward(dA, A_out), lin, need_dA)

    def backward_linear(self, dZ, cache, need_dA):
        xp = self.net.be.xp
        A_prev, norm = cache
        if self.bn:
            if norm is None:
                raise ValueError("backward through batch norm needs a forward pass with train=True")
            dZ = batchnorm.backward(dZ, norm[0], norm[1], self.gamma, self.dgamma, self.dbeta)
        xp.matmul(dZ, A_prev.T, out=self.dW)                 # dW[l] = dZ[l] A[l-1]ᵀ (1/m in dZ)
        if not self.bn:
            dZ.sum(axis=1, keepdims=True, out=self.db)       # db[l] = Σ_cols dZ[l]
        return self.W.T @ dZ if need_dA else None            # dA[l-1] = W[l]ᵀ dZ[l]


# ---------------------------------------------------------------------------------- the net

class ConvCache:
    """What backward needs from one forward: each layer's cache, the dropout masks, Z[L], A[L]."""

    __slots__ = ("layers", "masks", "out", "ZL", "AL")

    def __init__(self, layers, masks, out, ZL, AL):
        self.layers, self.masks, self.out, self.ZL, self.AL = layers, masks, out, ZL, AL


class ConvNet(NetBase):
    """A network of `layers` (conv, pool, flatten, dense, residual) and a dense output layer, with
    the public surface of engine.network.Network (theta/grads, params/dparams, running, forward,
    cost, backward, get/set_parameters, weight/grad norms) so the Trainer, the optimizers and
    gradient checking use it unchanged. Formulas and layout: the module docstring.

    input_shape: (n_H, n_W, n_C) of one example; X is (m, n_H, n_W, n_C); n_y output units.
    batch_norm: default for every conv, residual and dense hidden layer (a layer's own
    "batch_norm" key overrides it). keep_probs in forward: one number = dropout after every dense
    hidden layer; a list = one keep probability per entry of `layers` (dropout on its output).
    """

    def __init__(self, layers, input_shape, n_y, output="softmax", init="he", init_scale=0.01,
                 batch_norm=False, leaky_slope=0.01, bn_momentum=0.9, bn_epsilon=1e-5, seed=1, backend=None):
        if output not in OUTPUTS:
            raise ValueError(f"output {output!r} is not supported: allowed {list(OUTPUTS)}")
        if output == "softmax" and n_y < 2:
            raise ValueError("output 'softmax' needs at least 2 output units")
        if init not in INITS:
            raise ValueError(f"init {init!r} is not supported: allowed {list(INITS)}")
        self.be = backend if backend is not None else get_backend()
        if self.be.name != "numpy":
            raise ValueError("convolutional layers run on the numpy backend only")
        self.specs = [_spec(layer) for layer in layers]
        for i, spec in enumerate(self.specs):
            if spec.get("activation", "relu") not in HIDDEN:
                raise ShapeError(i, f"activation {spec['activation']!r} is not supported: allowed {list(HIDDEN)}")
        self.plans = plan_layers(self.specs, input_shape)
        self.input_shape = tuple(int(n) for n in input_shape)
        self.output, self.init, self.init_scale, self.batch_norm = output, init, init_scale, batch_norm
        self.activation = "relu" if not self.specs else self.specs[0].get("activation", "relu")
        self.leaky_slope, self.bn_momentum, self.bn_epsilon = leaky_slope, bn_momentum, bn_epsilon
        self.loss = loss_for_output(output)
        self.L = len(self.specs) + 1
        self._rng = self.be.rng(seed + 1)
        self._last_out = None
        self._kp_memo = (None, None)
        n_last = self.plans[-1].out_shape[0] if self.plans else int(np.prod(self.input_shape))
        self.shapes = [self.input_shape] + [p.out_shape for p in self.plans] + [(n_y,)]  # A[0] .. A[L]
        self.layer_dims = [int(np.prod(s)) for s in self.shapes]  # units per layer, n[L] = n_y

        # Layers, their parameter entries, and the flat layout: every W first.
        self.layers, w_entries, other_entries = [], [], []
        for plan in self.plans:
            l, kind = plan.index + 1, plan.type
            bn = plan.spec.get("batch_norm")
            bn = batch_norm if bn is None else bool(bn)
            if kind == "conv":
                layer = Conv(self, plan, l, bn)
            elif kind == "residual":
                layer = Residual(self, plan, l, bn)
            elif kind == "pool":
                layer = Pool(self, plan, l)
            elif kind == "flatten":
                layer = Flatten(self, plan, l)
            else:
                layer = Dense(self, plan, l, bn)
            layer.bn = bn
            self.layers.append(layer)
            for suffix, shape, role in plan.params:
                if role == "W":
                    w_entries.append((f"W{l}{suffix}", shape, plan))
                elif bn:
                    other_entries += [(f"gamma{l}{suffix}", shape, plan), (f"beta{l}{suffix}", shape, plan)]
                else:
                    other_entries.append((f"b{l}{suffix}", shape, plan))
        L = self.L
        out_plan = LayerPlan(L - 1, {"type": "dense", "units": n_y}, (n_last,), (n_y,))
        self.out_layer = Dense(self, out_plan, L, False, g=make_activation(output, self.be.xp))
        w_entries.append((f"W{L}", (n_y, n_last), out_plan))
        other_entries.append((f"b{L}", (n_y, 1), out_plan))

        self.layout, start = {}, 0
        for name, shape, _ in w_entries + other_entries:
            size = int(np.prod(shape))
            self.layout[name] = (start, start + size, shape)
            start += size
        self.size = start
        self.n_weights = sum(int(np.prod(shape)) for _, shape, _ in w_entries)
        self.theta, self.grads = self.be.zeros(self.size), self.be.zeros(self.size)
        self.params = {n: self._view(self.theta, n) for n in self.layout}
        self.dparams = {"d" + n: self._view(self.grads, n) for n in self.layout}
        self.running, self._running_names = {}, {}
        for name, shape, _ in other_entries:
            if name.startswith("gamma"):
                key = name[len("gamma"):]
                self.params[name][...] = 1.0
                self.running["mu" + key] = self.be.zeros(shape)
                self.running["var" + key] = self.be.zeros(shape) + 1.0
                self._running_names["running_mean" + key] = "mu" + key
                self._running_names["running_var" + key] = "var" + key
        # Initial weights, drawn on the host in layer order (W[l] ~ N(0, std²)), engine.initializers'
        # schemes with n[l-1] = fan_in (f²·n_C[l-1] for a conv filter).
        rng = host_rng(seed)
        for name, shape, plan in w_entries:
            fan_in, fan_out = self._fans(shape)
            self.params[name][...] = rng.standard_normal(shape) * init_std(init, fan_in, fan_out, init_scale)
        for layer in self.layers + [self.out_layer]:
            layer.bind()
        # segments of theta[:n_weights] per layer with weights, for ‖W[l]‖
        self._w_groups = [[self.layout[w][:2] for w in layer.weights]
                          for layer in self.layers + [self.out_layer] if layer.weights]
        self._w, self._dw = self.theta[: self.n_weights], self.grads[: self.n_weights]

    @staticmethod
    def _fans(shape):
        """(fan_in, fan_out) of a W: conv (f, f, n_C_prev, n_C) → (f²·n_C_prev, f²·n_C);
        dense (n, n_prev) → (n_prev, n)."""
        if len(shape) == 4:
            f2 = shape[0] * shape[1]
            return f2 * shape[2], f2 * shape[3]
        return shape[1], shape[0]

    def _view(self, buffer, name):
        start, stop, shape = self.layout[name]
        return buffer[start:stop].reshape(shape)

    def __repr__(self):
        kinds = ", ".join(s["type"] for s in self.specs)
        return f"ConvNet([{kinds}], input {self.input_shape}, output={self.output!r}, {self.size} parameters)"

    # ------------------------------------------------------------------ forward / backward
    def forward(self, X, train=False, keep_probs=None, rng=None, update_running=True):
        """(A[L], cache). X: (m, n_H, n_W, n_C). train=True: batch norm with the batch's statistics,
        dropout (keep_probs: a number for every dense hidden layer, or one per layer)."""
        X = self._as_input(X)
        if train and X.shape[0] == 0:
            raise ValueError("forward in train mode needs at least one example (m >= 1)")
        probs = self._keep_probs(keep_probs) if train and keep_probs is not None else None
        rng = rng if rng is not None else self._rng
        xp, dtype = self.be.xp, self.be.dtype
        caches, masks, A = [], [None] * len(self.layers), X
        for i, layer in enumerate(self.layers):
            A, cache = layer.forward(A, train, update_running)
            caches.append(cache)
            if probs is not None and probs[i] < 1.0:
                masks[i] = D = dropout_mask(xp, rng, A.shape, probs[i], dtype)
                A = dropout(xp, A, D)
        ZL, out_cache = self.out_layer.linear(A, train, update_running)
        AL = self.out_layer.g.forward(ZL)
        self._last_out = (AL, ZL)
        return AL, ConvCache(caches, masks, out_cache, ZL, AL)

    def backward(self, cache, Y, l2=0.0, l1=0.0, reg_m=None):
        """Fill grads from dZ[L] = (A[L] − Y)/m down to layer 1 (the module docstring); L2 adds
        (λ/m_reg)W, L1 (λ/m_reg)sign(W) (m_reg = reg_m or the batch's m). Returns grads."""
        AL = cache.AL
        Y = self.be.asarray(Y)
        if Y.shape != AL.shape:
            raise ValueError(f"Y must have shape {AL.shape} (n_y, m) like A[L], got {Y.shape}")
        m = AL.shape[1]
        dZ = AL - Y
        dZ *= 1.0 / m
        dA = self.out_layer.backward_linear(dZ, cache.out, bool(self.layers))
        xp = self.be.xp
        for i in range(len(self.layers) - 1, -1, -1):
            if cache.masks[i] is not None:
                dA = dropout(xp, dA, cache.masks[i])
            dA = self.layers[i].backward(dA, cache.layers[i], i > 0)
        if l2:
            l2_grad(self._dw, self._w, l2, reg_m or m)
        if l1:
            l1_grad(xp, self._dw, self._w, l1, reg_m or m)
        return self.grads

    def hidden_outputs(self, X):
        """[A[1], ..., A[L]] in test mode: feature maps (m, n_H, n_W, n_C), then (n, m) units."""
        X = self._as_input(X)
        outs, A = [], X
        for layer in self.layers:
            A, _ = layer.forward(A, False, False)
            outs.append(A.copy())  # later in-place activations must not change what is returned
        return outs + [self.forward(X)[0]]

    def parameter_counts(self) -> list[int]:
        """Trainable parameters per layer l = 1..L (0 for pool and flatten)."""
        counts = [0] * self.L
        for name, (start, stop, _) in self.layout.items():
            l = int(name.lstrip("Wbgamet").split("_")[0])
            counts[l - 1] += stop - start
        return counts

    def weight_norms(self):
        return self._norms(self.theta)

    def grad_norms(self):
        return self._norms(self.grads)

    def _norms(self, flat):
        return [math.sqrt(sum(float(flat[a:b] @ flat[a:b]) for a, b in group)) for group in self._w_groups]

    def _described(self) -> str:
        return f"this network (input {self.input_shape}, {len(self.specs)} layers)"

    # ------------------------------------------------------------------ checks
    def _as_input(self, X):
        if type(X) is not self.be.xp.ndarray or X.dtype != self.be.dtype:
            X = self.be.asarray(X)
        if X.ndim != 4 or X.shape[1:] != self.input_shape:
            raise ValueError(f"X must have shape (m, {', '.join(map(str, self.input_shape))}) "
                             f"(m, n_H, n_W, n_C), got {X.shape}")
        return X

    def _keep_probs(self, keep_probs):
        key = keep_probs if isinstance(keep_probs, (int, float)) else list(keep_probs)
        if key != self._kp_memo[0]:
            if isinstance(key, (int, float)):  # a number: dropout after the dense hidden layers
                per_layer = [float(key) if s["type"] == "dense" else 1.0 for s in self.specs]
            else:
                per_layer = key
            self._kp_memo = (key, check_keep_probs(per_layer, len(self.specs)) if self.specs else None)
        return self._kp_memo[1]


__all__ = ["ConvNet", "ConvCache", "ShapeError", "LayerPlan", "plan_layers", "out_size", "padding_of",
           "im2col", "conv_forward", "conv_backward", "pool_forward", "pool_backward", "LAYER_TYPES"]
