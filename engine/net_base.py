"""What a dense Network (engine/network.py) and a ConvNet (engine/conv.py) share: the cost of an
output, prediction, and reading and writing the parameters by name.

A subclass provides: `be` (the backend), `params` (name → view of θ), `layout` (name → (start,
stop, shape)), `running` and `_running_names` (batch-norm running statistics), `layer_dims`
(units per layer, n[L] = n_y), `loss`, `output`, `_w` (the W views), `_last_out` ((A[L], Z[L])
of the latest forward), `forward` and `backward`.
"""
from __future__ import annotations

from typing import Mapping

from engine.backend import to_numpy
from engine.regularization import l1_cost, l2_cost


class NetBase:
    def _as_array(self, a, rows, what):
        """`a` as a backend array of the net's dtype with `rows` rows (clear error otherwise)."""
        if type(a) is not self.be.xp.ndarray or a.dtype != self.be.dtype:
            a = self.be.asarray(a)
        if a.ndim != 2 or a.shape[0] != rows:
            raise ValueError(f"{what} must have shape ({rows}, m) with examples as columns, got {a.shape}")
        return a

    def _described(self) -> str:
        """How an error names this network."""
        return f"this network (layer_dims {self.layer_dims})"

    # ------------------------------------------------------------------ cost
    def cost(self, AL, Y, l2=0.0, l1=0.0, ZL=None, reg_m=None):
        """(data_cost, reg_cost) as floats: the loss of the output averaged over the m columns of Y
        (engine.losses, from Z[L] when AL is the latest forward's output or ZL, its Z[L], is given;
        otherwise from AL clipped), and (λ2/2m_reg)Σ‖W‖²_F + (λ1/m_reg)Σ|w| with m_reg = reg_m, or
        Y's m when reg_m is None. The Trainer passes reg_m = m_train on every set, so the penalty
        is the same number in the train, dev, test and mini-batch costs.
        """
        Y = self._as_array(Y, self.layer_dims[-1], "Y")
        m = Y.shape[1]
        if m == 0:
            raise ValueError("the cost of an empty set (m = 0) is undefined")
        if Y.shape != AL.shape:
            raise ValueError(f"Y must have shape {AL.shape} like A[L], got {Y.shape}")
        xp, last = self.be.xp, self._last_out
        if ZL is not None:
            data = self.loss.from_logits(xp, ZL, Y)
        elif last is not None and last[0] is AL:
            data = self.loss.from_logits(xp, last[1], Y)
        else:
            data = self.loss.from_output(xp, AL, Y)
        reg = 0.0
        if l2:
            reg += l2_cost(self._w, l2, reg_m or m)
        if l1:
            reg += l1_cost(xp, self._w, l1, reg_m or m)
        return data, reg

    def loss_and_grads(self, X, Y, l2=0.0, l1=0.0, keep_probs=None, rng=None, reg_m=None):
        """Train-mode forward, backward (fills grads) and cost: returns (data_cost, reg_cost).
        reg_m as in backward / cost (None: the penalties divide by X's m)."""
        AL, cache = self.forward(X, train=True, keep_probs=keep_probs, rng=rng)
        self.backward(cache, Y, l2, l1, reg_m)
        return self.cost(AL, Y, l2, l1, reg_m=reg_m)

    # ------------------------------------------------------------------ prediction
    def predict_proba(self, X):
        """A[L] in test mode (no dropout, batch norm with running statistics), shape (n_y, m)."""
        return self.forward(X)[0]

    def predict(self, X):
        """Predictions, shape (n_y, m) or (1, m): sigmoid → ints 1[ŷ > 0.5]; softmax → class index
        argmax_j ŷ_j as a (1, m) int row; linear → the values ŷ."""
        AL = self.predict_proba(X)
        if self.output == "sigmoid":
            return (AL > 0.5).astype(int)
        if self.output == "softmax":
            return AL.argmax(axis=0)[None, :]
        return AL

    # ------------------------------------------------------------------ parameters
    def expected_shapes(self):
        """name -> shape of every parameter set_parameters expects (params, then running stats)."""
        shapes = {name: tuple(self.layout[name][2]) for name in self.params}
        for name, key in self._running_names.items():
            shapes[name] = self.running[key].shape
        return shapes

    def get_parameters(self):
        """name -> NumPy copy of every parameter (W1, b1, gamma1, beta1, ...) and running
        statistic (running_mean1, running_var1, ...), in course shapes."""
        out = {name: to_numpy(view).copy() for name, view in self.params.items()}
        for name, key in self._running_names.items():
            out[name] = to_numpy(self.running[key]).copy()
        return out

    def set_parameters(self, values: Mapping):
        """Copy parameters (arrays or nested lists, names as get_parameters) into the network.

        Every expected name must be present with its exact shape and finite values; otherwise a
        ValueError names the parameter and nothing is changed.
        """
        expected, network = self.expected_shapes(), self._described()
        missing = [n for n in expected if n not in values]
        if missing:
            raise ValueError(f"missing parameter {missing[0]!r} (shape {expected[missing[0]]}); "
                             f"{network} needs {list(expected)}")
        unknown = [n for n in values if n not in expected]
        if unknown:
            raise ValueError(f"unknown parameter {unknown[0]!r}: {network} has {list(expected)}")
        xp, arrays = self.be.xp, {}
        for name, shape in expected.items():
            try:
                arr = self.be.asarray(values[name])
            except (TypeError, ValueError) as exc:
                raise ValueError(f"parameter {name!r} is not a numeric array: {exc}") from None
            if arr.shape != shape:
                raise ValueError(f"parameter {name!r} has shape {arr.shape} but {network} needs {shape}")
            if not bool(xp.isfinite(arr).all()):
                raise ValueError(f"parameter {name!r} contains NaN or infinite values")
            if name.startswith("running_var") and bool((arr < 0).any()):
                raise ValueError(f"parameter {name!r} must be >= 0 (a variance)")
            arrays[name] = arr
        for name, arr in arrays.items():
            if name in self._running_names:
                self.running[self._running_names[name]][...] = arr
            else:
                self.params[name][...] = arr
