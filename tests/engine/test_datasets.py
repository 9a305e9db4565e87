"""The 2-D generators: determinism, shapes, balance, domain, and each one's geometry."""
import numpy as np
import pytest

from engine.config import DATASET_KINDS
from engine.data import DOMAIN, GENERATORS, generate, generate_points, labels_to_targets

MULTI = [n for n, k in DATASET_KINDS.items() if k == "multiclass"]


def polar(X):
    """Radius and TF's angle (from the x2 axis towards x1) in [0, 2π)."""
    return np.hypot(X[0], X[1]), np.mod(np.arctan2(X[0], X[1]), 2 * np.pi)


def wrapped(a):
    """Angle difference folded into (-π, π]."""
    return np.angle(np.exp(1j * a))


def test_every_dataset_of_the_config_has_a_generator():
    assert set(GENERATORS) == set(DATASET_KINDS) - {"csv"}


@pytest.mark.parametrize("name", list(GENERATORS))
def test_deterministic_for_a_seed_and_different_across_seeds(name):
    X1, Y1 = generate(name, 200, 0.3, seed=7, classes=4)
    X2, Y2 = generate(name, 200, 0.3, seed=7, classes=4)
    X3, _ = generate(name, 200, 0.3, seed=8, classes=4)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(Y1, Y2)
    assert not np.allclose(X1, X3)


@pytest.mark.parametrize("name", list(GENERATORS))
@pytest.mark.parametrize("n", [11, 400])
def test_shapes_and_exact_count(name, n):
    X, Y = generate(name, n, 0.2, seed=1, classes=5)
    assert X.shape == (2, n) and X.dtype == np.float64
    kind = DATASET_KINDS[name]
    assert Y.shape == ((5, n) if kind == "multiclass" else (1, n))
    assert Y.dtype == np.float64
    if kind != "regression":
        assert set(np.unique(Y)) <= {0.0, 1.0}
    if kind == "multiclass":
        np.testing.assert_array_equal(Y.sum(axis=0), np.ones(n))


@pytest.mark.parametrize("name", list(GENERATORS))
@pytest.mark.parametrize("noise", [0.0, 0.5, 1.0])
def test_points_stay_in_the_domain(name, noise):
    X, _ = generate_points(name, 1000, noise, seed=3, classes=6)
    assert np.all(X >= DOMAIN[0]) and np.all(X <= DOMAIN[1])
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("name", ["circle", "gauss", "spiral", "moons", "flower"])
def test_binary_sets_are_balanced_also_for_odd_n(name):
    _, labels = generate_points(name, 401, 0.0, seed=2)
    assert sorted(np.bincount(labels)) == [200, 201]


@pytest.mark.parametrize("name", MULTI)
def test_multiclass_sets_are_balanced(name):
    _, labels = generate_points(name, 602, 0.1, seed=2, classes=4)
    assert sorted(np.bincount(labels, minlength=4)) == [150, 150, 151, 151]


def test_circle_inner_class_inside_outer_ring():
    X, labels = generate_points("circle", 2000, 0.0, seed=0)
    r, _ = polar(X)
    assert r[labels == 1].max() <= 2.5  # TF: inner r ~ U(0, R/2), R = 5
    assert r[labels == 0].min() >= 3.5 and r[labels == 0].max() <= 5.0  # outer U(0.7R, R)


def test_circle_noise_flips_labels_near_the_boundary_only():
    X, labels = generate_points("circle", 4000, 0.1, seed=0)
    r, _ = polar(X)
    # TF labels the point moved by 5·noise·U(-1, 1)² (≤ 0.71 away here) but draws it unmoved.
    assert np.all(labels[r >= 3.5] == 0)  # ≥ 2.79 from the centre after the move: never inside 2.5
    assert np.all(labels[r < 2.5 - 0.71] == 1)
    near = labels[(r > 2.0) & (r < 2.5)]
    assert 0.1 < 1 - near.mean() < 0.6  # inner points near the edge got label 0 from the moved position


def test_xor_label_is_sign_of_product():
    X, labels = generate_points("xor", 2000, 0.0, seed=0)
    np.testing.assert_array_equal(labels, (X[0] * X[1] >= 0).astype(int))
    assert np.abs(X).min() >= 0.3 and np.abs(X).max() <= 5.3  # TF's 0.3 padding off the axes
    assert 0.45 < labels.mean() < 0.55
    _, noisy = generate_points("xor", 2000, 0.3, seed=0)
    flipped = np.mean(noisy != (X[0] * X[1] >= 0))
    assert 0.05 < flipped < 0.5


def test_gauss_blobs_at_plus_minus_two_with_growing_spread():
    X, labels = generate_points("gauss", 4000, 0.0, seed=0)
    np.testing.assert_allclose(X[:, labels == 1].mean(axis=1), [2, 2], atol=0.06)
    np.testing.assert_allclose(X[:, labels == 0].mean(axis=1), [-2, -2], atol=0.06)
    np.testing.assert_allclose(X[:, labels == 1].std(axis=1), np.sqrt(0.5), rtol=0.06)  # TF variance 0.5
    X2, labels2 = generate_points("gauss", 4000, 0.1, seed=0)
    np.testing.assert_allclose(X2[:, labels2 == 1].std(axis=1), np.sqrt(0.5 + 0.7), rtol=0.06)  # 0.5→4 over 0..0.5


