"""2-D dataset generators: TensorFlow Playground's four (circle, xor, gauss, spiral), the course's
moons and flower, multi-class spirals and blobs, and TF Playground's two regression surfaces.

Every generator draws with `np.random.default_rng(seed)` (deterministic for a seed) and returns
`X` (2, m), examples as columns, inside DOMAIN × DOMAIN, and `labels` (m,): class indices 0..C-1
for classification, values for regression. Exactly n points; classes get n // C points each, the
first n % C classes one more. Points come grouped by class: `split` shuffles.

`noise` is a fraction in [0, 1]; TF Playground's 0..50 % slider is 0..0.5 here, and the TF
formulas are extended linearly to 1.
"""
from __future__ import annotations

import numpy as np

from engine.config import DATASET_KINDS, MAX_POINTS

DOMAIN = (-6.0, 6.0)  # plotting domain of the generators, the same on both axes
MAX_CLASSES = 6  # of the multi-class generators (config: data.classes)
TWO_PI = 2.0 * np.pi


# --- helpers ---------------------------------------------------------------------------------

def _class_sizes(n: int, classes: int) -> np.ndarray:
    """n points split as evenly as possible: n // C each, the first n % C classes one more."""
    return n // classes + (np.arange(classes) < n % classes).astype(int)


def _class_labels(sizes: np.ndarray) -> np.ndarray:
    """Labels 0,0,..,1,1,..: class k repeated sizes[k] times."""
    return np.repeat(np.arange(len(sizes)), sizes)


def _truncated_normal(rng, mean, std: float, lo: float = DOMAIN[0], hi: float = DOMAIN[1]) -> np.ndarray:
    """mean + std·N(0, 1), each entry redrawn until it falls in [lo, hi] (a normal truncated to the
    box, so noisy points never leave the plot). The loop runs over redraw rounds, not examples."""
    mean = np.asarray(mean, dtype=np.float64)
    x = mean + std * rng.standard_normal(mean.shape)
    outside = (x < lo) | (x > hi)
    while outside.any():
        x[outside] = mean[outside] + std * rng.standard_normal(int(outside.sum()))
        outside = (x < lo) | (x > hi)
    return x


def _polar(r: np.ndarray, t: np.ndarray) -> np.ndarray:
    """TF Playground's polar convention: (x1, x2) = (r sin t, r cos t), t measured from the x2 axis."""
    return np.stack([r * np.sin(t), r * np.cos(t)])


def _gauss_variance(noise: float) -> float:
    """TF Playground's blob variance: noise 0..0.5 → variance 0.5..4 (linear, extended to noise 1 → 7.5)."""
    return 0.5 + 7.0 * noise


# --- binary classification -------------------------------------------------------------------

def _circle(rng, n, noise, classes):
    """TF Playground's circle (radius R = 5): class 1 at r ~ U(0, R/2), class 0 at r ~ U(0.7R, R).
    As in TF, noise moves the point only for labelling: label = [‖x + R·noise·U(-1,1)²‖ < R/2]."""
    radius = 5.0
    sizes = _class_sizes(n, 2)  # sizes[0] outer (label 0), sizes[1] inner (label 1)
    r = np.concatenate([rng.uniform(0.7 * radius, radius, sizes[0]), rng.uniform(0.0, 0.5 * radius, sizes[1])])
    X = _polar(r, rng.uniform(0.0, TWO_PI, n))
    noisy = X + rng.uniform(-radius, radius, (2, n)) * noise
    return X, (np.hypot(noisy[0], noisy[1]) < 0.5 * radius).astype(np.int64)


def _xor(rng, n, noise, classes):
    """TF Playground's xor: x ~ U(-5, 5)² pushed 0.3 away from the axes;
    label = [x1·x2 ≥ 0] of the point moved by 5·noise·U(-1, 1)² (label noise, as in TF)."""
    X = rng.uniform(-5.0, 5.0, (2, n))
    X += np.where(X > 0, 0.3, -0.3)
    noisy = X + rng.uniform(-5.0, 5.0, (2, n)) * noise
    return X, (noisy[0] * noisy[1] >= 0).astype(np.int64)


def _blobs(rng, centres: np.ndarray, sizes: np.ndarray, noise: float):
    """Gaussian blob k around centres[:, k] with variance 0.5 + 7·noise, truncated to the domain."""
    labels = _class_labels(sizes)
    X = _truncated_normal(rng, centres[:, labels], np.sqrt(_gauss_variance(noise)))
    return X, labels


