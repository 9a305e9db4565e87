"""engine.network.Network: flat buffers, hand-worked forward/backward, prediction, parameters."""
import math

import numpy as np
import pytest

from engine.fast import parallel
from engine.backend import get_backend
from engine.network import Network


# ------------------------------------------------------------------ flat buffers and views
def test_parameters_are_views_of_one_flat_buffer_weights_first():
    net = Network([2, 3, 2], output="softmax")
    assert net.theta.ndim == 1 and net.theta.size == net.size == 6 + 3 + 6 + 2
    assert net.n_weights == 12
    for name, view in net.params.items():
        assert np.shares_memory(view, net.theta), name
        assert np.shares_memory(net.dparams["d" + name], net.grads), name
    assert net.params["W1"].shape == (3, 2) and net.params["b1"].shape == (3, 1)
    assert net.params["W2"].shape == (2, 3) and net.params["b2"].shape == (2, 1)
    net.theta[:] = np.arange(net.size)
    np.testing.assert_array_equal(net.params["W1"].ravel(), np.arange(6))      # W1, W2 first
    np.testing.assert_array_equal(net.params["W2"].ravel(), np.arange(6, 12))
    np.testing.assert_array_equal(net.params["b1"].ravel(), [12, 13, 14])


def test_backward_fills_the_same_grads_buffer():
    net = Network([2, 4, 1], activation="tanh", output="sigmoid")
    grads_before = net.grads
    X, Y = np.random.default_rng(0).standard_normal((2, 5)), np.ones((1, 5))
    AL, cache = net.forward(X, train=True)
    assert net.backward(cache, Y) is grads_before
    assert net.grads is grads_before and grads_before.any()


def test_zero_hidden_layers_is_logistic_regression_by_hand():
    # W = [0.5, -1], b = 0; x(1) = (2, 1) → z = 0, ŷ = 0.5; x(2) = (0, 1) → z = -1, ŷ = σ(-1)
    net = Network([2, 1], output="sigmoid", init="zeros")
    assert net.L == 1
    net.params["W1"][...] = [[0.5, -1.0]]
    X, Y = np.array([[2.0, 0.0], [1.0, 1.0]]), np.array([[1.0, 0.0]])
    s = 1 / (1 + math.e)  # σ(-1) = 0.2689414213699951
    AL, cache = net.forward(X, train=True)
    np.testing.assert_allclose(AL, [[0.5, s]])
    data, reg = net.cost(AL, Y)
    assert data == pytest.approx(-(math.log(0.5) + math.log(1 - s)) / 2)  # 0.5032044...
    net.backward(cache, Y)
    dZ = np.array([[0.5 - 1.0, s - 0.0]]) / 2                              # (A - Y)/m
    np.testing.assert_allclose(net.dparams["dW1"], [[dZ[0, 0] * 2, dZ.sum()]])  # [-0.5, -0.1155...]
    np.testing.assert_allclose(net.dparams["db1"], [[dZ.sum()]])
    # L2 λ = 0.4: J += (0.4/4)·1.25; dW += (0.4/2)·W.  L1 λ = 0.4: J += (0.4/2)·1.5; dW += 0.2·sign(W)
    net.backward(cache, Y, l2=0.4)
    np.testing.assert_allclose(net.dparams["dW1"], [[-0.5 + 0.1, dZ.sum() - 0.2]])
    assert net.cost(AL, Y, l2=0.4)[1] == pytest.approx(0.125)
    net.backward(cache, Y, l1=0.4)
    np.testing.assert_allclose(net.dparams["dW1"], [[-0.5 + 0.2, dZ.sum() - 0.2]])
    assert net.cost(AL, Y, l1=0.4)[1] == pytest.approx(0.3)


