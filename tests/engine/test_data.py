"""Split, feature map, normalization and `prepare` (generators: test_datasets.py, CSV: test_csvdata.py)."""
from types import SimpleNamespace

import numpy as np
import pytest

from engine.config import CROSS_FEATURES, TrainConfig
from engine.data import (
    DOMAIN, FEATURE_FUNCTIONS, FeatureMap, Normalizer, load_csv, prepare, resolve_output, split, split_by_column, split_counts,
)


def config(**data) -> TrainConfig:
    extra = {k: data.pop(k) for k in ("features", "normalize", "network") if k in data}
    return TrainConfig.model_validate({"data": data, **extra})


# --- split -----------------------------------------------------------------------------------

@pytest.mark.parametrize("m, ratios, counts", [
    (1000, (0.6, 0.2, 0.2), (600, 200, 200)),
    (1000, (0.98, 0.01, 0.01), (980, 10, 10)),
    (1000, (1.0, 0.0, 0.0), (1000, 0, 0)),
    (7, (0.5, 0.25, 0.25), (4, 1, 2)),  # boundaries ⌊3.5 + ½⌋ = 4, ⌊5.25 + ½⌋ = 5, 7
    (10, (0.7, 0.2, 0.1), (7, 2, 1)),
    (5, (0.5, 0.5, 0.0), (3, 2, 0)),  # halves round up: ⌊2.5 + ½⌋ = 3
    (3, (0.34, 0.33, 0.33), (1, 1, 1)),
])
def test_split_counts(m, ratios, counts):
    assert split_counts(m, ratios) == counts


def test_split_counts_always_sum_to_m_and_stay_within_one():
    rng = np.random.default_rng(0)
    for _ in range(200):
        m, r = int(rng.integers(0, 500)), rng.dirichlet(np.ones(3))
        counts = split_counts(m, r)
        assert sum(counts) == m and min(counts) >= 0
        assert np.all(np.abs(np.array(counts) - m * r) < 1 + 1e-9)


@pytest.mark.parametrize("ratios", [(0.5, 0.5), (0.6, 0.6, -0.2), (0.5, 0.2, 0.2)])
def test_split_counts_rejects_bad_ratios(ratios):
    with pytest.raises(ValueError, match="data.split"):
        split_counts(10, ratios)


def test_split_shuffles_keeps_pairs_and_uses_every_example_once():
    X = np.vstack([np.arange(1000.0), -np.arange(1000.0)])
    Y = np.arange(1000.0)[None, :] * 10
    sets = split(X, Y, (0.6, 0.2, 0.2), seed=3)
    assert [s[0].shape for _, s in sets.items()] == [(2, 600), (2, 200), (2, 200)]
    for _, (Xs, Ys) in sets.items():
        np.testing.assert_array_equal(Ys[0], Xs[0] * 10)  # columns stay paired
        np.testing.assert_array_equal(Xs[1], -Xs[0])
    order = np.concatenate([s[0][0] for _, s in sets.items()])
    np.testing.assert_array_equal(np.sort(order), np.arange(1000))
    assert not np.array_equal(order, np.arange(1000))  # shuffled
    np.testing.assert_array_equal(split(X, Y, (0.6, 0.2, 0.2), seed=3).dev[0], sets.dev[0])
    assert not np.array_equal(split(X, Y, (0.6, 0.2, 0.2), seed=4).dev[0], sets.dev[0])


def test_split_empty_sets_have_zero_columns():
    X, Y = np.ones((2, 50)), np.zeros((3, 50))
    sets = split(X, Y, (1.0, 0.0, 0.0), seed=0)
    assert sets.train[0].shape == (2, 50)
    assert sets.dev[0].shape == (2, 0) and sets.dev[1].shape == (3, 0) and sets.test[0].shape == (2, 0)


def test_split_by_column_keeps_file_order():
    X = np.arange(10.0).reshape(2, 5)
    sets = split_by_column(X, X[:1] * 2, ["dev", "train", "train", "test", "dev"])
    np.testing.assert_array_equal(sets.train[0], [[1, 2], [6, 7]])
    np.testing.assert_array_equal(sets.dev[1], [[0, 8]])
    np.testing.assert_array_equal(sets.test[0], [[3], [8]])
    with pytest.raises(ValueError, match="split"):
        split_by_column(X, X, ["train", "valid", "train", "train", "train"])


# --- feature map -----------------------------------------------------------------------------