def _gauss(rng, n, noise, classes):
    """TF Playground's two gaussians: class 1 around (2, 2), class 0 around (-2, -2)."""
    return _blobs(rng, np.array([[-2.0, 2.0], [-2.0, 2.0]]), _class_sizes(n, 2), noise)


def _spiral_arms(rng, sizes: np.ndarray, offsets: np.ndarray, turns: float, noise: float):
    """Arm k: for i = 0..n_k-1, r = 5·i/n_k, t = turns·2π·i/n_k + offsets[k],
    point (r sin t, r cos t) + noise·U(-1, 1)² (TF Playground's spiral for 2 arms, 1.75 turns)."""
    labels = _class_labels(sizes)
    frac = np.arange(len(labels)) - np.repeat(np.cumsum(sizes) - sizes, sizes)  # i within its arm
    frac = frac / sizes[labels]
    X = _polar(5.0 * frac, turns * TWO_PI * frac + offsets[labels])
    return X + rng.uniform(-1.0, 1.0, X.shape) * noise, labels


def _spiral(rng, n, noise, classes):
    """TF Playground's two spirals: class 1 at offset 0, class 0 at offset π."""
    return _spiral_arms(rng, _class_sizes(n, 2), np.array([np.pi, 0.0]), 1.75, noise)


MOONS_SCALE = 3.0  # sklearn's moons span x ∈ [-1, 2], y ∈ [-0.5, 1]; ×3 about their centre → [-4.5, 4.5]


def _moons(rng, n, noise, classes):
    """sklearn's make_moons: class 0 on (cos θ, sin θ), class 1 on (1 - cos θ, 0.5 - sin θ),
    θ = linspace(0, π); gaussian noise of std `noise`; then centred and scaled by MOONS_SCALE
    (the noise in sklearn units, so scaled too), truncated to the domain."""
    sizes = _class_sizes(n, 2)
    t0, t1 = np.linspace(0.0, np.pi, sizes[0]), np.linspace(0.0, np.pi, sizes[1])
    clean = np.stack([np.concatenate([np.cos(t0), 1.0 - np.cos(t1)]),
                      np.concatenate([np.sin(t0), 0.5 - np.sin(t1)])])
    clean = MOONS_SCALE * (clean - np.array([[0.5], [0.25]]))
    return _truncated_normal(rng, clean, MOONS_SCALE * noise), _class_labels(sizes)


FLOWER_SCALE = 1.25  # the course's petals (a = 4) reach r = 4; ×1.25 → 5 in the domain


def _flower(rng, n, noise, classes):
    """The course's planar "flower" (a = 4): class j: t = linspace(3.12j, 3.12(j+1)) + σ·N(0,1),
    r = a·sin(4t) + σ·N(0,1), point (r sin t, r cos t)·FLOWER_SCALE with σ = noise: noise 0 draws
    clean petals and noise 0.2 is exactly the course's dataset. r stays within the domain."""
    a = 4.0
    sizes = _class_sizes(n, 2)
    t = np.concatenate([np.linspace(3.12 * j, 3.12 * (j + 1), s) for j, s in enumerate(sizes)])
    t = t + noise * rng.standard_normal(n)
    bound = DOMAIN[1] / FLOWER_SCALE
    r = _truncated_normal(rng, a * np.sin(4.0 * t), noise, -bound, bound)
    return FLOWER_SCALE * _polar(r, t), _class_labels(sizes)


# --- multi-class -----------------------------------------------------------------------------

def _multi_spiral(rng, n, noise, classes):
    """C spiral arms at offsets 2πk/C with 3.5/C turns each, so neighbouring arms stay as far
    apart as the two arms of `spiral` (which this equals for C = 2, up to the labels)."""
    offsets = TWO_PI * np.arange(classes) / classes
    return _spiral_arms(rng, _class_sizes(n, classes), offsets, 3.5 / classes, noise)


def _multi_blobs(rng, n, noise, classes):
    """C gaussian blobs centred on the circle of radius 3.5 at angles 2πk/C (variance as `gauss`)."""
    angle = TWO_PI * np.arange(classes) / classes
    return _blobs(rng, 3.5 * np.stack([np.cos(angle), np.sin(angle)]), _class_sizes(n, classes), noise)


# --- regression ------------------------------------------------------------------------------

