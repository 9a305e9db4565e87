"""The math of S networks of ONE architecture at once: stacked arrays with the run axis first.

Run s has the course's arrays with a leading index: W[l] (S, n[l], n[l-1]), b[l] (S, n[l], 1),
X (S, n_x, m), A[l] (S, n[l], m). np.matmul multiplies the (n[l], n[l-1]) @ (n[l-1], m) slices
of the session axis in one call, so a layer costs one call for the whole class:

    Z[l] = W[l] A[l-1] + b[l]          A[l] = g(Z[l])      (hidden),  A[L] = g_out(Z[L]) = ŷ
    dZ[L] = (A[L] - Y) / b             (b = the mini-batch's examples; every output/loss pair)
    dW[l] = dZ[l] A[l-1]ᵀ + (λ/m) W[l] db[l] = Σ_cols dZ[l]    dA[l-1] = W[l]ᵀ dZ[l]
    dZ[l] = dA[l] * g'(Z[l])           (m = the training-set size: engine/regularization.py)

Storage: every run's parameters are ONE row of a (S, P) buffer `theta`, laid out exactly like
engine.network.Network.theta ([W1 | ... | WL | b1 or γ1, β1 | ...]); `grads` likewise. A layer's
W[l] is the reshaped view theta[:, a:b] -> (S, n[l], n[l-1]) (rows of theta are contiguous, so no
copy). A run therefore moves in and out of a batch with one row copy, and an optimizer updates
every parameter of every run with a handful of (S, P) array operations, with per-run
hyperparameters as float64 (S, 1) columns (cast to the parameters' dtype where the one-run code
uses a Python scalar, so float32 runs round the same way).

Every operation is the same IEEE operation, in the same order, as the Network / Optimizer code
of one run (the same BLAS call per slice, the same reductions along the same contiguous axis),
so a run computes the same numbers inside a batch as alone (tests/engine/test_batched.py).
"""
from __future__ import annotations

import math

from engine import batchnorm
from engine.activations import make_activation

# ---------------------------------------------------------------- layout and views


class StackedLayout:
    """Where each parameter of a Network (the template) sits in a row of theta / running."""

    def __init__(self, network):
        self.dims, self.L = list(network.layer_dims), network.L
        self.size, self.n_weights = network.size, network.n_weights
        self.layout = dict(network.layout)  # name -> (start, stop, (rows, cols))
        self.w_starts = list(network._w_starts)
        self.bn = [bool(network.batch_norm) and l < self.L for l in range(1, self.L + 1)]
        self.running_keys = list(network.running)  # mu1, var1, mu2, ...
        self.running_layout, start = {}, 0
        for key in self.running_keys:
            n = network.running[key].shape[0]
            self.running_layout[key] = (start, start + n, (n, 1))
            start += n
        self.running_size = start
        self.activation, self.output = network.activation, network.output
        self.leaky_slope = network.leaky_slope
        self.bn_momentum, self.bn_epsilon = network.bn_momentum, network.bn_epsilon

    def view(self, buffer, name):
        """(S, rows, cols) view of parameter `name` in a (S, P) buffer (theta or grads)."""
        start, stop, shape = self.layout[name]
        return buffer[:, start:stop].reshape((buffer.shape[0],) + shape)

    def running_view(self, buffer, key):
        start, stop, shape = self.running_layout[key]
        return buffer[:, start:stop].reshape((buffer.shape[0],) + shape)

    def running_row(self, network) -> list:
        """A network's running statistics as the pieces of one row of the running buffer."""
        return [network.running[key].reshape(-1) for key in self.running_keys]


