"""Image datasets (engine/images.py): digits from scikit-learn, generated shapes, the split, the
per-channel normalization and the error when scikit-learn is missing."""
import builtins

import numpy as np
import pytest

from engine.config import load_config
from engine.data import prepare
from engine.images import SHAPE_CLASSES, ImageNormalizer, generate_shapes, load_digits

LAYERS = [{"type": "conv", "filters": 4, "size": 3, "padding": "same"}, {"type": "flatten"}]


def test_digits_are_sklearns_8x8_images():
    X, labels = load_digits()
    assert X.shape == (1797, 8, 8, 1) and labels.shape == (1797,)
    assert X.min() == 0 and X.max() == 16 and set(labels) == set(range(10))


def test_digits_prepared_for_layers_and_hidden():
    config = load_config({"data": {"name": "digits", "split": [0.6, 0.2, 0.2], "seed": 4},
                          "network": {"layers": LAYERS}})
    p = prepare(config)
    (Xtr, Ytr), (Xdv, _), (Xte, _) = p.train, p.dev, p.test
    assert Xtr.shape == (1078, 8, 8, 1) and Xdv.shape == (360, 8, 8, 1) and Xte.shape == (359, 8, 8, 1)
    assert Ytr.shape == (10, 1078) and np.all(Ytr.sum(axis=0) == 1)
    assert p.image_shape == (8, 8, 1) and p.example_axis == 0 and p.output == "softmax" and p.classes == 10
    assert p.class_names == [str(d) for d in range(10)]
    # normalized with the training set's μ, σ of the one channel
    assert abs(Xtr.mean()) < 1e-12 and abs(Xtr.std() - 1) < 1e-12
    assert p.normalizer.mu.shape == (1,)
    dense = prepare(load_config({"data": {"name": "digits", "split": [0.6, 0.2, 0.2], "seed": 4}}))
    assert dense.train[0].shape == (64, 1078) and dense.example_axis == 1
    # the same examples in the same order: column i is image i unrolled in (h, w, c) order
    np.testing.assert_array_equal(dense.train[0][:, 5], Xtr[5].ravel())


def test_missing_scikit_learn_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(ValueError, match=r'pip install "nn-playground\[cnn\]"'):
        load_digits()


def test_shapes_generator():
    X, labels = generate_shapes(120, size=16, noise=0.0, seed=3, classes=6)
    assert X.shape == (120, 16, 16, 1) and labels.shape == (120,)
    assert np.bincount(labels).tolist() == [20] * 6
    assert set(np.unique(X)) <= {0.0, 1.0}  # no noise: shape pixels 1, background 0
    assert np.all(X.reshape(120, -1).sum(axis=1) >= 6)  # every image shows a shape
    X2, _ = generate_shapes(120, size=16, noise=0.0, seed=3, classes=6)
    np.testing.assert_array_equal(X, X2)  # a seed fixes the images
    horizontal, vertical = X[labels == 0, :, :, 0], X[labels == 1, :, :, 0]
    # a horizontal bar spans more columns than rows, a vertical bar the other way round
    rows = lambda im: np.count_nonzero(im.any(axis=1))  # noqa: E731
    cols = lambda im: np.count_nonzero(im.any(axis=0))  # noqa: E731
    assert all(cols(im) > rows(im) for im in horizontal)
    assert all(rows(im) > cols(im) for im in vertical)
    noisy, _ = generate_shapes(60, size=12, noise=0.3, seed=3, classes=3)
    assert noisy.shape == (60, 12, 12, 1) and 0.2 < (noisy - np.round(noisy)).std() < 0.4
    with pytest.raises(ValueError, match="shapes has 6 classes"):
        generate_shapes(10, classes=7)
    assert len(SHAPE_CLASSES) == 6


def test_shapes_config_and_a_convnet_learns_them():
    from engine.trainer import Trainer

    config = {"data": {"name": "shapes", "n": 600, "size": 16, "noise": 0.1, "classes": 6, "split": [0.7, 0.3, 0.0]},
              "network": {"layers": [{"type": "conv", "filters": 8, "size": 3, "padding": "same"},
                                     {"type": "pool", "mode": "max", "size": 2},
                                     {"type": "conv", "filters": 8, "size": 3, "padding": "same"},
                                     {"type": "pool", "mode": "max", "size": 2},
                                     {"type": "flatten"}, {"type": "dense", "units": 32}]},
              "optimizer": {"name": "adam", "learning_rate": 0.005}, "batch_size": 32, "epochs": 8}
    trainer = Trainer(config)
    assert trainer.prepared.class_names == list(SHAPE_CLASSES)
    snap = trainer.run()
    assert snap.dev.accuracy > 0.8, snap.dev


def test_image_normalizer_per_channel():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4, 4, 3)) * np.array([1.0, 2.0, 0.0]) + np.array([5.0, -1.0, 7.0])
    norm = ImageNormalizer.fit(X)
    Z = norm.transform(X)
    np.testing.assert_allclose(Z.mean(axis=(0, 1, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=(0, 1, 2)), [1, 1, 0], atol=1e-12)  # a constant channel: σ = 1


def test_features_are_refused_for_images():
    with pytest.raises(ValueError, match="features: image data 'digits'"):
        load_config({"data": {"name": "digits"}, "features": ["x1"]})