def _regression_inputs(rng, n, noise):
    """x ~ U(-6, 6)², and the point moved by 6·noise·U(-1, 1)² where the target is read (TF)."""
    X = rng.uniform(DOMAIN[0], DOMAIN[1], (2, n))
    return X, X + rng.uniform(DOMAIN[0], DOMAIN[1], (2, n)) * noise


def _reg_plane(rng, n, noise, classes):
    """TF Playground's regress plane: y = (x1 + x2) / 10 (its label scale [-10, 10] → [-1, 1])."""
    X, noisy = _regression_inputs(rng, n, noise)
    return X, (noisy[0] + noisy[1]) / 10.0


GAUSS_BUMPS = np.array([  # (c1, c2, sign) of TF Playground's regressGaussian
    [-4.0, 2.5, 1.0], [0.0, 2.5, -1.0], [4.0, 2.5, 1.0],
    [-4.0, -2.5, -1.0], [0.0, -2.5, 1.0], [4.0, -2.5, -1.0],
])


def _reg_gauss(rng, n, noise, classes):
    """TF Playground's regress gaussian: bump k gives sign_k·clamp(1 - d_k/2, 0, 1), d_k the distance
    to its centre; y is the bump value largest in absolute value (0 far from every centre)."""
    X, noisy = _regression_inputs(rng, n, noise)
    d = np.hypot(noisy[0] - GAUSS_BUMPS[:, :1], noisy[1] - GAUSS_BUMPS[:, 1:2])  # (6, m)
    values = GAUSS_BUMPS[:, 2:] * np.clip(1.0 - d / 2.0, 0.0, 1.0)
    best = np.argmax(np.abs(values), axis=0)
    return X, values[best, np.arange(n)]


GENERATORS = {
    "circle": _circle, "xor": _xor, "gauss": _gauss, "spiral": _spiral, "moons": _moons,
    "flower": _flower, "multi_spiral": _multi_spiral, "multi_blobs": _multi_blobs,
    "reg_plane": _reg_plane, "reg_gauss": _reg_gauss,
}


def classes_of(name: str, classes: int = 3) -> int | None:
    """Number of classes the generator `name` produces: 2, `classes`, or None for regression."""
    return {"binary": 2, "multiclass": classes, "regression": None}[DATASET_KINDS[name]]


def generate_points(name: str, n: int, noise: float, seed: int, classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """X (2, m) and labels (m,): class indices (int) or regression values (float)."""
    if name not in GENERATORS:
        raise ValueError(f"data.name: unknown dataset {name!r}; allowed: {', '.join(GENERATORS)}")
    if not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_POINTS:
        raise ValueError(f"data.n: {n!r} points; must be an integer in [1, {MAX_POINTS}]")
    if not 0.0 <= noise <= 1.0:
        raise ValueError(f"data.noise: {noise!r}; must be in [0, 1]")
    if DATASET_KINDS[name] == "multiclass" and not 2 <= classes <= MAX_CLASSES:
        raise ValueError(f"data.classes: {classes!r}; must be an integer in [2, {MAX_CLASSES}]")
    rng = np.random.default_rng(seed)
    return GENERATORS[name](rng, int(n), float(noise), int(classes))


def labels_to_targets(labels: np.ndarray, kind: str, classes: int | None = None) -> np.ndarray:
    """Targets Y for the kind: binary (1, m) in {0, 1}; multiclass one-hot (C, m) with
    Y[k, i] = [label_i = k]; regression (1, m) values."""
    labels = np.asarray(labels).reshape(-1)
    if kind == "regression":
        return labels.astype(np.float64).reshape(1, -1)
    if kind not in ("binary", "multiclass"):
        raise ValueError(f"kind: unknown {kind!r}; allowed: binary, multiclass, regression")
    C = 2 if kind == "binary" else classes
    if C is None or C < 2:
        raise ValueError(f"classes: {C!r}; a multiclass target needs at least 2 classes")
    if labels.size and (labels.min() < 0 or labels.max() >= C or np.any(labels != np.round(labels))):
        raise ValueError(f"labels: class indices must be integers in [0, {C - 1}]")
    if kind == "binary":
        return labels.astype(np.float64).reshape(1, -1)
    return (np.arange(C)[:, None] == labels[None, :]).astype(np.float64)


def generate(name: str, n: int, noise: float, seed: int, classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """X (2, m) and targets Y: binary (1, m) in {0, 1}, multiclass one-hot (C, m), regression (1, m)."""
    X, labels = generate_points(name, n, noise, seed, classes)
    return X, labels_to_targets(labels, DATASET_KINDS[name], classes_of(name, classes))
