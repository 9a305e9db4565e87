"""2-D cost surfaces and optimizer paths."""
import numpy as np
import pytest
from pydantic import ValidationError

from engine.config import OptimizerConfig
from engine.surfaces import (
    LOGISTIC_M, SURFACES, Logistic, PathRunner, Quadratic, Rosenbrock, Saddle, make_surface, run_path,
)

ALL = [Quadratic(1.0), Quadratic(100.0, 30.0), Quadratic(1000.0, -75.0), Rosenbrock(), Saddle(),
       Logistic(False), Logistic(True)]


def random_points(surface, k=25, seed=0):
    xmin, xmax, ymin, ymax = surface.domain
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(xmin, xmax, k), rng.uniform(ymin, ymax, k)])


@pytest.mark.parametrize("surface", ALL, ids=repr)
def test_gradient_matches_finite_differences(surface):
    W = random_points(surface)
    G = surface.grad(W)
    assert G.shape == W.shape
    approx = np.empty_like(W)
    for i in range(2):
        h = 1e-6 * (surface.domain[2 * i + 1] - surface.domain[2 * i])  # scale of the axis
        E = np.zeros_like(W)
        E[i] = h
        approx[i] = (surface.cost(W + E) - surface.cost(W - E)) / (2 * h)
    diff = np.linalg.norm(approx - G) / (np.linalg.norm(approx) + np.linalg.norm(G))
    assert diff < 1e-7, diff


@pytest.mark.parametrize("surface", ALL, ids=repr)
def test_minimum_and_vectorized_cost(surface):
    assert surface.cost(np.array(surface.minimum)) == pytest.approx(surface.min_cost, abs=1e-12)
    assert np.linalg.norm(surface.grad(np.array(surface.minimum))) < 1e-9
    W = random_points(surface, 10)
    J = surface.cost(W)
    assert J.shape == (10,)
    assert J[3] == pytest.approx(surface.cost(W[:, 3]), rel=1e-14) and (J >= surface.min_cost - 1e-12).all()
    xmin, xmax, ymin, ymax = surface.domain
    assert xmin <= surface.start[0] <= xmax and ymin <= surface.start[1] <= ymax


def test_hand_values():
    assert Quadratic(100.0).cost(np.array([1.0, 1.0])) == pytest.approx(0.5 * (1 + 100))
    # rotated by 90°: the steep axis becomes w1
    np.testing.assert_allclose(Quadratic(100.0, 90.0).grad(np.array([1.0, 1.0])), [100, 1], atol=1e-12)
    assert Rosenbrock().cost(np.array([0.0, 1.0])) == 101.0
    assert Saddle().cost(np.array([2.0, 2.0])) == 2 + 4 - 2
    np.testing.assert_array_equal(Saddle().grad(np.array([0.0, 0.0])), [0, 0])  # the saddle point
    assert Logistic().cost(np.zeros(2)) == pytest.approx(np.log(2))


