"""An L-layer fully connected network: the course's forward and backward propagation.

    layer_dims = [n_x, n1, ..., n_y];  L = len(layer_dims) - 1;  no hidden layer = logistic /
    softmax / linear regression. Examples are columns: X is (n_x, m), A[0] = X.

Forward (`_forward`), l = 1..L:
    Z[l] = W[l] A[l-1] + b[l]       (batch norm on a hidden layer: Z̃[l] = γ[l] Z_norm[l] + β[l], no b)
    A[l] = g(Z[l])                  hidden layers;  A[L] = g_out(Z[L]) = ŷ
    A[l] = A[l] * D[l]/keep_prob    inverted dropout on hidden layers, training only
Backward (`_backward`), l = L..1:
    dZ[L] = (A[L] - Y)/m            every output/loss pair: sigmoid+BCE, softmax+CCE, linear+MSE(1/2m)
    dW[l] = dZ[l] A[l-1]ᵀ           db[l] = Σ_cols dZ[l]
    dA[l-1] = W[l]ᵀ dZ[l]           (times the forward's D[l-1]/keep_prob under dropout)
    dZ[l-1] = dA[l-1] * g'(Z[l-1])  (then back through batch norm, engine.batchnorm)
The 1/m sits in dZ[L] and so in every dZ[l]: dW[l] = dZ[l] A[l-1]ᵀ is the course's (1/m) dZ Aᵀ.
In the code, W[l], b[l], g[l], ... are lists indexed by the layer number l (index 0 unused).

Large passes (m·max(n[l]) >= engine.fast.LARGE_MIN values, NumPy backend) compute the same
formulas in engine/fast (bias fused into the matmul, reused buffers, threads); the tests hold them
equal to these passes. Small passes (the playground) and CuPy take the passes below.

Parameter storage: every trainable parameter lives in ONE flat buffer `theta`, laid out as
    [W1 | W2 | ... | WL | per layer l = 1..L: b[l], or γ[l], β[l] for a batch-norm layer]
with `params[name]` reshaped views into it; `grads` has the same layout with views `dparams`.
All W come first, so `theta[:n_weights]` is every weight (the L1/L2 penalties and their gradients
are whole-slice operations) and an optimizer updates the whole net with a few array operations.

Parameter names (params / get_parameters / set_parameters), all course shapes:
    W{l} (n[l], n[l-1]);  b{l} (n[l], 1) (absent in batch-norm layers, where it is redundant);
    gamma{l}, beta{l} (n[l], 1) for batch-norm hidden layers;
    running_mean{l}, running_var{l} (n[l], 1): the batch-norm running statistics (not trained),
    which the `running` dict holds under the keys mu{l}, var{l}.
Gradients: dparams["dW1"], ["db1"], ["dgamma1"], ["dbeta1"], ...

Regularization: L2 / L1 penalties and inverted dropout (engine.regularization), batch
normalization of every hidden layer (engine.batchnorm). The penalties divide by m_reg: the batch's
own m by default (the course's per-batch formula, what gradient checking of one full batch uses),
or `reg_m` when given: the Trainer passes the training-set size, so a mini-batch step descends an
unbiased estimate of the J it displays
    dW[l] = (1/b) Σ_batch dL/dW[l] + (λ/m_train) W[l],   J = data cost + (λ/2m_train) Σ‖W‖²_F

Checks: the constructor, forward's X and keep_probs, backward's and cost's Y and set_parameters
check their arguments, because the Network is public API (a library user calls it directly); the
Trainer's arguments were validated once already, by TrainConfig.

The cost of an output, prediction and the parameters by name are engine/net_base.py's NetBase,
which the ConvNet (engine/conv.py) shares.
"""
from __future__ import annotations

import math

from engine import batchnorm
from engine.activations import HIDDEN, OUTPUTS, make_activation
from engine.backend import get_backend, host_rng
from engine.cache import ForwardCache
from engine.fast import LARGE_MIN, FastPasses
from engine.initializers import INITS, init_weights
from engine.losses import loss_for_output
from engine.net_base import NetBase
from engine.regularization import check_keep_probs, dropout, dropout_mask, l1_grad, l2_grad


