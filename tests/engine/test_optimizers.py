"""Optimizers: two steps on a tiny vector, numbers worked by hand (θ0 = [1, -2])."""
import math
import tracemalloc

import numpy as np
import pytest
from pydantic import ValidationError

from engine.backend import get_backend
from engine.config import OptimizerConfig
from engine.optimizers import GD, Adam, Momentum, Nesterov, RMSprop, make_optimizer

G1 = [0.5, -1.0]
G2 = [1.0, 2.0]


def two_steps(opt, lr, between=None):
    theta = np.array([1.0, -2.0])
    opt.update(theta, np.array(G1), lr)
    first = theta.copy()
    if between:
        between(opt)
    opt.update(theta, np.array(G2), lr)
    return first, theta


def test_gradient_descent():
    # θ1 = [1 - 0.1·0.5, -2 + 0.1·1] ; θ2 = θ1 - 0.1·[1, 2]
    first, second = two_steps(GD(2), 0.1)
    np.testing.assert_allclose(first, [0.95, -1.9], rtol=0, atol=1e-15)
    np.testing.assert_allclose(second, [0.85, -2.1], rtol=0, atol=1e-15)


def test_momentum():
    # V1 = 0.1·[0.5, -1] = [0.05, -0.1]           θ1 = [1 - 0.005, -2 + 0.01]
    # V2 = 0.9·V1 + 0.1·[1, 2] = [0.145, 0.11]     θ2 = θ1 - 0.1·V2
    opt = Momentum(2, beta=0.9)
    first, second = two_steps(opt, 0.1)
    np.testing.assert_allclose(first, [0.995, -1.99], rtol=0, atol=1e-15)
    np.testing.assert_allclose(second, [0.9805, -2.001], rtol=0, atol=1e-15)
    np.testing.assert_allclose(opt.state["VdW"], [0.145, 0.11], rtol=0, atol=1e-15)
    assert opt.state["t"] == 2 and "SdW" not in opt.state


def test_nesterov_hand_worked():
    # V1 = 0.1·[0.5, -1] = [0.05, -0.1];  θ1 = θ0 - 0.1·(0.9·V1 + 0.1·G1) = θ0 - 0.1·[0.095, -0.19]
    # V2 = 0.9·V1 + 0.1·[1, 2] = [0.145, 0.11];  θ2 = θ1 - 0.1·(0.9·V2 + 0.1·G2) = θ1 - 0.1·[0.2305, 0.299]
    opt = Nesterov(2, beta=0.9)
    first, second = two_steps(opt, 0.1)
    np.testing.assert_allclose(first, [0.9905, -1.981], rtol=0, atol=1e-15)
    np.testing.assert_allclose(second, [0.96745, -2.0109], rtol=0, atol=1e-15)
    np.testing.assert_allclose(opt.state["VdW"], [0.145, 0.11], rtol=0, atol=1e-15)
    assert opt.hyperparameters == {"beta": 0.9} and opt.state["t"] == 2


def test_nesterov_is_for_lab_paths_only():
    """The playground's OptimizerConfig (Trainer, BatchedTrainer) does not accept it; the 2-D
    paths' PathOptimizerConfig does, and its update allocates no temporary array."""
    from engine.surfaces import PathOptimizerConfig
    with pytest.raises(ValidationError):
        OptimizerConfig(name="nesterov")
    opt = make_optimizer(PathOptimizerConfig(name="nesterov", beta=0.5), 200_000)
    assert isinstance(opt, Nesterov) and opt.beta == 0.5
    theta, grads = np.ones(200_000), np.full(200_000, 0.5)
    opt.update(theta, grads, 0.01)
    tracemalloc.start()
    opt.update(theta, grads, 0.01)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 10_000