class StackedLayer:
    """Views of layer l (1..L) into stacked buffers: W, b / γ, β, their gradients, running stats."""

    __slots__ = ("W", "b", "gamma", "beta", "dW", "db", "dgamma", "dbeta", "rmean", "rvar", "bn")

    def __init__(self, lay: StackedLayout, l, theta, grads, running):
        self.bn = lay.bn[l - 1]
        self.W = lay.view(theta, f"W{l}")
        self.dW = lay.view(grads, f"W{l}") if grads is not None else None
        names = ("gamma", "beta") if self.bn else ("b",)
        self.b = self.gamma = self.beta = self.db = self.dgamma = self.dbeta = None
        for name in names:
            setattr(self, name, lay.view(theta, f"{name}{l}"))
            if grads is not None:
                setattr(self, "d" + name, lay.view(grads, f"{name}{l}"))
        self.rmean = lay.running_view(running, f"mu{l}") if self.bn else None
        self.rvar = lay.running_view(running, f"var{l}") if self.bn else None


def stacked_layers(lay, theta, grads, running) -> list:
    return [StackedLayer(lay, l, theta, grads, running) for l in range(1, lay.L + 1)]


# ---------------------------------------------------------------- activations and losses


class Activations:
    """g and g' of the hidden layers (engine.activations: element-wise, any shape) and the output,
    with softmax over the unit axis -2 of (S, n_y, m): a_j = e^{z_j - max z} / Σ_k e^{z_k - max z}."""

    def __init__(self, xp, lay: StackedLayout):
        self.xp = xp
        hidden = make_activation(lay.activation, xp, lay.leaky_slope)
        self.g, self.g_back = hidden.forward, hidden.backward
        self.output = lay.output
        if lay.output != "softmax":
            self._out = make_activation(lay.output, xp).forward

    def out(self, ZL):
        if self.output != "softmax":
            return self._out(ZL)
        xp = self.xp
        A = xp.subtract(ZL, ZL.max(axis=-2, keepdims=True))
        xp.exp(A, out=A)
        A /= A.sum(axis=-2, keepdims=True)
        return A


def data_cost(xp, output, ZL, AL, Y):
    """Per-run data cost J_data (S,) from Z[L], averaged over the m columns (engine.losses):
        sigmoid  (1/m) Σ [max(z,0) - z·y + log(1 + e^-|z|)]
        softmax  (1/m) ΣΣ y (log Σ_k e^{s_k} - s),  s = z - max z
        linear   (1/2m) Σ (ŷ - y)²"""
    m = ZL.shape[-1]
    if output == "sigmoid":
        per = xp.maximum(ZL, 0.0) - ZL * Y + xp.log1p(xp.exp(-xp.abs(ZL)))
        return per.sum(axis=(1, 2)).astype(float) / m
    if output == "softmax":
        S = ZL - ZL.max(axis=-2, keepdims=True)
        log_norm = xp.log(xp.exp(S).sum(axis=-2, keepdims=True))
        return (Y * (log_norm - S)).sum(axis=(1, 2)).astype(float) / m
    D = AL - Y
    return (D * D).sum(axis=(1, 2)).astype(float) / (2.0 * m)


def accuracy(xp, output, AL, Y):
    """Per-run accuracy (S,): binary ŷ > 0.5, multi-class argmax; None for regression."""
    if output == "linear":
        return None
    if output == "sigmoid":
        return xp.count_nonzero((AL > 0.5) == (Y > 0.5), axis=(1, 2)) / (AL.shape[1] * AL.shape[2])
    return xp.count_nonzero(xp.argmax(AL, axis=1) == xp.argmax(Y, axis=1), axis=1) / AL.shape[2]


def row_dots(xp, a):
    """Σ a² of every row of a (S, k) array, each as ONE BLAS dot (the same call as w.dot(w) on a
    run's flat buffer): (1, k) @ (k, 1) slices of the session axis."""
    return xp.matmul(a[:, None, :], a[:, :, None]).reshape(a.shape[0])