def test_feature_map_values_by_hand_in_the_given_order():
    X = np.array([[1.0, 2.0, -0.5], [3.0, 0.0, 2.0]])
    fm = FeatureMap(["x1x2", "x2", "x1_sq", "x2_sq", "sin_x1", "sin_x2", "x1"])
    np.testing.assert_allclose(fm.apply(X), [
        [3.0, 0.0, -1.0],
        [3.0, 0.0, 2.0],
        [1.0, 4.0, 0.25],
        [9.0, 0.0, 4.0],
        [0.8414709848078965, 0.9092974268256817, -0.479425538604203],
        [0.1411200080598672, 0.0, 0.9092974268256817],
        [1.0, 2.0, -0.5],
    ])


def test_feature_map_knows_every_feature_the_config_allows():
    assert set(FEATURE_FUNCTIONS) == set(CROSS_FEATURES)


def test_feature_map_picks_rows_of_n_dimensional_data():
    X = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(FeatureMap(["x4", "x2"]).apply(X), [[9, 10, 11], [3, 4, 5]])
    np.testing.assert_array_equal(FeatureMap.identity(4).apply(X), X)


@pytest.mark.parametrize("names, message", [
    (["x0"], "features: unknown feature 'x0'"),
    (["x1_cube"], "features: unknown feature 'x1_cube'; allowed x1..xn, x1_sq, x2_sq, x1x2, sin_x1, sin_x2"),
    (["x1", "x1"], "features: .* repeats a feature"),
    ([], "features: at least one feature"),
])
def test_feature_map_rejects_bad_names(names, message):
    with pytest.raises(ValueError, match=message):
        FeatureMap(names)


@pytest.mark.parametrize("names, n, message", [
    (["x1", "x1x2"], 3, r"features: 'x1x2' needs 2-D data \(x1, x2\); this data has 3 inputs"),
    (["sin_x1"], 1, "'sin_x1' needs 2-D data"),
    (["x3"], 2, r"features: 'x3' is out of range; this data has inputs x1..x2"),
])
def test_feature_map_rejects_inputs_the_data_lacks(names, n, message):
    with pytest.raises(ValueError, match=message):
        FeatureMap(names, n_inputs=n)
    with pytest.raises(ValueError, match=message):  # also when applied without n_inputs
        FeatureMap(names).apply(np.zeros((n, 4)))


# --- normalizer ------------------------------------------------------------------------------

def test_normalizer_by_hand():
    train = np.array([[1.0, 2.0, 3.0], [10.0, 10.0, 10.0]])
    norm = Normalizer.fit(train)
    np.testing.assert_allclose(norm.mu, [[2.0], [10.0]])
    np.testing.assert_allclose(norm.sigma, [[np.sqrt(2 / 3)], [1.0]])  # σ² = (1/m)Σ(x-μ)²; constant row → 1
    dev = np.array([[4.0, 2.0], [12.0, 9.0]])
    np.testing.assert_allclose(norm.transform(dev), [[2 / np.sqrt(2 / 3), 0.0], [2.0, -1.0]])
    np.testing.assert_allclose(norm.transform(train), [[-np.sqrt(1.5), 0, np.sqrt(1.5)], [0, 0, 0]])


def test_normalizer_constant_row_with_rounding_noise_is_left_unscaled():
    norm = Normalizer.fit(np.full((1, 7), 0.1) * 1e6)
    np.testing.assert_array_equal(norm.sigma, [[1.0]])


def test_normalizer_errors():
    with pytest.raises(ValueError, match="empty"):
        Normalizer.fit(np.zeros((2, 0)))
    with pytest.raises(ValueError, match="3 rows"):
        Normalizer.fit(np.ones((2, 4))).transform(np.ones((3, 4)))


# --- prepare ---------------------------------------------------------------------------------

def test_prepare_binary_end_to_end():
    p = prepare(config(name="circle", n=500, noise=0.1, seed=4, split=(0.6, 0.2, 0.2)))
    assert (p.kind, p.classes, p.n_x, p.n_y, p.output) == ("binary", 2, 2, 1, "sigmoid")
    assert [p.train[0].shape, p.dev[0].shape, p.test[0].shape] == [(2, 300), (2, 100), (2, 100)]
    assert p.train[1].shape == (1, 300) and set(np.unique(p.train[1])) == {0.0, 1.0}
    assert p.domain == (DOMAIN[0], DOMAIN[1], DOMAIN[0], DOMAIN[1])
    assert p.feature_names == ["x1", "x2"]
    for name, (X, Y) in (("train", p.train), ("dev", p.dev), ("test", p.test)):
        raw = p.raw[name]
        assert set(raw) == {"x1", "x2", "y"}
        np.testing.assert_array_equal(raw["y"], Y[0])  # raw y is the class index
        np.testing.assert_allclose(p.transform(np.stack([raw["x1"], raw["x2"]])), X)


