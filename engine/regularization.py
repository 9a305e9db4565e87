"""Regularization: L2 and L1 penalties on the weights, and inverted dropout.

The network stores every W[l] back to back at the start of its flat buffer, so `w` below is
that one slice (all weights, no biases/γ/β) and `dw` the matching slice of the gradients:
each penalty is one or two whole-slice array operations, whatever the number of layers.

    L2   J += (λ/2m) Σ_l ‖W[l]‖²_F        dW[l] += (λ/m) W[l]        ("weight decay")
    L1   J += (λ/m)  Σ_l Σ |w|            dW[l] += (λ/m) sign(W[l])  (sign(0) = 0)

Which m: the course writes these for one batch, m = the examples the cost is taken over, and
that is what every function here computes with the `m` it is given. The Network uses the
batch's own m unless told otherwise (`reg_m`); the Trainer always passes m = the TRAINING-SET
size, for the mini-batch gradients and for every reported cost (train, dev, test, mini-batch).
So the penalty is the same number on every set, and a mini-batch step with b examples descends

    dW[l] = (1/b) Σ_{i in batch} dL⁽ⁱ⁾/dW[l] + (λ/m_train) W[l]

whose batch-size-weighted mean over one epoch (Σ_t (b_t/m_train)·dW{t}, at fixed θ) is exactly
the gradient of the displayed J = (1/m_train) Σ_i L⁽ⁱ⁾ + (λ/2m_train) Σ‖W‖²: λ means the same
at every batch size. (With the per-batch m, batch 32 on m = 100 pulled the weights 8.6× as hard
per epoch as the J shown, the leftover batch of 4 twenty-five times as hard per step.)
Gradient checking of one full batch (engine.gradcheck) uses the per-batch m: there m is that batch.

Inverted dropout on hidden layer l with keep probability p (training only, never at prediction):
    D = rand(shape) < p,   A[l] = A[l] * D / p,   and in backprop dA[l] = dA[l] * D / p
Dividing by p keeps the expected value of A[l] unchanged, so prediction needs no rescaling.
"""
from __future__ import annotations


def l2_cost(w, lambd: float, m: int) -> float:
    """(λ/2m) Σ w² over the flat weight slice `w`."""
    return lambd / (2.0 * m) * float(w @ w)


def l2_grad(dw, w, lambd: float, m: int) -> None:
    """dw += (λ/m) w, in place."""
    dw += (lambd / m) * w


def l1_cost(xp, w, lambd: float, m: int) -> float:
    """(λ/m) Σ |w| over the flat weight slice `w`."""
    return lambd / m * float(xp.abs(w).sum())


def l1_grad(xp, dw, w, lambd: float, m: int) -> None:
    """dw += (λ/m) sign(w), in place."""
    dw += (lambd / m) * xp.sign(w)


def dropout_mask(xp, rng, shape, keep_prob: float, dtype):
    """The scaled inverted-dropout mask D / keep_prob with D = rand(shape) < keep_prob.

    `rng` is a Generator of the backend (`Backend.rng`) or a NumPy Generator (converted).
    Multiplying A (forward) and dA (backward) by this mask (`dropout`) is the whole of dropout.
    """
    r = rng.random(shape, dtype=dtype)
    if not isinstance(r, xp.ndarray):
        r = xp.asarray(r)
    return xp.divide(xp.less(r, keep_prob), keep_prob, out=r)  # reuse r's memory for the mask


def dropout(xp, A, mask, out=None):
    """Inverted dropout applied: A * D/keep_prob with `mask` = dropout_mask(...) = D/keep_prob.
    Forward applies it to A[l]; backprop applies the same mask to dA[l] (out=dA: in place)."""
    return xp.multiply(A, mask, out=out)


def check_keep_probs(keep_probs, hidden_layers: int) -> list | None:
    """keep_probs as a list with one p per hidden layer, or None when no dropout applies.

    Accepts one number (used for every hidden layer) or a sequence of `hidden_layers` numbers,
    each in (0, 1]; raises ValueError naming the offending value otherwise.
    """
    if keep_probs is None:
        return None
    if isinstance(keep_probs, (int, float)):
        probs = [float(keep_probs)] * hidden_layers
    else:
        probs = [float(p) for p in keep_probs]
        if len(probs) != hidden_layers:
            raise ValueError(
                f"keep_probs has {len(probs)} values but the network has {hidden_layers} hidden "
                "layers: give one per hidden layer or a single number"
            )
    for i, p in enumerate(probs):
        if not 0.0 < p <= 1.0:
            raise ValueError(f"keep_probs[{i}] = {p} must be in (0, 1]")
    if all(p == 1.0 for p in probs):
        return None
    return probs
