"""2-D cost surfaces J(w1, w2) for watching optimizers move (the optimizer lab).

Every surface evaluates many points at once: `cost(w)` maps w of shape (2, k) to (k,) and
`grad(w)` to (2, k) (a single point of shape (2,) gives a float / a (2,) array). Each has a
plotting `domain` (xmin, xmax, ymin, ymax), a default `start`, its `minimum` and `min_cost`.

    quadratic    J = ½ uᵀ diag(1, κ) u,  u = Rᵀw  (R = rotation by `rotation` degrees, κ = condition)
    rosenbrock   J = (1 - w1)² + 100 (w2 - w1²)²                    minimum (1, 1), J = 0
    saddle       J = w1²/2 + w2⁴/4 - w2²/2    saddle at (0, 0); minima (0, ±1), J = -1/4
    logistic     J = -(1/m) Σ [y log σ(z) + (1-y) log(1-σ(z))],  z = w1 x1 + w2 x2 (no bias),
                 on a fixed dataset with x1 in [0, 3] and x2 in [0, 1]; `normalized` standardizes
                 the inputs; `batch_size` gives mini-batch gradients (reshuffled every epoch).

Each surface also gives its Hessian at the minimum (`hessian()`, None for the saddle, whose point
of interest has no minimum's curvature): its eigenvectors are the bowl's axes (`axes()`) and
2/λ_max is gradient descent's stability bound there (`lr_limit()`: GD at a constant α converges
near the minimum iff α < 2/λ_max). `equal_axes` says whether the plot must scale w1 and w2 alike
(the quadratic and logistic surfaces: their elongation is the lesson).

`run_path` / `PathRunner` move a point with the same optimizer classes as the networks (they work
on a flat 2-vector θ = (w1, w2)); paths are reproducible for a seed. The 2-D paths also accept
"nesterov" (`PathOptimizerConfig`; engine/optimizers.py `PATH_ONLY`).
"""
from __future__ import annotations

import math
from typing import Callable, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

from engine.backend import get_backend, host_rng
from engine.checks import check_field, check_int
from engine.config import OptimizerConfig
from engine.optimizers import make_optimizer

_BE = get_backend("numpy", "float64")  # 2-D lab: always host NumPy float64
xp = _BE.xp

LOGISTIC_M = 200  # examples in the logistic surface's dataset
LOGISTIC_X1_MAX = 3.0  # raw x1 uniform in [0, 3], x2 in [0, 1]: Hessian condition ≈ 30 at the minimum
LOGISTIC_LABEL_WEIGHT = 0.5  # y ~ Bernoulli(σ(0.5 x̃1 - 0.5 x̃2)): the normalized bowl is nearly round


class PathOptimizerConfig(OptimizerConfig):
    """An optimizer of a 2-D path: the playground's four and Nesterov momentum (engine/optimizers.py)."""

    name: Literal["gd", "momentum", "rmsprop", "adam", "nesterov"] = "adam"
_LOGISTIC_DATA_SEED = 7  # the dataset is fixed; `seed` of a path only shuffles mini-batches