def test_rmsprop_epsilon_outside_the_root():
    # β₂ = 0.75, ε = 1 (large so its place is visible), α = 0.1, g1 = [2, -4], g2 = [4, 0]
    # S1 = 0.25·[4, 16] = [1, 4]; θ1 = [1, -2] - 0.1·[2/(1+1), -4/(2+1)] = [0.9, -1.8666…]
    # S2 = 0.75·[1, 4] + 0.25·[16, 0] = [4.75, 3]; θ2 = θ1 - 0.1·[4/(√4.75 + 1), 0]
    opt = RMSprop(2, beta2=0.75, epsilon=1.0)
    theta = np.array([1.0, -2.0])
    opt.update(theta, np.array([2.0, -4.0]), 0.1)
    np.testing.assert_allclose(theta, [0.9, -2 + 0.4 / 3], rtol=0, atol=1e-15)
    opt.update(theta, np.array([4.0, 0.0]), 0.1)
    np.testing.assert_allclose(opt.state["SdW"], [4.75, 3.0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(theta, [0.9 - 0.4 / (math.sqrt(4.75) + 1), -2 + 0.4 / 3], rtol=0, atol=1e-15)


def test_rmsprop_first_step_with_defaults():
    # S1 = 0.001·g²  ->  √S1 = √0.001·|g|, so the step is α·g/(√0.001|g| + ε) ≈ 31.6·α·sign(g)
    opt = RMSprop(2)
    theta = np.array([1.0, -2.0])
    opt.update(theta, np.array(G1), 0.01)
    expected = [1 - 0.01 * 0.5 / (math.sqrt(0.00025) + 1e-8), -2 + 0.01 * 1 / (math.sqrt(0.001) + 1e-8)]
    np.testing.assert_allclose(theta, expected, rtol=0, atol=1e-14)
    assert abs(theta[0] - (1 - 0.01 / math.sqrt(0.001))) < 1e-6


# Adam, α = 0.1, β₁ = 0.9, β₂ = 0.999, ε = 1e-8:
# V1 = 0.1·g1 = [0.05, -0.1], S1 = 0.001·g1² = [0.00025, 0.001]
# V2 = 0.9·V1 + 0.1·g2 = [0.145, 0.11], S2 = 0.999·S1 + 0.001·g2² = [0.00124975, 0.004999]
V2, S2 = np.array([0.145, 0.11]), np.array([0.00124975, 0.004999])


def test_adam_with_bias_correction():
    # t = 1: V̂ = V1/0.1 = g1, Ŝ = S1/0.001 = g1², so the step is α·g/(|g| + ε) ≈ α·sign(g)
    opt = Adam(2)
    first, second = two_steps(opt, 0.1)
    np.testing.assert_allclose(first, [1 - 0.05 / (0.5 + 1e-8), -2 + 0.1 / (1 + 1e-8)], rtol=0, atol=1e-15)
    np.testing.assert_allclose(first, [0.9, -1.9], rtol=0, atol=1e-8)
    # t = 2: c1 = 1 - 0.9² = 0.19, c2 = 1 - 0.999² = 0.001999
    expected = first - 0.1 * (V2 / 0.19) / (np.sqrt(S2 / 0.001999) + 1e-8)
    np.testing.assert_allclose(second, expected, rtol=0, atol=1e-14)
    np.testing.assert_allclose(opt.state["VdW"], V2, rtol=0, atol=1e-16)
    np.testing.assert_allclose(opt.state["SdW"], S2, rtol=0, atol=1e-17)
    assert opt.state["t"] == 2


def test_adam_without_bias_correction_differs():
    # t = 1 uncorrected: α·V1/(√S1 + ε) = α·0.1/√0.001·sign(g) ≈ 3.16·α·sign(g): much bigger
    opt = Adam(2, bias_correction=False)
    first, second = two_steps(opt, 0.1)
    step = 0.1 * np.array([0.05, -0.1]) / (np.sqrt([0.00025, 0.001]) + 1e-8)
    np.testing.assert_allclose(first, [1.0, -2.0] - step, rtol=0, atol=1e-14)
    np.testing.assert_allclose(first, [1 - 0.316227766, -2 + 0.316227766], rtol=0, atol=1e-6)  # ε ignored
    np.testing.assert_allclose(second, first - 0.1 * V2 / (np.sqrt(S2) + 1e-8), rtol=0, atol=1e-14)


def test_configure_live_keeps_state():
    # momentum: step 1 with β = 0.9 (V1 = [0.05, -0.1]), then β = 0.5:
    # V2 = 0.5·V1 + 0.5·[1, 2] = [0.525, 0.95]; θ2 = [0.995, -1.99] - 0.1·V2 = [0.9425, -2.085]
    opt = Momentum(2, beta=0.9)
    _, second = two_steps(opt, 0.1, between=lambda o: o.configure(beta=0.5))
    np.testing.assert_allclose(second, [0.9425, -2.085], rtol=0, atol=1e-15)
    # Adam: switch bias correction off after step 1; V, S and t carry on
    opt = Adam(2)
    first, second = two_steps(opt, 0.1, between=lambda o: o.configure(bias_correction=False))
    np.testing.assert_allclose(second, first - 0.1 * V2 / (np.sqrt(S2) + 1e-8), rtol=0, atol=1e-14)
    assert opt.t == 2
    # Adam: β₁ changed to 0.5 after step 1 -> V2 = 0.5·V1 + 0.5·g2, correction 1 - 0.5²
    opt = Adam(2)
    first, second = two_steps(opt, 0.1, between=lambda o: o.configure(beta1=0.5))
    V = 0.5 * np.array([0.05, -0.1]) + 0.5 * np.array(G2)
    np.testing.assert_allclose(second, first - 0.1 * (V / 0.75) / (np.sqrt(S2 / 0.001999) + 1e-8),
                               rtol=0, atol=1e-14)


def test_configure_rejects_bad_values_without_changing_anything():
    opt = Adam(2)
    with pytest.raises(ValueError, match="beta2"):
        opt.configure(beta1=0.5, beta2=1.0)
    assert opt.beta1 == 0.9 and opt.beta2 == 0.999
    with pytest.raises(ValueError, match="epsilon"):
        opt.configure(epsilon=0)
    with pytest.raises(ValueError, match="unknown"):
        opt.configure(learning_rate=0.1)
    with pytest.raises(ValueError, match="bias_correction"):
        opt.configure(bias_correction="yes")


def test_reset_zeroes_state():
    opt = Adam(2)
    two_steps(opt, 0.1)
    opt.reset()
    assert opt.t == 0
    assert not opt.state["VdW"].any() and not opt.state["SdW"].any()
    first, _ = two_steps(opt, 0.1)  # the first corrected step is α·sign(g) again
    np.testing.assert_allclose(first, [0.9, -1.9], rtol=0, atol=1e-8)


def test_update_is_in_place_on_views():
    # the network's W/b are views into θ: they must see the update
    theta = np.array([1.0, -2.0, 3.0, 4.0])
    W = theta[:2].reshape(1, 2)
    grads = np.array([1.0, 1.0, 0.0, 0.0])
    GD(4).update(theta, grads, 0.5)
    np.testing.assert_array_equal(W, [[0.5, -2.5]])


def test_no_temporary_arrays_per_step():
    size = 200_000  # a temporary would be 1.6 MB
    for name in ("gd", "momentum", "rmsprop", "adam"):
        opt = make_optimizer(OptimizerConfig(name=name), size)
        theta, grads = np.ones(size), np.full(size, 0.5)
        opt.update(theta, grads, 0.01)
        tracemalloc.start()
        for _ in range(3):
            opt.update(theta, grads, 0.01)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < 10_000, f"{name} allocated {peak} bytes during update"


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match=r"\(3,\)"):
        GD(3).update(np.zeros(2), np.zeros(2), 0.1)


def test_make_optimizer_passes_the_config():
    opt = make_optimizer(OptimizerConfig(name="momentum", beta=0.5), 3)
    assert isinstance(opt, Momentum) and opt.beta == 0.5 and opt.hyperparameters == {"beta": 0.5}
    opt = make_optimizer({"name": "adam", "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6,
                          "bias_correction": False}, 3)
    assert isinstance(opt, Adam)
    assert opt.hyperparameters == {"beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6, "bias_correction": False}
    assert isinstance(make_optimizer(OptimizerConfig(name="rmsprop"), 3), RMSprop)
    assert type(make_optimizer(OptimizerConfig(name="gd"), 3)) is GD
    with pytest.raises(ValidationError):
        make_optimizer({"name": "adagrad"}, 3)


def test_float32_backend():
    be = get_backend("numpy", "float32")
    opt = make_optimizer(OptimizerConfig(name="adam"), 2, be)
    theta = np.array([1.0, -2.0], dtype=np.float32)
    opt.update(theta, np.array(G1, dtype=np.float32), 0.1)
    assert theta.dtype == np.float32 and opt.state["VdW"].dtype == np.float32
    np.testing.assert_allclose(theta, [0.9, -1.9], rtol=1e-6)