def test_logistic_inputs_have_different_scales():
    X, Y = Logistic(False).X, Logistic(False).Y
    assert X.shape == (2, LOGISTIC_M) and set(np.unique(Y)) == {0.0, 1.0}
    assert 0 <= X[0].min() and X[0].max() <= 3 and X[0].max() > 2.9
    assert 0 <= X[1].min() and X[1].max() <= 1 and X[1].max() > 0.95
    Xn = Logistic(True).X
    np.testing.assert_allclose(Xn.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(Xn.std(axis=1), 1, atol=1e-12)


def test_grid_orientation():
    s = Quadratic(10.0)
    xs, ys, J = s.grid(7)
    assert J.shape == (7, 7) and xs[0] == s.domain[0] and ys[-1] == s.domain[3]
    assert J[2, 5] == pytest.approx(s.cost(np.array([xs[5], ys[2]])))
    levels = s.levels(J, 10)
    assert levels.shape == (10,) and (np.diff(levels) > 0).all() and levels[-1] == pytest.approx(J.max())


def steps_to(surface, name, lr, tolerance=1e-6, budget=3000, **hyper):
    runner = PathRunner(surface, OptimizerConfig(name=name, learning_rate=float(lr), **hyper),
                        tolerance=tolerance)
    runner.step(budget)
    return runner.steps_to_tolerance


def best_steps(surface, name, learning_rates, **kw):
    """Tuned by a small search: the fewest steps to tolerance over a log grid of α (None = never)."""
    counts = [(n, lr) for lr in learning_rates if (n := steps_to(surface, name, lr, **kw)) is not None]
    return min(counts) if counts else (None, None)


def test_quadratic_race_momentum_and_adam_beat_gd():
    surface = Quadratic(100.0, 30.0)  # rotated: no help from Adam's per-axis scaling
    grid = np.geomspace(1e-3, 10 ** 0.5, 15)  # α = 10^(-3 .. 0.5) in steps of 10^0.25
    results = {name: best_steps(surface, name, grid) for name in ("gd", "momentum", "adam")}
    print("\nquadratic κ=100, rotation 30°, start", surface.start, "tolerance 1e-6:",
          {name: f"{n} steps (α={lr:.3g})" for name, (n, lr) in results.items()})
    gd, momentum, adam = (results[name][0] for name in ("gd", "momentum", "adam"))
    assert gd is not None and momentum is not None and adam is not None
    assert momentum < gd and adam < gd
    assert gd > 2 * momentum  # not a near tie: momentum damps the zig-zag


def test_normalizing_inputs_speeds_up_gradient_descent():
    grid = np.geomspace(1e-7, 100.0, 10)
    normalized, lr_n = best_steps(Logistic(True), "gd", grid, budget=2000)
    unnormalized, _ = best_steps(Logistic(False), "gd", grid, budget=2000)
    print(f"\nlogistic GD to 1e-6: normalized {normalized} steps (α={lr_n}), unnormalized {unnormalized}")
    assert normalized is not None and normalized < 200
    assert unnormalized is None or unnormalized > normalized


def test_minibatch_path_is_reproducible_for_a_seed():
    surface = Logistic(True, batch_size=32)
    cfg = OptimizerConfig(name="adam", learning_rate=0.1)
    a = run_path(surface, cfg, (-1.0, 1.0), 50, seed=3)
    b = run_path(surface, cfg, (-1.0, 1.0), 50, seed=3)
    c = run_path(surface, cfg, (-1.0, 1.0), 50, seed=4)
    assert a.shape == (51, 2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    full = run_path(Logistic(True), cfg, (-1.0, 1.0), 50)
    assert not np.array_equal(a, full)  # mini-batch paths are noisy


def test_minibatches_cover_an_epoch():
    # batch 50 on m = 200: the mean of the 4 gradients of an epoch is the full gradient
    surface = Logistic(False, batch_size=50)
    gradient = surface.gradient_fn(seed=1)
    w = np.array([0.001, -2.0])
    for epoch in range(2):
        mean = sum(gradient(w) for _ in range(4)) / 4
        np.testing.assert_allclose(mean, surface.grad(w), rtol=1e-12)


def test_run_path_shape_and_early_stop():
    surface = Quadratic(10.0)
    cfg = OptimizerConfig(name="gd", learning_rate=0.1)
    path = run_path(surface, cfg, (1.0, 1.0), 20)
    assert path.shape == (21, 2)
    np.testing.assert_array_equal(path[0], [1.0, 1.0])
    # GD on a diagonal quadratic: w1 shrinks by (1 - 0.1·1), w2 by (1 - 0.1·10) = 0 per step
    np.testing.assert_allclose(path[3], [0.9 ** 3, 0.0], atol=1e-15)
    stopped = run_path(surface, cfg, (1.0, 1.0), 1000, tolerance=1e-6)
    runner = PathRunner(surface, cfg, (1.0, 1.0), tolerance=1e-6)
    runner.step(1000)
    # ½·0.81^n < 1e-6  <=>  n > log(2e-6)/log(0.81) = 62.2
    assert len(stopped) - 1 == runner.steps_to_tolerance == 63 and runner.status == "converged"


def test_runner_steps_incrementally_like_run_path():
    surface = Rosenbrock()
    cfg = {"name": "momentum", "learning_rate": 0.001}
    runner = PathRunner(surface, cfg)
    pieces = [runner.step(7), runner.step(1), runner.step(12)]
    whole = run_path(surface, cfg, None, 20)
    np.testing.assert_array_equal(np.concatenate(pieces), whole[1:])
    assert runner.steps == 20 and runner.cost == surface.cost(whole[-1])


def test_runner_configure_live():
    surface = Quadratic(10.0)
    runner = PathRunner(surface, OptimizerConfig(name="gd", learning_rate=0.1), (1.0, 1.0))
    runner.step(1)
    runner.configure(learning_rate=0.05)
    np.testing.assert_allclose(runner.step(1)[0], [0.9 * 0.95, 0.0], atol=1e-15)


def test_divergence_is_reported():
    runner = PathRunner(Quadratic(100.0), OptimizerConfig(name="gd", learning_rate=1.0))
    points = runner.step(1000)
    assert runner.status == "diverged" and len(points) < 1000 and np.isfinite(points).all()
    assert len(runner.step(5)) == 0


def test_saddle_slows_gradient_descent():
    # from near the saddle's stable axis, GD first slides into the saddle and lingers there
    path = run_path(Saddle(), OptimizerConfig(name="gd", learning_rate=0.1), (1.8, 1e-3), 200)
    near = np.linalg.norm(path, axis=1) < 0.1
    assert near.sum() > 20
    assert abs(path[-1, 1]) == pytest.approx(1.0, abs=1e-3)  # eventually escapes to a minimum


def test_make_surface_validates():
    assert isinstance(make_surface("quadratic", condition=100, rotation=30), Quadratic)
    s = make_surface({"name": "logistic", "normalized": True, "batch_size": 64})
    assert s.normalized and s.batch_size == 64
    assert set(SURFACES) == {"quadratic", "rosenbrock", "saddle", "logistic"}
    with pytest.raises(ValidationError, match="condition"):
        make_surface("quadratic", condition=5000)
    with pytest.raises(ValueError, match="condition"):
        Quadratic(0.5)
    with pytest.raises(ValueError, match="batch_size"):
        Logistic(batch_size=0)
    with pytest.raises(ValueError, match="shape"):
        Quadratic().cost(np.zeros((3, 2)))


@pytest.mark.parametrize("surface", [Quadratic(50.0, 30.0), Rosenbrock(), Logistic(False), Logistic(True)], ids=repr)
def test_hessian_at_the_minimum_matches_finite_differences(surface):
    w, h = np.array(surface.minimum, dtype=float), 1e-5
    H = np.column_stack([(surface.grad(w + h * e) - surface.grad(w - h * e)) / (2 * h) for e in np.eye(2)])
    np.testing.assert_allclose(surface.hessian(), H, rtol=1e-6, atol=1e-8)
    steep, flat = surface.axes()
    for axis in (steep, flat):  # H d = λ d
        d = np.array(axis["direction"])
        np.testing.assert_allclose(H @ d, axis["curvature"] * d, rtol=1e-5, atol=1e-8)
    assert surface.lr_limit() == pytest.approx(2 / steep["curvature"])


@pytest.mark.parametrize("surface", [Quadratic(50.0, 30.0), Logistic(False)], ids=repr)
def test_gd_converges_just_below_lr_limit_and_not_just_above(surface):
    limit = surface.lr_limit()
    start = np.array(surface.minimum) + 0.01 * np.array(surface.axes()[0]["direction"])  # near the minimum
    below = run_path(surface, {"name": "gd", "learning_rate": 0.97 * limit}, start, 2000)
    above = run_path(surface, {"name": "gd", "learning_rate": 1.03 * limit}, start, 300)
    gap = lambda p: np.linalg.norm(p[-1] - np.array(surface.minimum))  # noqa: E731
    assert gap(below) < 1e-6 and (len(above) < 301 or gap(above) > 0.01)


def test_logistic_bowl_raw_elongated_normalized_round():
    assert 15 <= Logistic(False).condition_number() <= 60
    assert Logistic(True).condition_number() <= 2
    for s in (Logistic(False), Logistic(True)):
        xmin, xmax, ymin, ymax = s.domain
        assert s.equal_axes and xmax - xmin == pytest.approx(ymax - ymin)
        assert xmin < min(0, s.minimum[0]) and max(0, s.minimum[0]) < xmax
        assert ymin < min(0, s.minimum[1]) and max(0, s.minimum[1]) < ymax
    assert Saddle().lr_limit() is None and Saddle().axes() is None


def test_path_costs_are_the_surface_costs():
    runner = PathRunner(Quadratic(10.0), {"name": "nesterov", "learning_rate": 0.05})
    points, costs = runner.step_costs(20)
    np.testing.assert_allclose(costs, Quadratic(10.0).cost(points.T), rtol=1e-12)
    assert runner.cost == costs[-1]


def test_direct_calls_are_checked_against_the_config_fields():
    """A library call is checked against the config's fields (SurfaceConfig, OptimizerConfig): the
    ranges are written once, in the models."""
    from engine.surfaces import PathRunner

    assert Quadratic(50, 30).condition == 50.0 and Quadratic(1000.0, -180.0).rotation == -180.0
    for bad in (1001.0, True, "50"):
        with pytest.raises(ValueError, match="condition"):
            Quadratic(bad)
    with pytest.raises(ValueError, match="rotation"):
        Quadratic(10.0, 181.0)
    with pytest.raises(ValueError, match="batch_size"):
        Logistic(batch_size=201)
    with pytest.raises(ValueError, match="normalized"):
        Logistic(normalized=1)
    runner = PathRunner(Quadratic(10.0), {"name": "gd", "learning_rate": 0.01})
    runner.configure(learning_rate=100.0)
    assert runner.learning_rate == 100.0
    for bad in (0.0, 100.5, float("inf")):
        with pytest.raises(ValueError, match="learning_rate"):
            runner.configure(learning_rate=bad)
    with pytest.raises(ValueError, match="resolution"):
        Quadratic().grid(1)
    with pytest.raises(ValueError, match="n = "):
        runner.step(-1)