def test_spiral_points_follow_two_arms():
    X, labels = generate_points("spiral", 1000, 0.0, seed=0)
    r, angle = polar(X)
    assert r.max() < 5.0
    on = r > 1e-9
    # TF: t = 1.75·2π·i/n (+π for the negative arm), r = 5·i/n → t = 3.5π·r/5
    offset = np.where(labels == 1, 0.0, np.pi)
    np.testing.assert_allclose(wrapped(angle - 3.5 * np.pi * r / 5 - offset)[on], 0.0, atol=1e-9)


def test_spiral_noise_is_uniform_within_noise():
    X0, _ = generate_points("spiral", 1000, 0.0, seed=0)
    X1, _ = generate_points("spiral", 1000, 0.4, seed=0)
    shift = np.abs(X1 - X0)
    assert shift.max() <= 0.4 and shift.max() > 0.35


def fit_circle(P):
    """Least-squares circle through points P (2, k): centre and radius."""
    A = np.column_stack([P[0], P[1], np.ones(P.shape[1])])
    (D, E, F), *_ = np.linalg.lstsq(A, -(P[0] ** 2 + P[1] ** 2), rcond=None)
    centre = np.array([-D / 2, -E / 2])
    return centre, np.sqrt(centre @ centre - F)


def distance_to_half_circle(P, c, r, side):
    """Distance from points P (2, k) to the upper (side=+1) or lower (-1) half of a circle."""
    v = P - c[:, None]
    to_circle = np.abs(np.hypot(v[0], v[1]) - r)
    to_ends = np.minimum(np.hypot(v[0] - r, v[1]), np.hypot(v[0] + r, v[1]))
    return np.where(side * v[1] >= 0, to_circle, to_ends)


def best_linear_accuracy(X, labels):
    """Best accuracy of any line (1440 directions, every threshold)."""
    best = 0.0
    for a in np.linspace(0, np.pi, 1440, endpoint=False):
        proj = np.cos(a) * X[0] + np.sin(a) * X[1]
        y = labels[np.argsort(proj)]
        ones_left = np.concatenate([[0], np.cumsum(y)])  # class 1 count among the k smallest
        k = np.arange(len(y) + 1)
        acc = ((k - ones_left) + (y.sum() - ones_left)) / len(y)  # class 0 left of the cut, 1 right
        best = max(best, acc.max(), 1 - acc.min())
    return best


def test_moons_are_two_interleaved_half_circles():
    X, labels = generate_points("moons", 400, 0.0, seed=0)
    (c0, r0), (c1, r1) = fit_circle(X[:, labels == 0]), fit_circle(X[:, labels == 1])
    for P, c, r in ((X[:, labels == 0], c0, r0), (X[:, labels == 1], c1, r1)):
        np.testing.assert_allclose(np.hypot(*(P - c[:, None])), r, atol=1e-9)  # exactly on a circle
    assert r0 == pytest.approx(r1)
    np.testing.assert_allclose(c1 - c0, [r0, r0 / 2])  # sklearn: (0, 0) and (1, 0.5), radius 1
    assert np.all(X[1, labels == 0] >= c0[1] - 1e-9) and np.all(X[1, labels == 1] <= c1[1] + 1e-9)
    assert best_linear_accuracy(X, labels) < 0.92  # not linearly separable
    Xn, ln = generate_points("moons", 1000, 0.1, seed=1)
    # The known curve: points nearer to the upper arc than to the lower one. It separates the noisy
    # moons almost perfectly.
    nearer_upper = distance_to_half_circle(Xn, c0, r0, +1) < distance_to_half_circle(Xn, c1, r1, -1)
    assert np.mean(nearer_upper == (ln == 0)) > 0.97
    assert best_linear_accuracy(Xn, ln) < 0.92


def test_moons_noise_is_gaussian_with_std_noise_in_sklearn_units():
    X0, _ = generate_points("moons", 4000, 0.0, seed=0)
    X1, _ = generate_points("moons", 4000, 0.05, seed=0)
    _, r = fit_circle(X0[:, :2000])  # sklearn's radius 1, so r is the scale
    np.testing.assert_allclose((X1 - X0).std(axis=1), 0.05 * r, rtol=0.05)


FLOWER_SECTORS = {0: {0, 2, 5, 7}, 1: {1, 3, 4, 6}}  # r = 4 sin 4t, negative r mirrored through 0


def flower_sector_class(X):
    r, angle = polar(X)
    sector = np.floor(angle / (np.pi / 4)).astype(int) % 8
    return r, np.isin(sector, list(FLOWER_SECTORS[1])).astype(int)


def sorted_columns(X):
    return X[:, np.lexsort(X[::-1])]