def test_prepare_normalizes_with_train_statistics_only():
    p = prepare(config(name="gauss", n=400, noise=0.3, seed=1, split=(0.5, 0.3, 0.2)))
    train_raw = np.stack([p.raw["train"]["x1"], p.raw["train"]["x2"]])
    dev_raw = np.stack([p.raw["dev"]["x1"], p.raw["dev"]["x2"]])
    mu, sigma = train_raw.mean(axis=1, keepdims=True), train_raw.std(axis=1, keepdims=True)
    np.testing.assert_allclose(p.normalizer.mu, mu)
    np.testing.assert_allclose(p.dev[0], (dev_raw - mu) / sigma)  # dev uses train's μ, σ
    np.testing.assert_allclose(p.train[0].mean(axis=1), 0.0, atol=1e-12)
    assert not np.allclose(p.dev[0].mean(axis=1), 0.0, atol=1e-6)
    grid = np.array([[0.0, 6.0], [0.0, -6.0]])
    np.testing.assert_allclose(p.transform(grid), (grid - mu) / sigma)


def test_prepare_features_then_normalization_and_normalize_off():
    p = prepare(config(name="xor", n=200, seed=2, features=["x1x2", "x1_sq", "x1"]))
    assert p.n_x == 3 and p.feature_names == ["x1x2", "x1_sq", "x1"]
    np.testing.assert_allclose(p.train[0].std(axis=1), 1.0)
    q = prepare(config(name="xor", n=200, seed=2, features=["x1x2", "x1_sq", "x1"], normalize=False))
    assert q.normalizer is None
    raw = q.raw["train"]
    np.testing.assert_allclose(q.train[0], [raw["x1"] * raw["x2"], raw["x1"] ** 2, raw["x1"]])


def test_prepare_multiclass_one_hot():
    p = prepare(config(name="multi_blobs", n=300, classes=4, noise=0.1))
    assert (p.kind, p.classes, p.n_y, p.output) == ("multiclass", 4, 4, "softmax")
    Y = p.train[1]
    assert Y.shape == (4, 240)
    np.testing.assert_array_equal(Y.sum(axis=0), 1.0)
    np.testing.assert_array_equal(np.argmax(Y, axis=0), p.raw["train"]["y"])


def test_prepare_binary_with_softmax_output_gets_two_row_targets():
    p = prepare(config(name="moons", n=100, network={"output": "softmax"}))
    assert (p.output, p.n_y, p.train[1].shape) == ("softmax", 2, (2, 80))
    np.testing.assert_array_equal(p.train[1][1], p.raw["train"]["y"])


def test_prepare_regression():
    p = prepare(config(name="reg_plane", n=200, noise=0.0))
    assert (p.kind, p.classes, p.n_y, p.output) == ("regression", None, 1, "linear")
    raw = p.raw["train"]
    np.testing.assert_allclose(p.train[1][0], (raw["x1"] + raw["x2"]) / 10)


def test_prepare_converts_with_the_backend():
    be = SimpleNamespace(xp=np, dtype=np.float32, name="numpy")
    p = prepare(config(name="spiral", n=100), backend=be)
    assert p.train[0].dtype == np.float32 and p.dev[1].dtype == np.float32
    assert p.transform(np.zeros((2, 3))).dtype == np.float32
    assert p.raw["train"]["x1"].dtype == np.float64  # raw points stay NumPy float64
    assert prepare(config(name="spiral", n=100)).train[0].dtype == np.float64


def test_prepare_is_deterministic_for_the_data_seed():
    a, b = prepare(config(name="flower", n=300, noise=0.2, seed=5)), prepare(config(name="flower", n=300, noise=0.2, seed=5))
    np.testing.assert_array_equal(a.train[0], b.train[0])
    c = prepare(config(name="flower", n=300, noise=0.2, seed=6))
    assert not np.allclose(a.train[0], c.train[0])