class Surface:
    """Base class; subclasses implement `_cost(W)` / `_grad(W)` on W of shape (2, k)."""

    name = ""
    domain: tuple[float, float, float, float] = (-2.0, 2.0, -2.0, 2.0)
    start = (0.0, 0.0)
    minimum = (0.0, 0.0)
    min_cost = 0.0
    equal_axes = False  # the plot must use one scale on w1 and w2

    def cost(self, w):
        W, single = _points(w)
        J = self._cost(W)
        return float(J[0]) if single else J

    def grad(self, w):
        W, single = _points(w)
        G = self._grad(W)
        return G[:, 0] if single else G

    def gradient_fn(self, seed: int = 0) -> Callable:
        """w (2,) -> dw (2,) for successive optimizer steps (mini-batch surfaces draw batches
        from a generator seeded by `seed`; deterministic surfaces ignore it)."""
        return self.point_grad

    def grid(self, resolution: int = 100):
        """(xs, ys, J) with J[i, j] = cost at (xs[j], ys[i]): rows are w2, columns w1."""
        resolution = check_int("resolution", resolution, 2, 500)
        xmin, xmax, ymin, ymax = self.domain
        xs, ys = xp.linspace(xmin, xmax, resolution), xp.linspace(ymin, ymax, resolution)
        W1, W2 = xp.meshgrid(xs, ys)
        points = xp.stack([W1.ravel(), W2.ravel()])
        chunk = 4096  # bounds the (k, m) temporaries of the logistic surface
        J = xp.concatenate([self._cost(points[:, i:i + chunk]) for i in range(0, points.shape[1], chunk)])
        return xs, ys, J.reshape(resolution, resolution)

    def levels(self, J, n: int = 20):
        """n contour levels min_cost + geometric offsets up to max(J): contours stay visible
        near the minimum and far out (costs span orders of magnitude)."""
        top = float(J.max()) - self.min_cost
        top = max(top, 1e-12)
        return self.min_cost + xp.geomspace(top * 1e-4, top, n)

    def hessian(self):
        """The Hessian (2, 2) at `minimum`, or None when the surface's lesson has no minimum's bowl."""
        return None

    def axes(self) -> Optional[list]:
        """The bowl's axes at the minimum: [{"direction": [dx, dy], "curvature": λ}] (the Hessian's
        unit eigenvectors, steepest first; a direction's sign is chosen with dx > 0, or dy > 0
        when dx = 0), or None."""
        H = self.hessian()
        if H is None:
            return None
        values, vectors = xp.linalg.eigh(H)
        out = []
        for k in (1, 0):
            d = vectors[:, k]
            if d[0] < -1e-12 or (abs(d[0]) <= 1e-12 and d[1] < 0):
                d = -d
            out.append({"direction": [float(d[0]), float(d[1])], "curvature": float(values[k])})
        return out

    def condition_number(self) -> Optional[float]:
        """λ_max / λ_min of the Hessian at the minimum (None without one)."""
        H = self.hessian()
        if H is None:
            return None
        values = xp.linalg.eigvalsh(H)
        return float(values[1] / values[0])

    def lr_limit(self) -> Optional[float]:
        """2/λ_max: near the minimum, gradient descent converges iff α < 2/λ_max (None without one)."""
        H = self.hessian()
        return None if H is None else float(2.0 / xp.linalg.eigvalsh(H)[1])

    def describe(self) -> dict:
        """JSON-ready summary for the lab: name, parameters, domain, start, minimum, min_cost,
        lr_limit, axes, equal_axes."""
        return {"name": self.name, "params": self.params(), "domain": list(self.domain),
                "start": list(self.start), "minimum": [float(v) for v in self.minimum],
                "min_cost": float(self.min_cost), "lr_limit": self.lr_limit(), "axes": self.axes(),
                "equal_axes": self.equal_axes}

    def point_grad(self, w):
        """dJ/dw at one point w (2,) -> (2,) (the paths' inner loop)."""
        return self._grad(w.reshape(2, 1))[:, 0]

    def point_cost(self, w) -> float:
        return float(self._cost(w.reshape(2, 1))[0])

    def params(self) -> dict:
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.params().items())})"


def _points(w):
    W = xp.asarray(w, dtype=xp.float64)
    if W.shape == (2,):
        return W.reshape(2, 1), True
    if W.ndim != 2 or W.shape[0] != 2:
        raise ValueError(f"w has shape {W.shape}: must be (2,) or (2, k)")
    return W, False


class Quadratic(Surface):
    """J = ½ wᵀ A w with A = R diag(1, κ) Rᵀ: an elongated bowl, curvature 1 along the rotated
    w1 axis and κ across it; minimum 0 at (0, 0); dJ/dw = A w. GD needs α < 2/κ."""

    name = "quadratic"
    start = (-1.8, 0.9)
    equal_axes = True

    def __init__(self, condition: float = 10.0, rotation: float = 0.0):
        self.condition = check_field(SurfaceConfig, "condition", condition)
        self.rotation = check_field(SurfaceConfig, "rotation", rotation)
        c, s = math.cos(math.radians(self.rotation)), math.sin(math.radians(self.rotation))
        R = xp.array([[c, -s], [s, c]])
        self.A = R @ xp.diag([1.0, self.condition]) @ R.T

    def _cost(self, W):
        return 0.5 * xp.sum(W * (self.A @ W), axis=0)

    def _grad(self, W):
        return self.A @ W

    def point_grad(self, w):
        return self.A @ w

    def point_cost(self, w) -> float:
        return 0.5 * float(w @ (self.A @ w))

    def hessian(self):
        return self.A.copy()

    def params(self) -> dict:
        return {"condition": self.condition, "rotation": self.rotation}