def test_flower_is_the_course_formula_scaled():
    X, labels = generate_points("flower", 300, 0.0, seed=0)
    for j in (0, 1):  # curriculum: t = linspace(3.12j, 3.12(j+1), N), r = a sin 4t, a = 4 (jitter 0 here)
        t = np.linspace(3.12 * j, 3.12 * (j + 1), 150)
        r = 4 * np.sin(4 * t)
        expected = 1.25 * np.stack([r * np.sin(t), r * np.cos(t)])
        np.testing.assert_allclose(sorted_columns(X[:, labels == j]), sorted_columns(expected), atol=1e-12)


def test_flower_petals_alternate_by_sector():
    X, labels = generate_points("flower", 800, 0.0, seed=0)
    r, by_sector = flower_sector_class(X)
    # Away from the centre and from the seam at angle 2π, where class 1's first points (t in
    # [3.12, π), the course's 3.12 instead of π) land mirrored into class 0's last petal.
    on = (r > 0.2) & (polar(X)[1] < 2 * np.pi - 0.03)
    np.testing.assert_array_equal(labels[on], by_sector[on])
    assert 4.0 < r.max() <= 6.0  # petals scaled to fill the domain
    X2, labels2 = generate_points("flower", 4000, 0.2, seed=0)  # the course's own jitter
    r2, by_sector2 = flower_sector_class(X2)
    assert 0.75 < np.mean(labels2 == by_sector2) < 0.99


@pytest.mark.parametrize("C", [2, 3, 5])
def test_multi_spiral_has_C_arms(C):
    X, labels = generate_points("multi_spiral", 600, 0.0, seed=0, classes=C)
    assert set(labels) == set(range(C))
    r, angle = polar(X)
    on = r > 1e-9
    turns = 3.5 / C  # the 2-arm spiral's 1.75 turns, shared out so arms stay as far apart
    expected = turns * 2 * np.pi * r / 5 + 2 * np.pi * labels / C
    np.testing.assert_allclose(wrapped(angle - expected)[on], 0.0, atol=1e-9)


@pytest.mark.parametrize("C", [3, 6])
def test_multi_blobs_on_a_circle(C):
    X, labels = generate_points("multi_blobs", 3000, 0.0, seed=0, classes=C)
    means = np.stack([X[:, labels == k].mean(axis=1) for k in range(C)], axis=1)
    np.testing.assert_allclose(np.hypot(*means), 3.5, atol=0.1)
    np.testing.assert_allclose(wrapped(np.diff(np.arctan2(means[1], means[0]))), 2 * np.pi / C, atol=0.05)
    nearest = np.argmin(np.hypot(X[0][None] - means[0][:, None], X[1][None] - means[1][:, None]), axis=0)
    assert np.mean(nearest == labels) > 0.95


def test_reg_plane_is_x1_plus_x2_over_ten():
    X, y = generate_points("reg_plane", 500, 0.0, seed=0)
    np.testing.assert_allclose(y, (X[0] + X[1]) / 10)
    assert y.dtype == np.float64
    Xn, yn = generate_points("reg_plane", 500, 0.2, seed=0)
    assert 0.5 < np.corrcoef(yn, (Xn[0] + Xn[1]) / 10)[0, 1] < 0.999


def tf_regress_gaussian(x, y):
    """TF Playground's getLabel, as written there (a loop with a strict >)."""
    label = 0.0
    for cx, cy, sign in [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]:
        value = sign * min(max(1 - np.hypot(x - cx, y - cy) / 2, 0.0), 1.0)
        if abs(value) > abs(label):
            label = value
    return label


def test_reg_gauss_matches_tf_playground():
    X, y = generate_points("reg_gauss", 500, 0.0, seed=0)
    np.testing.assert_allclose(y, [tf_regress_gaussian(a, b) for a, b in X.T])
    assert y.min() >= -1 and y.max() <= 1 and np.any(y == 0) and np.any(y > 0.5) and np.any(y < -0.5)


@pytest.mark.parametrize("kwargs, field", [
    (dict(name="ring"), "data.name"), (dict(n=0), "data.n"), (dict(n=2.5), "data.n"),
    (dict(noise=1.5), "data.noise"), (dict(noise=-0.1), "data.noise"),
    (dict(name="multi_blobs", classes=7), "data.classes"),
])
def test_bad_arguments_name_the_field(kwargs, field):
    args = dict(name="circle", n=100, noise=0.1, seed=0, classes=3) | kwargs
    with pytest.raises(ValueError, match=field):
        generate(**args)


def test_labels_to_targets_by_hand():
    np.testing.assert_array_equal(
        labels_to_targets(np.array([0, 2, 1, 2]), "multiclass", 3),
        [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 1]],
    )
    np.testing.assert_array_equal(labels_to_targets(np.array([1, 0, 1]), "binary", 2), [[1, 0, 1]])
    np.testing.assert_array_equal(labels_to_targets(np.array([0.5, -2.0]), "regression"), [[0.5, -2.0]])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        labels_to_targets(np.array([0, 2]), "binary", 2)
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        labels_to_targets(np.array([0, 3]), "multiclass", 3)