def penalty(xp, l2, l1, ww, w1, m):
    """(λ/2m) Σ‖W‖²_F + (λ₁/m) Σ|w| per run, ww = Σw², w1 = Σ|w| (S,), l2, l1 (S, 1) columns;
    0 where λ = 0 (as the Network, which skips the term)."""
    l2, l1 = l2[:, 0], l1[:, 0]
    reg = xp.where(l2 != 0.0, l2 / (2.0 * m) * ww, 0.0)
    if w1 is not None:
        reg = reg + xp.where(l1 != 0.0, l1 / m * w1, 0.0)
    return reg


# ---------------------------------------------------------------- forward / backward


class StackedCache:
    __slots__ = ("inputs", "acts", "masks", "bn", "ZL", "AL")

    def __init__(self, inputs, acts, masks, bn, ZL, AL):
        self.inputs, self.acts, self.masks, self.bn, self.ZL, self.AL = inputs, acts, masks, bn, ZL, AL


def forward(xp, lay, layers, act, X, train=False, masks=None, update_running=True):
    """A[L] and the cache of S runs on X (S, n_x, m).

    train=False: test mode (batch norm with running statistics, no dropout).
    train=True: batch norm with the mini-batch's μ, σ² (running averages updated unless
    update_running=False); masks(i, shape) returns the scaled dropout mask D/p (S, n, m) of hidden
    layer i (0-based) or None (no run drops units there)."""
    matmul = xp.matmul
    inputs, acts = [X], []
    L = lay.L
    mask_list = [None] * (L - 1)
    bn_cache = [None] * (L - 1)
    A = X
    for i, layer in enumerate(layers[:-1]):
        Z = matmul(layer.W, A)
        if layer.bn:
            if train:
                Z, Zn, inv_std, mu, var = batchnorm.forward_train(xp, Z, layer.gamma, layer.beta, lay.bn_epsilon)
                bn_cache[i] = (Zn, inv_std)
                if update_running:
                    batchnorm.update_running(layer.rmean, layer.rvar, mu, var, lay.bn_momentum)
            else:
                Z = batchnorm.forward_test(xp, Z, layer.gamma, layer.beta, layer.rmean, layer.rvar, lay.bn_epsilon)
        else:
            Z += layer.b
        A = act.g(Z, Z)  # in place: Z[l] is not needed once A[l] is known
        acts.append(A)
        if train and masks is not None:
            mask = masks(i, A.shape)
            if mask is not None:
                mask_list[i] = mask
                A = xp.multiply(A, mask)
        inputs.append(A)
    out = layers[-1]
    ZL = matmul(out.W, A)
    ZL += out.b
    AL = act.out(ZL)
    return AL, StackedCache(inputs, acts, mask_list, bn_cache, ZL, AL)


def backward(xp, lay, layers, act, cache, Y, w, dw, l2=None, l1=None, reg_m=None):
    """Fill the gradient views of `layers` for the batch of `cache` (see the module docstring).
    w / dw: the (S, n_weights) weight slices of theta / grads; l2, l1: (S, 1) columns or None;
    reg_m: the m of the penalties (the training-set size; None = the batch's m)."""
    matmul = xp.matmul
    inputs, AL = cache.inputs, cache.AL
    m = AL.shape[-1]
    dZ = AL - Y
    dZ *= 1.0 / m
    out = layers[-1]
    matmul(dZ, inputs[-1].swapaxes(-1, -2), out=out.dW)
    dZ.sum(axis=-1, keepdims=True, out=out.db)
    W_next = out.W
    for i in range(lay.L - 2, -1, -1):
        layer = layers[i]
        dA = matmul(W_next.swapaxes(-1, -2), dZ)
        if cache.masks[i] is not None:
            dA *= cache.masks[i]
        dZ = act.g_back(dA, cache.acts[i])
        if layer.bn:
            Zn, inv_std = cache.bn[i]
            dZ = batchnorm.backward(dZ, Zn, inv_std, layer.gamma, layer.dgamma, layer.dbeta)
            matmul(dZ, inputs[i].swapaxes(-1, -2), out=layer.dW)
        else:
            matmul(dZ, inputs[i].swapaxes(-1, -2), out=layer.dW)
            dZ.sum(axis=-1, keepdims=True, out=layer.db)
        W_next = layer.W
    m_reg = reg_m or m
    dt = w.dtype
    if l2 is not None:
        dw += (l2 / m_reg).astype(dt, copy=False) * w             # dW += (λ/m) W
    if l1 is not None:
        dw += (l1 / m_reg).astype(dt, copy=False) * xp.sign(w)    # dW += (λ₁/m) sign(W)