class Rosenbrock(Surface):
    """J = (1 - w1)² + 100 (w2 - w1²)²: a curved banana valley, minimum 0 at (1, 1).
    dJ/dw1 = -2(1 - w1) - 400 w1 (w2 - w1²),  dJ/dw2 = 200 (w2 - w1²)."""

    name = "rosenbrock"
    domain = (-2.0, 2.0, -1.0, 3.0)
    start = (-1.2, 1.0)
    minimum = (1.0, 1.0)

    def _cost(self, W):
        w1, w2 = W
        return (1.0 - w1) ** 2 + 100.0 * (w2 - w1 ** 2) ** 2

    def _grad(self, W):
        w1, w2 = W
        valley = w2 - w1 ** 2
        return xp.stack([-2.0 * (1.0 - w1) - 400.0 * w1 * valley, 200.0 * valley])

    def hessian(self):
        return xp.array([[802.0, -400.0], [-400.0, 200.0]])  # at (1, 1)


class Saddle(Surface):
    """J = w1²/2 + w2⁴/4 - w2²/2: a saddle point at (0, 0) (curvature +1 along w1, -1 along w2)
    between two minima (0, ±1) with J = -1/4; bounded below. dJ/dw = (w1, w2³ - w2).
    Started near w2 = 0, a path slides into the saddle and only slowly escapes — the plateau."""

    name = "saddle"
    start = (1.8, 0.01)
    minimum = (0.0, 1.0)
    min_cost = -0.25

    def _cost(self, W):
        w1, w2 = W
        return 0.5 * w1 ** 2 + 0.25 * w2 ** 4 - 0.5 * w2 ** 2

    def _grad(self, W):
        w1, w2 = W
        return xp.stack([w1, w2 ** 3 - w2])


def logistic_data(normalized: bool = False):
    """The logistic surface's fixed dataset: X (2, m) and labels Y (m,) in {0, 1}.

    x1 uniform in [0, 3], x2 uniform in [0, 1]; y ~ Bernoulli(σ(0.5 x̃1 - 0.5 x̃2)) where x̃ are
    the standardized inputs (noisy labels, so the cost has a finite minimum). With `normalized`,
    X is standardized with its own μ and σ: x := (x - μ)/σ. The scales are chosen for a plot on
    equal axes: raw, the Hessian at the minimum has condition ≈ 30 (an elongated, tilted bowl: x1
    is 3× larger than x2 and neither is centred); normalized ≈ 1.3 (nearly round).
    """
    rng = host_rng(_LOGISTIC_DATA_SEED)
    X = xp.stack([LOGISTIC_X1_MAX * rng.random(LOGISTIC_M), rng.random(LOGISTIC_M)])
    Xn = (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)
    Y = (rng.random(LOGISTIC_M) < _sigmoid(LOGISTIC_LABEL_WEIGHT * (Xn[0] - Xn[1]))).astype(xp.float64)
    return (Xn if normalized else X), Y