def test_two_layer_relu_net_forward_backward_by_hand():
    net = Network([2, 2, 1], activation="relu", output="linear", init="zeros")
    net.set_parameters({"W1": [[1.0, 2.0], [-1.0, 1.0]], "b1": [[0.5], [0.0]],
                        "W2": [[2.0, -1.0]], "b2": [[0.1]]})
    X = np.array([[1.0, 2.0], [-1.0, 0.0]])   # x(1) = (1, -1), x(2) = (2, 0)
    Y = np.array([[0.0, 5.0]])
    AL, cache = net.forward(X, train=True)
    # Z1 = [[-0.5, 2.5], [-2, -2]] → A1 = [[0, 2.5], [0, 0]];  Z2 = [0.1, 5.1]
    np.testing.assert_allclose(cache.inputs[1], [[0.0, 2.5], [0.0, 0.0]])
    np.testing.assert_allclose(AL, [[0.1, 5.1]])
    assert net.cost(AL, Y) == (pytest.approx(0.005), 0.0)          # (0.01 + 0.01)/(2·2)
    net.backward(cache, Y)
    # dZ2 = [0.05, 0.05]; dW2 = dZ2 A1ᵀ = [0.125, 0]; db2 = 0.1
    # dA1 = W2ᵀ dZ2 = [[0.1, 0.1], [-0.05, -0.05]]; dZ1 = dA1·1[Z1 > 0] = [[0, 0.1], [0, 0]]
    # dW1 = dZ1 Xᵀ = [[0.2, 0], [0, 0]]; db1 = [0.1, 0]
    g = net.dparams
    np.testing.assert_allclose(g["dW2"], [[0.125, 0.0]])
    np.testing.assert_allclose(g["db2"], [[0.1]])
    np.testing.assert_allclose(g["dW1"], [[0.2, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(g["db1"], [[0.1], [0.0]])


def test_loss_and_grads_matches_forward_backward_cost():
    net = Network([2, 4, 3], activation="tanh", output="softmax", seed=2)
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((2, 7)), np.eye(3)[:, rng.integers(0, 3, 7)]
    costs = net.loss_and_grads(X, Y, l2=0.3)
    grads = net.grads.copy()
    net.grads[...] = 0
    AL, cache = net.forward(X, train=True)
    net.backward(cache, Y, l2=0.3)
    assert costs == net.cost(AL, Y, l2=0.3)
    np.testing.assert_array_equal(net.grads, grads)


# ------------------------------------------------------------------ prediction
def test_predict_per_output():
    X = np.random.default_rng(0).standard_normal((2, 9))
    sig = Network([2, 3, 1], output="sigmoid")
    p = sig.predict(X)
    assert p.shape == (1, 9)
    np.testing.assert_array_equal(p, (sig.predict_proba(X) > 0.5).astype(int))
    soft = Network([2, 3, 4], output="softmax")
    P = soft.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=0), 1.0)
    np.testing.assert_array_equal(soft.predict(X), P.argmax(axis=0)[None, :])
    lin = Network([2, 3, 2], output="linear")
    np.testing.assert_array_equal(lin.predict(X), lin.predict_proba(X))


def test_predict_on_a_100x100_grid():
    net = Network([2, 8, 8, 1], activation="tanh")
    xs = np.linspace(-6, 6, 100)
    G = np.stack([g.ravel() for g in np.meshgrid(xs, xs)])
    P = net.predict_proba(G)
    assert P.shape == (1, 10_000) and np.isfinite(P).all()


def test_hidden_outputs_are_each_layers_activation():
    net = Network([2, 3, 2, 1], activation="tanh", output="sigmoid", seed=3)
    X = np.random.default_rng(0).standard_normal((2, 5))
    A1, A2, A3 = net.hidden_outputs(X)
    p = net.params
    np.testing.assert_allclose(A1, np.tanh(p["W1"] @ X + p["b1"]))
    np.testing.assert_allclose(A2, np.tanh(p["W2"] @ A1 + p["b2"]))
    np.testing.assert_allclose(A3, 1 / (1 + np.exp(-(p["W3"] @ A2 + p["b3"]))))


def test_weight_and_grad_norms_per_layer():
    net = Network([2, 2, 1], init="zeros")
    net.params["W1"][...] = [[3.0, 4.0], [0.0, 0.0]]
    net.params["W2"][...] = [[1.0, 1.0]]
    assert net.weight_norms() == pytest.approx([5.0, math.sqrt(2)])
    net.dparams["dW1"][...] = [[1.0, 2.0], [2.0, 4.0]]
    assert net.grad_norms() == pytest.approx([5.0, 0.0])


# ------------------------------------------------------------------ parameters
def test_set_parameters_round_trip():
    a = Network([2, 4, 3, 1], batch_norm=True, seed=1)
    a.forward(np.random.default_rng(0).standard_normal((2, 8)), train=True)  # move running stats
    b = Network([2, 4, 3, 1], batch_norm=True, seed=2)
    b.set_parameters(a.get_parameters())
    np.testing.assert_array_equal(b.theta, a.theta)
    for k in a.running:
        np.testing.assert_array_equal(b.running[k], a.running[k])
    X = np.random.default_rng(1).standard_normal((2, 5))
    np.testing.assert_array_equal(b.predict_proba(X), a.predict_proba(X))
    got = a.get_parameters()
    got["W1"][...] = 99.0  # a copy, not a view
    assert not (a.params["W1"] == 99.0).any()


@pytest.mark.parametrize("change, message", [
    (lambda p: p.pop("b2"), "missing parameter 'b2'"),
    (lambda p: p.update(W9=np.zeros((1, 1))), "unknown parameter 'W9'"),
    (lambda p: p.update(W2=np.zeros((4, 2))), r"'W2' has shape \(4, 2\) .* needs \(2, 4\)"),
    (lambda p: p.update(b1=np.zeros(4)), r"'b1' has shape \(4,\)"),
    (lambda p: p.update(W1=[[np.nan, 0.0]] * 4), "'W1' contains NaN"),
    (lambda p: p.update(W1="abc"), "'W1' is not a numeric array"),
])
def test_set_parameters_errors_name_the_parameter(change, message):
    net = Network([2, 4, 2, 1])
    before = net.theta.copy()
    params = net.get_parameters()
    params["W1"] = params["W1"] + 1.0
    change(params)
    with pytest.raises(ValueError, match=message):
        net.set_parameters(params)
    np.testing.assert_array_equal(net.theta, before)  # nothing half-applied


def test_set_parameters_needs_running_stats_with_batch_norm():
    net = Network([2, 3, 1], batch_norm=True)
    params = net.get_parameters()
    del params["running_var1"]
    with pytest.raises(ValueError, match="missing parameter 'running_var1'"):
        net.set_parameters(params)


# ------------------------------------------------------------------ dtypes, backends, errors
def test_float32_network_stays_float32():
    net = Network([2, 5, 1], activation="tanh", batch_norm=True, backend=get_backend("numpy", "float32"))
    X, Y = np.random.default_rng(0).standard_normal((2, 6)), np.ones((1, 6))  # float64 inputs
    AL, cache = net.forward(X, train=True)
    assert AL.dtype == np.float32 and net.theta.dtype == net.grads.dtype == np.float32
    net.backward(cache, Y)
    assert np.isfinite(net.grads).all() and net.grads.any()


def test_cupy_request_without_cupy_is_a_clear_error():
    import importlib.util

    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("CuPy is installed")
    with pytest.raises(ValueError, match="CuPy is not installed"):
        Network([2, 1], backend=get_backend("cupy"))


def test_input_shape_errors():
    net = Network([3, 2, 1])
    with pytest.raises(ValueError, match=r"X must have shape \(3, m\)"):
        net.forward(np.zeros((2, 5)))
    AL, cache = net.forward(np.zeros((3, 5)), train=True)
    with pytest.raises(ValueError, match=r"Y must have shape \(1, 5\)"):
        net.backward(cache, np.zeros((1, 4)))


@pytest.mark.parametrize("kwargs, message", [
    ({"layer_dims": [3]}, "at least 2 sizes"),
    ({"layer_dims": [3, 0, 1]}, "at least 2 sizes, each >= 1"),
    ({"activation": "gelu"}, "activation 'gelu'"),
    ({"output": "tanh"}, "output 'tanh'"),
    ({"output": "softmax"}, "softmax' needs at least 2 output units"),
    ({"init": "ones"}, "init 'ones'"),
    ({"bn_momentum": 1.0}, r"bn_momentum 1.0 must be in \[0, 1\)"),
    ({"bn_epsilon": 0.0}, "bn_epsilon"),
    ({"activation": "leaky_relu", "leaky_slope": 2.0}, "leaky_slope"),
])
def test_constructor_errors(kwargs, message):
    kwargs = {"layer_dims": [2, 3, 1], **kwargs}
    with pytest.raises(ValueError, match=message):
        Network(**kwargs)


# ------------------------------------------------------------------ fast paths (fused bias, reused buffers, threads)
def _reference_grads(net, X, Y):
    """A[L] and (dW[l], db[l]) of a sigmoid/softmax net without batch norm or dropout, from the
    module docstring's formulas in plain NumPy (bias added apart, no buffers, one thread)."""
    p = net.get_parameters()
    g = {"relu": (lambda z: np.maximum(z, 0), lambda a: (a > 0) * 1.0),
         "tanh": (np.tanh, lambda a: 1 - a * a)}[net.activation]
    As = [X]
    for l in range(1, net.L):
        As.append(g[0](p[f"W{l}"] @ As[-1] + p[f"b{l}"]))
    ZL = p[f"W{net.L}"] @ As[-1] + p[f"b{net.L}"]
    if net.output == "sigmoid":
        AL = 1 / (1 + np.exp(-ZL))
    else:
        E = np.exp(ZL - ZL.max(axis=0))
        AL = E / E.sum(axis=0)
    dZ, grads = (AL - Y) / X.shape[1], {}
    for l in range(net.L, 0, -1):
        grads[f"dW{l}"], grads[f"db{l}"] = dZ @ As[l - 1].T, dZ.sum(axis=1, keepdims=True)
        if l > 1:
            dZ = (p[f"W{l}"].T @ dZ) * g[1](As[l - 1])
    return AL, grads


@pytest.mark.parametrize("dims, activation, output", [
    ([3, 300, 300, 1], "relu", "sigmoid"),   # 300 × 1000 ≥ MIN_SIZE: threaded passes, outer product
    ([3, 300, 280, 3], "tanh", "softmax"),   # dA[L-1] = W[L]ᵀ dZ[L] through BLAS
    ([400, 300, 1], "relu", "sigmoid"),      # n_x > n[1]: bias of layer 1 added apart, threaded
    ([2, 8, 8, 1], "tanh", "sigmoid"),       # playground size: everything inline
    ([5, 3, 4, 1], "relu", "sigmoid"),       # n_x > n[1] on a small net
    ([2, 2000, 1], "relu", "sigmoid"),       # narrow layer 1: [dW | db] block by block, threaded
    ([5, 1000, 40, 3], "tanh", "softmax"),   # a wide layer under a narrow one
])
def test_fast_paths_match_the_formulas(dims, activation, output, monkeypatch):
    net = Network(dims, activation=activation, output=output, seed=4)
    rng = np.random.default_rng(5)
    net.theta[...] = rng.normal(0.0, 0.1, net.size)  # non-zero biases
    m = 1000
    X = rng.standard_normal((dims[0], m))
    Y = np.eye(dims[-1])[:, rng.integers(0, dims[-1], m)] if output == "softmax" else (rng.random((1, m)) > 0.5) * 1.0
    AL_ref, ref = _reference_grads(net, X, Y)
    for _ in range(2):  # the second pass runs in reused buffers
        AL, cache = net.forward(X, train=True)
        net.backward(cache, Y)
        np.testing.assert_allclose(AL, AL_ref, rtol=1e-10)
        for name, expected in ref.items():
            np.testing.assert_allclose(net.dparams[name], expected, rtol=1e-9, atol=1e-15, err_msg=name)
    threaded = {}
    for threads, tasks in [(parallel.THREADS, parallel.TASKS_PER_THREAD), (2, 3), (3, 1), (4, 7)]:
        # every thread split a machine may make (core count, tasks per thread)
        monkeypatch.setattr(parallel, "THREADS", threads)
        monkeypatch.setattr(parallel, "TASKS_PER_THREAD", tasks)
        monkeypatch.setattr(parallel, "_pool", None)
        net.backward(net.forward(X, train=True)[1], Y)
        threaded[threads, tasks] = net.grads.copy()
    monkeypatch.setattr(parallel, "MIN_SIZE", float("inf"))  # every element-wise step on one thread
    net.backward(net.forward(X, train=True)[1], Y)
    for split, grads in threaded.items():  # bit-identical: the splits cut only between blocks
        np.testing.assert_array_equal(grads, net.grads, err_msg=f"threads, tasks per thread = {split}")


def test_gradient_check_when_the_input_is_wider_than_the_first_layer():
    from engine.gradcheck import gradient_check

    rng = np.random.default_rng(0)
    net = Network([6, 3, 4, 1], activation="tanh", seed=0)
    net.theta[...] = rng.normal(0.0, 0.8, net.size)
    X, Y = rng.standard_normal((6, 7)), (rng.random((1, 7)) > 0.5) * 1.0
    assert gradient_check(net, X, Y, l2=0.3).difference < 1e-7


@pytest.mark.parametrize("batch_norm, keep_probs", [(False, None), (False, 0.6), (True, None), (True, 0.6)])
def test_a_kept_cache_or_hidden_output_is_never_overwritten(batch_norm, keep_probs):
    net = Network([2, 5, 4, 1], activation="relu", batch_norm=batch_norm, seed=1)
    net._large_min = net._fast.work.pool_min = 0  # the large-pass path, buffers kept, at this small size
    rng = np.random.default_rng(0)
    X1, X2, Y = rng.standard_normal((2, 9)), rng.standard_normal((2, 9)), np.ones((1, 9))
    AL1, c1 = net.forward(X1, train=True, keep_probs=keep_probs, rng=np.random.default_rng(1),
                          update_running=False)
    kept = [a.copy() for a in c1.inputs + c1.acts]
    net.backward(c1, Y)
    grads1 = net.grads.copy()
    hidden = net.hidden_outputs(X1)
    hidden_kept = [a.copy() for a in hidden]
    for _ in range(3):  # later passes with the same m, train and test mode
        net.backward(net.forward(X2, train=True, keep_probs=keep_probs, update_running=False)[1], Y)
        net.hidden_outputs(X2)
    for a, b in zip(c1.inputs + c1.acts, kept):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(hidden, hidden_kept):
        np.testing.assert_array_equal(a, b)
    net.backward(c1, Y)  # still a valid cache
    np.testing.assert_array_equal(net.grads, grads1)


def test_work_buffers_are_reused_once_nothing_refers_to_them():
    import weakref

    net = Network([2, 6, 6, 1], seed=0)
    net._large_min = net._fast.work.pool_min = 0  # buffers kept at this small size
    X, Y = np.random.default_rng(0).standard_normal((2, 12)), np.ones((1, 12))
    AL, cache = net.forward(X, train=True)
    net.backward(cache, Y)
    buffer = weakref.ref(cache.inputs[1].base)
    del cache
    AL, cache = net.forward(X, train=True)
    assert cache.inputs[1].base is buffer()  # the same memory again, not a new array
    _, other = net.forward(X, train=True)    # `cache` is alive: another buffer
    assert other.inputs[1].base is not buffer()


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu", "linear"])
@pytest.mark.parametrize("output", ["sigmoid", "softmax", "linear"])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_gradient_check_on_the_large_pass_path(activation, output, batch_norm):
    """The buffered, bias-fused path that large passes take, forced at gradient-check size."""
    from engine.gradcheck import gradient_check
    from tests.engine.test_gradients import make_case

    net, X, Y, _ = make_case(activation, output, batch_norm, hidden=2)
    net._large_min = net._fast.work.pool_min = 0
    assert gradient_check(net, X, Y, l2=0.7).difference < 1e-7


@pytest.mark.parametrize("dims, batch_norm", [([2, 6, 5, 1], False), ([2, 6, 5, 3], True), ([9, 4, 1], False)])
def test_the_fast_path_equals_the_courses_path_with_dropout_and_batch_norm(dims, batch_norm):
    """engine/fast forced at a small size against engine/network's own passes: same masks (same
    seed), same A[L], same gradients (dropout on dA, batch norm's dγ, dβ, L2), same running stats."""
    output = "softmax" if dims[-1] > 1 else "sigmoid"
    course, fast = (Network(dims, activation="tanh", output=output, batch_norm=batch_norm, seed=3) for _ in range(2))
    fast._large_min = 0
    rng = np.random.default_rng(0)
    for net in (course, fast):
        net.theta[...] = np.random.default_rng(1).normal(0.0, 0.5, net.size)
    X = rng.standard_normal((dims[0], 11))
    Y = np.eye(dims[-1])[:, rng.integers(0, dims[-1], 11)] if output == "softmax" else (rng.random((1, 11)) > 0.5) * 1.0
    results = []
    for net in (course, fast):
        AL, cache = net.forward(X, train=True, keep_probs=0.7, rng=np.random.default_rng(2))
        assert (cache.augs is None) == (net is course)
        net.backward(cache, Y, l2=0.3)
        results.append((AL, net.grads.copy(), [r.copy() for r in net.running.values()], net.predict_proba(X)))
    (AL_c, g_c, run_c, P_c), (AL_f, g_f, run_f, P_f) = results
    np.testing.assert_allclose(AL_f, AL_c, rtol=1e-12)
    np.testing.assert_allclose(g_f, g_c, rtol=1e-9, atol=1e-15)
    for a, b in zip(run_f, run_c):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(P_f, P_c, rtol=1e-12)


def test_by_rows_covers_every_row_once_and_keeps_the_callers_errstate():
    import warnings

    rows = 7
    a = np.arange(rows * parallel.MIN_SIZE, dtype=float).reshape(rows, -1)
    out = np.zeros_like(a)
    seen = []

    def double(block, out_block):
        seen.extend(block[:, 0] // parallel.MIN_SIZE)  # the row numbers of this block
        np.multiply(block, 2.0, out=out_block)

    parallel.by_rows(double, a, out)
    np.testing.assert_array_equal(out, 2.0 * a)
    assert sorted(seen) == list(range(rows))
    huge = np.full((rows, parallel.MIN_SIZE), 1e300)
    with np.errstate(over="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")  # a worker that ignored the errstate would warn
        parallel.by_rows(np.multiply, huge, huge, out)
    assert np.isinf(out).all()
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        parallel.by_rows(np.multiply, huge, huge, out)


def test_only_large_training_passes_keep_their_buffers():
    import gc
    import weakref

    def kept(net, X, train):
        AL, cache = net.forward(X, train=train)
        buffer = weakref.ref(cache.inputs[1].base)
        del AL, cache
        gc.collect()
        return buffer() is not None

    rng = np.random.default_rng(0)
    server_size = Network([2, 16, 16, 16, 1])         # 16 · 2000: large-pass path, nothing kept
    assert not kept(server_size, rng.standard_normal((2, 2000)), train=True)
    big = Network([2, 300, 1])                        # 300 · 4000 ≥ POOL_MIN
    X = rng.standard_normal((2, 4000))
    assert not kept(big, X, train=False)              # predictions keep nothing
    assert kept(big, X, train=True)


def test_by_rows_does_the_work_itself_when_the_threads_are_busy():
    import threading
    import time

    gate = threading.Event()
    pool = parallel._executor()
    for _ in range(parallel.THREADS - 1):
        pool.submit(gate.wait, 30)  # every worker thread held (like a core taken by another process)
    try:
        a = np.ones((64, parallel.MIN_SIZE // 16))
        start = time.monotonic()
        parallel.by_rows(np.multiply, a, 3.0 * np.ones((64, 1)), a)
        assert time.monotonic() - start < 10  # did not wait for the held threads
        np.testing.assert_array_equal(a, 3.0)
    finally:
        gate.set()


def test_cost_from_given_logits_is_exact_where_the_output_saturates():
    # sigmoid output, z = 40, y = 0: BCE = -log(1 - σ(40)) = 40 + log(1 + e^-40) ≈ 40, while
    # σ(40) rounds to 1 in float64 and a cost from ŷ could only be clipped.
    net = Network([1, 1], activation="tanh", output="sigmoid")
    ZL = np.array([[40.0, 0.0]])
    AL = 1.0 / (1.0 + np.exp(-ZL))
    data, reg = net.cost(AL, np.array([[0.0, 1.0]]), ZL=ZL)
    assert data == pytest.approx((40.0 + math.log(1 + math.exp(-40.0)) + math.log(2.0)) / 2, rel=1e-12)
    assert reg == 0.0