# ---------------------------------------------------------------- optimizers

KINDS = ("gd", "momentum", "rmsprop", "adam")


def update(xp, kind, theta, grads, lr, V=None, S=None, beta=None, beta1=None, beta2=None,
           eps=None, adam_factors=None):
    """One step of optimizer `kind` on the rows of theta (k, P) from grads, every hyperparameter a
    (k, 1) column (engine.optimizers, the same operations in the same order):

        gd        W -= α dW
        momentum  VdW = β VdW + (1-β) dW;       W -= α VdW
        rmsprop   SdW = β₂ SdW + (1-β₂) dW²;    W -= α dW / (√SdW + ε)
        adam      VdW = β₁ VdW + (1-β₁) dW;  SdW = β₂ SdW + (1-β₂) dW²
                  W -= α V̂dW / (√ŜdW + ε) = (α√c₂/c₁) VdW / (√SdW + ε√c₂),  c_i = 1 - β_iᵗ
                  adam_factors = (ε√c₂, α√c₂/c₁) columns, computed per run by adam_factors()."""
    dt = theta.dtype

    def c(col):  # a float64 coefficient column in the parameters' dtype (as a Python scalar is)
        return col.astype(dt, copy=False)

    if kind == "gd":
        tmp = xp.multiply(grads, c(lr))
        theta -= tmp
    elif kind == "momentum":
        tmp = xp.multiply(grads, c(1.0 - beta))
        V *= c(beta)
        V += tmp
        xp.multiply(V, c(lr), out=tmp)
        theta -= tmp
    elif kind == "rmsprop":
        tmp = xp.multiply(grads, grads)
        tmp *= c(1.0 - beta2)
        S *= c(beta2)
        S += tmp
        xp.sqrt(S, out=tmp)
        tmp += c(eps)
        xp.divide(grads, tmp, out=tmp)
        tmp *= c(lr)
        theta -= tmp
    elif kind == "adam":
        eps_c2, step = adam_factors
        tmp = xp.multiply(grads, c(1.0 - beta1))
        V *= c(beta1)
        V += tmp
        xp.multiply(grads, grads, out=tmp)
        tmp *= c(1.0 - beta2)
        S *= c(beta2)
        S += tmp
        xp.sqrt(S, out=tmp)
        tmp += c(eps_c2)
        xp.divide(V, tmp, out=tmp)
        tmp *= c(step)
        theta -= tmp
    else:
        raise ValueError(f"optimizer {kind!r} is not supported: allowed {list(KINDS)}")


def adam_factors(lrs, b1s, b2s, epss, ts, corrections):
    """Per run (Python floats, as engine.optimizers.Adam computes them, so the numbers match
    bit for bit): c₁ = 1-β₁ᵗ, c₂ = 1-β₂ᵗ (1 without bias correction), ε√c₂ and α√c₂/c₁."""
    eps_c2, step = [], []
    for lr, b1, b2, eps, t, corr in zip(lrs, b1s, b2s, epss, ts, corrections):
        if corr:
            c1, c2 = 1.0 - b1 ** t, 1.0 - b2 ** t
        else:
            c1 = c2 = 1.0
        root_c2 = math.sqrt(c2)
        eps_c2.append(eps * root_c2)
        step.append(lr * root_c2 / c1)
    return eps_c2, step