def _sigmoid(z):
    e = xp.exp(-xp.abs(z))  # stable for any z: no overflow
    return xp.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class Logistic(Surface):
    """Binary cross-entropy of ŷ = σ(w1 x1 + w2 x2) on `logistic_data(normalized)`.

    J = (1/m) Σ [log(1 + e^z) - y z] (stable form), dJ/dw = (1/m) X (σ(z) - y)ᵀ.
    Unnormalized (x1 ~ 3× x2, neither centred) the contours are elongated ellipses (condition ≈ 30)
    and GD zig-zags; normalized they are nearly round (≈ 1.3). The minimum is found by Newton's
    method; the domain is a square (the plot uses equal axes) centred between the start (0, 0)
    and the minimum, twice as wide as the larger of their distances along w1 and w2.
    """

    name = "logistic"
    equal_axes = True

    def __init__(self, normalized: bool = False, batch_size: Optional[int] = None):
        normalized = check_field(SurfaceConfig, "normalized", normalized)
        batch_size = check_field(SurfaceConfig, "batch_size", batch_size)
        self.normalized, self.batch_size = normalized, batch_size
        self.X, self.Y = logistic_data(normalized)
        self.minimum = self._newton()
        self.min_cost = self.cost(self.minimum)
        centre = 0.5 * self.minimum
        half = float(xp.max(xp.abs(self.minimum))) + 1e-3
        self.domain = (float(centre[0] - half), float(centre[0] + half),
                       float(centre[1] - half), float(centre[1] + half))

    def hessian(self):
        a = _sigmoid(self.minimum @ self.X)
        return (self.X * (a * (1.0 - a))) @ self.X.T / LOGISTIC_M

    def point_grad(self, w):
        return self.X @ (_sigmoid(w @ self.X) - self.Y) / LOGISTIC_M

    def point_cost(self, w) -> float:
        z = w @ self.X
        return float(xp.mean(xp.logaddexp(0.0, z) - self.Y * z))

    def _cost(self, W):
        Z = W.T @ self.X  # (k, m)
        return xp.mean(xp.logaddexp(0.0, Z) - self.Y * Z, axis=1)

    def _grad(self, W, X=None, Y=None):
        X = self.X if X is None else X
        Y = self.Y if Y is None else Y
        return ((_sigmoid(W.T @ X) - Y) @ X.T).T / X.shape[1]  # (2, k)

    def gradient_fn(self, seed: int = 0) -> Callable:
        """Full-batch gradient, or with batch_size < m the gradient on successive mini-batches of
        a permutation redrawn every epoch (last batch smaller when m % batch_size ≠ 0)."""
        if self.batch_size is None or self.batch_size >= LOGISTIC_M:
            return self.point_grad
        rng, size = host_rng(seed), self.batch_size
        order, position = rng.permutation(LOGISTIC_M), 0

        def minibatch_grad(w):
            nonlocal order, position
            if position >= LOGISTIC_M:  # epoch done: reshuffle
                order, position = rng.permutation(LOGISTIC_M), 0
            batch = order[position:position + size]
            position += size
            W = xp.asarray(w, dtype=xp.float64).reshape(2, 1)
            return self._grad(W, self.X[:, batch], self.Y[batch])[:, 0]

        return minibatch_grad

    def _newton(self):
        w = xp.zeros(2)
        for _ in range(100):  # converges quadratically; 100 is a safety cap
            a = _sigmoid(w @ self.X)
            H = (self.X * (a * (1.0 - a))) @ self.X.T / LOGISTIC_M
            g = self.X @ (a - self.Y) / LOGISTIC_M
            step = xp.linalg.solve(H, g)
            w = w - step
            if xp.all(xp.abs(step) <= 1e-15 * (1.0 + xp.abs(w))):
                break
        return w

    def params(self) -> dict:
        return {"normalized": self.normalized, "batch_size": self.batch_size}


SURFACES: dict[str, type[Surface]] = {
    "quadratic": Quadratic, "rosenbrock": Rosenbrock, "saddle": Saddle, "logistic": Logistic,
}


class SurfaceConfig(BaseModel):
    """A validated surface choice (what the lab sends); parameters other surfaces use are ignored."""

    model_config = ConfigDict(extra="forbid")
    name: Literal["quadratic", "rosenbrock", "saddle", "logistic"] = "quadratic"
    condition: float = Field(10.0, ge=1.0, le=1000.0, description="quadratic: condition number κ")
    rotation: float = Field(0.0, ge=-180.0, le=180.0, description="quadratic: rotation in degrees")
    normalized: bool = Field(False, description="logistic: standardized inputs")
    batch_size: Optional[int] = Field(None, ge=1, le=LOGISTIC_M, description="logistic: mini-batch size, null = full batch")


def make_surface(cfg: Union[SurfaceConfig, dict, str] = "quadratic", **params) -> Surface:
    """make_surface("quadratic", condition=100) or make_surface(SurfaceConfig(...)) or a dict."""
    if isinstance(cfg, str):
        cfg = {"name": cfg, **params}
    if not isinstance(cfg, SurfaceConfig):
        cfg = SurfaceConfig.model_validate(cfg)
    if cfg.name == "quadratic":
        return Quadratic(cfg.condition, cfg.rotation)
    if cfg.name == "logistic":
        return Logistic(cfg.normalized, cfg.batch_size)
    return SURFACES[cfg.name]()