CSV = "x1,x2,label\n" + "".join(f"{i},{10 * (i % 7)},{i % 2}\n" for i in range(50))


def test_prepare_csv_binary_ratio_split_and_padded_domain():
    p = prepare(config(name="csv", split=(0.6, 0.2, 0.2)), csv=load_csv(CSV))
    assert (p.kind, p.classes, p.output) == ("binary", 2, "sigmoid")
    assert [p.train[0].shape[1], p.dev[0].shape[1], p.test[0].shape[1]] == [30, 10, 10]
    assert p.domain == pytest.approx((-4.9, 53.9, -6.0, 66.0))  # x1 in [0, 49], x2 in [0, 60], ±10%


def test_prepare_csv_split_column_overrides_ratios():
    text = "x1,x2,label,split\n" + "".join(
        f"{i},{i % 3},{i % 2},{['train', 'train', 'dev', 'test', 'train'][i % 5]}\n" for i in range(20)
    )
    p = prepare(config(name="csv", split=(0.98, 0.01, 0.01)), csv=load_csv(text))
    assert [p.train[0].shape[1], p.dev[0].shape[1], p.test[0].shape[1]] == [12, 4, 4]
    np.testing.assert_array_equal(p.raw["dev"]["x1"], [2, 7, 12, 17])


def test_prepare_csv_multiclass_regression_and_many_inputs():
    multi = load_csv("x1,x2,label\n0,0,0\n1,1,1\n2,2,2\n3,3,0\n4,4,1\n5,5,2\n6,6,0\n7,7,1\n8,8,2\n9,9,0\n")
    p = prepare(config(name="csv"), csv=multi)
    assert (p.kind, p.classes, p.n_y, p.train[1].shape[0]) == ("multiclass", 3, 3, 3)
    reg = load_csv("x1,x2,x3,label\n" + "".join(f"{i},{i * i},{-i},{i / 2}\n" for i in range(20)))
    p = prepare(config(name="csv"), csv=reg)
    assert (p.kind, p.output, p.n_x, p.domain) == ("regression", "linear", 3, None)
    assert set(p.raw["train"]) == {"x1", "x2", "x3", "y"}
    np.testing.assert_allclose(p.train[1][0], p.raw["train"]["x1"] / 2)


def test_prepare_errors():
    with pytest.raises(ValueError, match="data.name: 'csv' needs"):
        prepare(config(name="csv"))
    reg = load_csv("x1,x2,x3,label\n" + "".join(f"{i},{i},{i},{i}.5\n" for i in range(20)))
    with pytest.raises(ValueError, match="network.output: 'sigmoid' does not fit regression"):
        prepare(TrainConfig.model_validate({"data": {"name": "csv"}, "network": {"output": "sigmoid"}}), csv=reg)
    with pytest.raises(ValueError, match="features: 'x1x2' needs 2-D data"):
        prepare(config(name="csv", features=["x1x2"]), csv=reg)
    with pytest.raises(ValueError, match="features: 'x3' is out of range"):
        prepare(config(name="circle", features=["x3"]))
    with pytest.raises(ValueError, match="data.split: the train set is empty"):
        prepare(config(name="circle", n=10, split=(0.01, 0.99, 0.0)))


def test_resolve_output():
    assert [resolve_output(k) for k in ("binary", "multiclass", "regression")] == ["sigmoid", "softmax", "linear"]
    assert resolve_output("binary", "softmax") == "softmax"
    with pytest.raises(ValueError, match="network.output: 'linear' does not fit multiclass data; allowed: softmax"):
        resolve_output("multiclass", "linear")


def test_data_scale_stretches_generated_points_and_the_domain():
    plain = prepare(TrainConfig.model_validate({"data": {"name": "moons", "n": 50}, "normalize": False}))
    stretched = prepare(TrainConfig.model_validate(
        {"data": {"name": "moons", "n": 50, "scale": [10, 0.1]}, "normalize": False}))
    np.testing.assert_allclose(stretched.train[0], plain.train[0] * np.array([[10.0], [0.1]]), rtol=1e-15)
    np.testing.assert_array_equal(stretched.train[1], plain.train[1])  # same labels, same split
    assert stretched.domain == pytest.approx((-60.0, 60.0, -0.6, 0.6))
    assert plain.domain == (-6.0, 6.0, -6.0, 6.0)
    with pytest.raises(ValueError, match=r"data\.scale"):
        TrainConfig.model_validate({"data": {"scale": [0, 1]}})
