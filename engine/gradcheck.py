"""Gradient checking: compare backprop's dθ with two-sided finite differences of J(θ).

    dθapprox[i] = (J(θ + ε e_i) - J(θ - ε e_i)) / 2ε              (error O(ε²))
    difference  = ‖dθapprox - dθ‖₂ / (‖dθapprox‖₂ + ‖dθ‖₂)
    verdict: difference < 1e-7 "great"; < 1e-3 "look closer" (≈1e-5 in the course);
             >= 1e-3 "likely a bug"

J includes the L2/L1 penalty, so the regularization gradients are checked too. The check runs in
train mode on the given batch: batch norm uses that batch's own μ and σ², and the running
statistics are left untouched. Dropout makes J random, so any keep_prob < 1 is refused.
θ is the network's flat `theta` buffer, perturbed in place one entry at a time and restored
exactly afterwards. A float32 network is checked through a float64 copy (ε = 1e-7 is below
float32 resolution). Cost: 2 forward passes per parameter — meant for small nets and batches.
"""
from __future__ import annotations

import numpy as np

from dataclasses import dataclass

from engine.backend import get_backend, to_numpy
from engine.regularization import check_keep_probs

GREAT, LOOK_CLOSER, BUG = "great", "look closer", "likely a bug"


@dataclass(frozen=True)
class GradCheck:
    difference: float
    verdict: str
    message: str


def verdict_for(difference: float) -> str:
    """The course's reading of a relative difference."""
    if difference < 1e-7:
        return GREAT
    if difference < 1e-3:
        return LOOK_CLOSER
    return BUG


def gradient_check(network, X, Y, l2=0.0, l1=0.0, epsilon=1e-7, keep_probs=None) -> GradCheck:
    """Check network.backward against finite differences on (X, Y); see the module docstring.

    Raises ValueError when dropout is on (any keep_prob < 1). Leaves θ and the batch-norm running
    statistics unchanged; `network.grads` holds backprop's gradients of (X, Y) afterwards.
    """
    if check_keep_probs(keep_probs, network.L - 1) is not None:
        raise ValueError(
            "gradient checking does not work with dropout (keep_prob < 1 makes the cost random): "
            "set keep_prob to 1 for the check, then turn dropout back on"
        )
    if not epsilon > 0:
        raise ValueError(f"epsilon {epsilon} must be > 0")
    net = network if network.be.dtype == "float64" else _float64_twin(network)
    xp = net.be.xp
    X, Y = net.be.asarray(X), net.be.asarray(Y)

    def J():
        AL, _ = net.forward(X, train=True, update_running=False)
        data, reg = net.cost(AL, Y, l2, l1)
        return data + reg

    AL, cache = net.forward(X, train=True, update_running=False)
    grad = to_numpy(net.backward(cache, Y, l2, l1)).tolist()

    theta = net.theta
    saved = theta.copy()
    approx = [0.0] * net.size
    try:
        for i in range(net.size):
            original = float(theta[i])
            theta[i] = original + epsilon
            plus = J()
            theta[i] = original - epsilon
            minus = J()
            theta[i] = original
            approx[i] = (plus - minus) / (2.0 * epsilon)
    finally:
        theta[...] = saved

    a, g = xp.asarray(approx), xp.asarray(grad)
    numerator = float(xp.linalg.norm(a - g))
    denominator = float(xp.linalg.norm(a)) + float(xp.linalg.norm(g))
    difference = numerator / denominator if denominator > 0 else 0.0
    verdict = verdict_for(difference)
    return GradCheck(difference, verdict, _message(net, difference, verdict, approx, grad, network))


def _message(net, difference, verdict, approx, grad, original) -> str:
    worst = max(range(len(grad)), key=lambda i: abs(approx[i] - grad[i]))
    where = _component_name(net, worst)
    text = {
        GREAT: "backprop matches the numerical gradient",
        LOOK_CLOSER: "probably fine, but look closer at the largest mismatching components",
        BUG: "backprop very likely has a bug",
    }[verdict]
    msg = (f"difference {difference:.3g}: {text}. Largest mismatch at {where}: backprop "
           f"{grad[worst]:.6g}, numerical {approx[worst]:.6g}.")
    if verdict != GREAT and net.activation in ("relu", "leaky_relu"):
        msg += " With ReLU, a Z within ε of 0 (the kink) also causes mismatches."
    if original is not net:
        msg += " (checked in float64: float32 is too coarse for ε = 1e-7)"
    return msg


def _component_name(net, index: int) -> str:
    """'dW2[1, 0]' for flat index `index` of the gradient buffer."""
    for name, (start, stop, shape) in net.layout.items():
        if start <= index < stop:  # W[l] (n[l], n[l-1]), a conv's W (f, f, n_C[l-1], n_C), b ...
            return f"d{name}[{', '.join(str(int(i)) for i in np.unravel_index(index - start, shape))}]"
    return f"dθ[{index}]"


def _float64_twin(network):
    """A float64 copy of `network` (same architecture, parameters and running statistics)."""
    if hasattr(network, "specs"):  # a ConvNet (engine/conv.py): its layers, not layer_dims
        twin = type(network)(
            network.specs, network.input_shape, network.layer_dims[-1], output=network.output, init=network.init,
            batch_norm=network.batch_norm, leaky_slope=network.leaky_slope, bn_momentum=network.bn_momentum,
            bn_epsilon=network.bn_epsilon, backend=get_backend(network.be.name, "float64"))
        twin.set_parameters(network.get_parameters())
        return twin
    twin = type(network)(
        network.layer_dims, activation=network.activation, output=network.output, init="zeros",
        batch_norm=network.batch_norm, leaky_slope=network.leaky_slope,
        bn_momentum=network.bn_momentum, bn_epsilon=network.bn_epsilon,
        backend=get_backend(network.be.name, "float64"),
    )
    twin.set_parameters(network.get_parameters())
    return twin