class PathRunner:
    """Moves a point over `surface` with the optimizer of `optimizer_cfg`, a few steps at a time.

    .step(n) -> the new points (≤ n rows: stops at divergence, or at `tolerance` when given)
    .step_costs(n) -> (points, costs): the same, with the full cost J at each new point
    .point, .cost (full cost at .point), .steps (updates made),
    .steps_to_tolerance (first step with cost - min_cost < tolerance, else None),
    .status: "running" | "converged" | "diverged" (non-finite cost).
    """

    def __init__(self, surface: Surface, optimizer_cfg: Union[OptimizerConfig, dict], start=None,
                 seed: int = 0, tolerance: Optional[float] = None):
        cfg = optimizer_cfg if isinstance(optimizer_cfg, OptimizerConfig) else PathOptimizerConfig.model_validate(optimizer_cfg)
        if tolerance is not None and (isinstance(tolerance, bool) or not isinstance(tolerance, (int, float))
                                      or not tolerance > 0):
            raise ValueError(f"tolerance = {tolerance!r}: must be null or a number > 0")
        self.surface, self.tolerance = surface, tolerance
        self.optimizer = make_optimizer(cfg, 2, _BE)
        self.learning_rate = cfg.learning_rate
        self.point = xp.array(surface.start if start is None else start, dtype=xp.float64)
        if self.point.shape != (2,) or not xp.all(xp.isfinite(self.point)):
            raise ValueError(f"start = {start!r}: must be two finite numbers (w1, w2)")
        self._grads = xp.zeros(2)
        self._gradient = surface.gradient_fn(seed)
        self.steps = 0
        self.cost = surface.point_cost(self.point)
        self.steps_to_tolerance = 0 if self._within_tolerance() else None
        self.status = "converged" if self.steps_to_tolerance == 0 else "running"

    def _within_tolerance(self) -> bool:
        return self.tolerance is not None and self.cost - self.surface.min_cost < self.tolerance

    def configure(self, learning_rate: Optional[float] = None, **hyper) -> None:
        """Live change of α and/or beta/beta1/beta2/epsilon/bias_correction; state kept."""
        if learning_rate is not None:
            self.learning_rate = check_field(OptimizerConfig, "learning_rate", learning_rate)
        self.optimizer.configure(**hyper)

    def step(self, n: int = 1):
        """Up to n optimizer steps; returns the new points, shape (steps taken, 2)."""
        return self.step_costs(n)[0]

    def step_costs(self, n: int = 1):
        """Up to n optimizer steps; returns the new points (steps taken, 2) and the full cost J at
        each of them (steps taken,)."""
        n = check_int("n", n, 0, 1_000_000)
        out, costs = xp.empty((n, 2)), xp.empty(n)
        with xp.errstate(over="ignore", invalid="ignore"):  # divergence is detected below
            taken = self._run(n, out, costs)
        return out[:taken], costs[:taken]

    def _run(self, n: int, out, costs) -> int:
        taken = 0
        point, grads, update, gradient = self.point, self._grads, self.optimizer.update, self._gradient
        point_cost, lr = self.surface.point_cost, self.learning_rate
        while taken < n and self.status == "running":
            grads[:] = gradient(point)
            update(point, grads, lr)
            self.steps += 1
            cost = point_cost(point)
            if not math.isfinite(cost):
                self.status = "diverged"  # the non-finite point is not reported
                break
            self.cost = cost
            out[taken] = point
            costs[taken] = cost
            taken += 1
            if self._within_tolerance():
                self.steps_to_tolerance, self.status = self.steps, "converged"
        return taken


def run_path(surface: Surface, optimizer_cfg: Union[OptimizerConfig, dict], start=None,
             steps: int = 100, seed: int = 0, tolerance: Optional[float] = None):
    """The path (start and one row per step), shape (steps + 1, 2) — fewer rows when it stops
    early: at cost - min_cost < tolerance (rows - 1 = steps taken) or at divergence."""
    runner = PathRunner(surface, optimizer_cfg, start, seed, tolerance)
    first = runner.point.copy()[None, :]
    if runner.status != "running":
        return first
    return xp.concatenate([first, runner.step(steps)])