class Network(NetBase):
    """Fully connected net; see the module docstring for the formulas and parameter names."""

    def __init__(self, layer_dims, activation="relu", output="sigmoid", init="he", init_scale=0.01,
                 batch_norm=False, leaky_slope=0.01, bn_momentum=0.9, bn_epsilon=1e-5, seed=1,
                 backend=None):
        dims = [int(n) for n in layer_dims]
        if len(dims) < 2 or any(n < 1 for n in dims):
            raise ValueError(f"layer_dims {list(layer_dims)} must list at least 2 sizes, each >= 1")
        if activation not in HIDDEN:
            raise ValueError(f"activation {activation!r} is not supported: allowed {list(HIDDEN)}")
        if output not in OUTPUTS:
            raise ValueError(f"output {output!r} is not supported: allowed {list(OUTPUTS)}")
        if output == "softmax" and dims[-1] < 2:
            raise ValueError("output 'softmax' needs at least 2 output units (layer_dims[-1] >= 2)")
        if init not in INITS:
            raise ValueError(f"init {init!r} is not supported: allowed {list(INITS)}")
        if not 0.0 <= bn_momentum < 1.0:
            raise ValueError(f"bn_momentum {bn_momentum} must be in [0, 1)")
        if not bn_epsilon > 0.0:
            raise ValueError(f"bn_epsilon {bn_epsilon} must be > 0")
        self.be = backend if backend is not None else get_backend()
        xp = self.be.xp
        self.layer_dims, self.L = dims, len(dims) - 1
        self.activation, self.output, self.init, self.batch_norm = activation, output, init, batch_norm
        self.leaky_slope, self.bn_momentum, self.bn_epsilon = leaky_slope, bn_momentum, bn_epsilon
        self.loss = loss_for_output(output)
        self._rng = self.be.rng(seed + 1)  # dropout masks when the caller passes no rng
        self._last_out = None  # (A[L], Z[L]) of the latest forward, for a stable cost from Z[L]
        self._kp_memo = (None, None)  # (keep_probs given, validated per-layer list or None)

        # Layout of the flat buffers: all W first, then b or (γ, β) per layer.
        L = self.L
        bn_layer = [batch_norm and l < L for l in range(1, L + 1)]
        entries = [(f"W{l}", (dims[l], dims[l - 1])) for l in range(1, L + 1)]
        order = []  # display order of params: W1, b1 (or gamma1, beta1), W2, ...
        for l in range(1, L + 1):
            shape = (dims[l], 1)
            extra = [(f"gamma{l}", shape), (f"beta{l}", shape)] if bn_layer[l - 1] else [(f"b{l}", shape)]
            entries += extra
            order += [f"W{l}"] + [name for name, _ in extra]
        self.layout, start = {}, 0
        for name, (r, c) in entries:
            self.layout[name] = (start, start + r * c, (r, c))
            start += r * c
        self.size = start
        self.n_weights = sum(dims[l] * dims[l - 1] for l in range(1, L + 1))
        self.theta = self.be.zeros(self.size)
        self.grads = self.be.zeros(self.size)
        self.params = {n: self._view(self.theta, n) for n in order}
        self.dparams = {"d" + n: self._view(self.grads, n) for n in order}
        self.running = {}
        self._running_names = {}  # get/set_parameters name -> key of `running`
        for l in range(1, L + 1):
            if bn_layer[l - 1]:
                self.running[f"mu{l}"] = self.be.zeros((dims[l], 1))
                self.running[f"var{l}"] = self.be.zeros((dims[l], 1)) + 1.0
                self._running_names[f"running_mean{l}"] = f"mu{l}"
                self._running_names[f"running_var{l}"] = f"var{l}"
                self.params[f"gamma{l}"][...] = 1.0
        for l, W in enumerate(init_weights(init, dims, host_rng(seed), init_scale), 1):
            self.params[f"W{l}"][...] = self.be.asarray(W)
        self._w, self._dw = self.theta[: self.n_weights], self.grads[: self.n_weights]
        self._w_starts = [self.layout[f"W{l}"][0] for l in range(1, L + 1)]

        # The course's names, indexed by layer l = 1..L (index 0 unused): W[l], b[l], g[l], ...
        def by_layer(views, name):
            return [None] + [views.get(f"{name}{l}") for l in range(1, L + 1)]

        self._W, self._b, self._gamma, self._beta = (by_layer(self.params, n) for n in ("W", "b", "gamma", "beta"))
        self._dW, self._db, self._dgamma, self._dbeta = (by_layer(self.dparams, n) for n in ("dW", "db", "dgamma", "dbeta"))
        self._mu, self._var = by_layer(self.running, "mu"), by_layer(self.running, "var")
        self._bn = [False] + bn_layer
        hidden, out = make_activation(activation, xp, leaky_slope), make_activation(output, xp)
        self._g = [None] + [hidden.forward] * (L - 1) + [out.forward]
        self._g_back = [None] + [hidden.backward] * (L - 1) + [out.backward]
        # Large passes: engine/fast (CuPy always takes the course's passes).
        self._widest = max(dims)
        numpy_backend = self.be.name == "numpy"
        self._large_min = LARGE_MIN if numpy_backend else float("inf")
        self._fast = FastPasses(self) if numpy_backend else None

    def _view(self, buffer, name):
        start, stop, shape = self.layout[name]
        return buffer[start:stop].reshape(shape)

    def __repr__(self):
        return (f"Network({self.layer_dims}, activation={self.activation!r}, output={self.output!r}, "
                f"init={self.init!r}, batch_norm={self.batch_norm}, {self.size} parameters)")

    # ------------------------------------------------------------------ forward / backward
    def forward(self, X, train=False, keep_probs=None, rng=None, update_running=True):
        """A[L] and the cache for backward.

        train=False (prediction): batch norm uses the running statistics, no dropout.
        train=True: batch norm uses the batch's own μ, σ² (and updates the running averages unless
        update_running=False); dropout on hidden layer l with keep_probs[l-1] (a number = every
        layer) using `rng` (a Generator; the network's own seeded one when None).
        Large passes run in engine/fast and reuse buffers once nothing refers to them; A[L] and
        Z[L] are always new arrays.
        """
        X = self._as_array(X, self.layer_dims[0], "X")
        probs = self._keep_probs(keep_probs) if train and keep_probs is not None else None
        m = X.shape[1]
        if train and m == 0:
            raise ValueError("forward in train mode needs at least one example (m >= 1)")
        rng = rng if rng is not None else self._rng
        if m * self._widest < self._large_min:
            AL, cache = self._forward(X, train, probs, rng, update_running)
        else:
            AL, cache = self._fast.forward(self, X, train, probs, rng, update_running)
        self._last_out = (AL, cache.ZL)
        return AL, cache

    def _forward(self, X, train, probs, rng, update_running):
        """The course's forward propagation (module docstring), on new arrays."""
        xp, L, W, b, g = self.be.xp, self.L, self._W, self._b, self._g
        inputs, acts = [X], []  # A[l-1] fed to layer l; A[l] before dropout (for g')
        masks = [None] * (L - 1) if probs is not None else None
        norms = [None] * (L - 1) if self.batch_norm else None
        A = X                                                  # A[0] = X
        for l in range(1, L):
            if self._bn[l]:                                    # Z̃[l] = γ[l] Z_norm[l] + β[l]
                Z = self._bn_forward(l, W[l] @ A, train, update_running, norms)
            else:                                              # Z[l] = W[l] A[l-1] + b[l]
                Z = W[l] @ A
                Z += b[l]
            A = g[l](Z, Z)                                     # A[l] = g(Z[l]), in place
            acts.append(A)
            if masks is not None and probs[l - 1] < 1.0:       # inverted dropout
                masks[l - 1] = D = dropout_mask(xp, rng, A.shape, probs[l - 1], self.be.dtype)
                A = dropout(xp, A, D)                          # A[l] = A[l] * D[l]/keep_prob
            inputs.append(A)
        ZL = W[L] @ A                                          # Z[L] = W[L] A[L-1] + b[L]
        ZL += b[L]
        AL = g[L](ZL)                                          # A[L] = g_out(Z[L]) = ŷ
        return AL, ForwardCache(inputs, acts, masks, norms, ZL, AL)

    def backward(self, cache, Y, l2=0.0, l1=0.0, reg_m=None):
        """Fill `grads` (through the dparams views) for the examples of `cache`; returns grads.

        dZ[L] = (A[L] - Y)/m with m = the batch's examples, then per layer the formulas of the
        module docstring, dropout masks on dA[l], batch norm through engine.batchnorm.backward;
        L2 adds (λ/m_reg)W, L1 (λ/m_reg)sign(W), with m_reg = reg_m, or the batch's m when reg_m
        is None (the course's per-batch formula). The Trainer passes reg_m = m_train.
        The cache is only read, so backward may be repeated on it (e.g. with another λ).
        """
        AL = cache.AL
        if type(Y) is not type(AL) or Y.dtype != AL.dtype:
            Y = self.be.asarray(Y)
        if Y.shape != AL.shape:
            raise ValueError(f"Y must have shape {AL.shape} (n_y, m) like A[L], got {Y.shape}")
        m = AL.shape[1]
        dZ = AL - Y
        dZ *= 1.0 / m                                          # dZ[L] = (A[L] - Y)/m
        if cache.augs is None:
            self._backward(cache, dZ)
        else:
            self._fast.backward(self, cache, dZ)
        if l2:
            l2_grad(self._dw, self._w, l2, reg_m or m)         # dW[l] += (λ/m) W[l]
        if l1:
            l1_grad(self.be.xp, self._dw, self._w, l1, reg_m or m)  # dW[l] += (λ/m) sign(W[l])
        return self.grads

    def _backward(self, cache, dZ):
        """The course's backward propagation from dZ = dZ[L] (module docstring), layer L down to 1."""
        xp, L, W, dW, db, g_back = self.be.xp, self.L, self._W, self._dW, self._db, self._g_back
        for l in range(L, 0, -1):
            if l < L:
                dA = W[l + 1].T @ dZ                           # dA[l] = W[l+1]ᵀ dZ[l+1]
                if cache.masks is not None and cache.masks[l - 1] is not None:
                    dropout(xp, dA, cache.masks[l - 1], out=dA)  # the forward's D[l]/keep_prob
                dZ = g_back[l](dA, cache.acts[l - 1])          # dZ[l] = dA[l] * g'(Z[l])
                if self._bn[l]:
                    dZ = self._bn_backward(l, dZ, cache.bn)    # through Z̃ = γ Z_norm + β
            xp.matmul(dZ, cache.inputs[l - 1].T, out=dW[l])    # dW[l] = (1/m) dZ[l] A[l-1]ᵀ
            if not self._bn[l]:
                dZ.sum(axis=1, keepdims=True, out=db[l])       # db[l] = (1/m) Σ_cols dZ[l]

    def _bn_forward(self, l, Z, train, update_running, norms, out=None):
        """Z̃[l] = γ Z_norm + β (engine.batchnorm): with the batch's μ, σ² in training (Z is
        overwritten with Z_norm, kept in norms[l-1]; Z̃ into `out` when given; the running averages
        updated unless update_running=False), with the running averages in place on Z otherwise."""
        xp, gamma, beta, eps = self.be.xp, self._gamma[l], self._beta[l], self.bn_epsilon
        if not train:
            return batchnorm.forward_test(xp, Z, gamma, beta, self._mu[l], self._var[l], eps)
        Zt, Zn, inv_std, mu, var = batchnorm.forward_train(xp, Z, gamma, beta, eps, out=out)
        norms[l - 1] = (Zn, inv_std)
        if update_running:
            batchnorm.update_running(self._mu[l], self._var[l], mu, var, self.bn_momentum)
        return Zt

    def _bn_backward(self, l, dZt, norms):
        """dZ[l] from dZ̃[l], filling dγ[l] and dβ[l] (engine.batchnorm.backward)."""
        if norms[l - 1] is None:
            raise ValueError("backward through batch norm needs a forward pass with train=True")
        Zn, inv_std = norms[l - 1]
        return batchnorm.backward(dZt, Zn, inv_std, self._gamma[l], self._dgamma[l], self._dbeta[l])

    def _keep_probs(self, keep_probs):
        """check_keep_probs, memoized on the value (the trainer passes the same list every step)."""
        key = keep_probs if isinstance(keep_probs, (int, float)) else list(keep_probs)
        if key != self._kp_memo[0]:
            self._kp_memo = (key, check_keep_probs(key, self.L - 1))
        return self._kp_memo[1]

    def hidden_outputs(self, X):
        """[A[1], ..., A[L]] in test mode (for the neuron thumbnails; the last is the output)."""
        AL, cache = self.forward(X)
        return cache.acts + [AL]

    def weight_norms(self):
        """‖W[l]‖_F for l = 1..L."""
        return self._weight_norms(self.theta)

    def grad_norms(self):
        """‖dW[l]‖_F for l = 1..L (of the latest backward)."""
        return self._weight_norms(self.grads)

    def _weight_norms(self, flat):
        """√(Σ w²) over each layer's W segment of a flat buffer (all W come first): one pass for
        every layer, where a norm per layer costs a call each (a frame reads both lists)."""
        squares = flat[: self.n_weights] ** 2
        if self.be.name == "numpy":
            sums = self.be.xp.add.reduceat(squares, self._w_starts).tolist()
        else:
            sums = [float(squares[a:b].sum()) for a, b in zip(self._w_starts, self._w_starts[1:] + [self.n_weights])]
        return [math.sqrt(s) for s in sums]
