"""Image datasets for convolutional networks: scikit-learn's 8×8 handwritten digits and generated
shapes. Images are X of shape (m, n_H, n_W, n_C) (the course's layout, engine/conv.py), labels
are class indices, targets one-hot Y (C, m) as the dense softmax path has them.

    digits  the 1,797 8×8 grey images (pixel values 0..16) that scikit-learn ships inside its
            package (sklearn.datasets.load_digits: no download); 10 classes. Needs the optional
            extra `cnn` (pip install "nn-playground[cnn]").
    shapes  n generated size×size grey images with noise; classes in this order (data.classes
            takes the first C): horizontal bar, vertical bar, diagonal bar (either diagonal),
            square (outline), circle (ring), cross (+). Position, length/size and thickness vary,
            so a class is told by its edges (orientation, corners, curvature), wherever it lies:
            what conv filters and pooling are for. Pixels are 1 on the shape, 0 elsewhere, plus
            N(0, noise²) noise.

Normalization (`normalize`): x := (x − μ)/σ with one μ and σ per channel over every pixel of the
training images (ImageNormalizer), reused on dev and test.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.config import IMAGE_DATASETS

SHAPE_CLASSES = ("horizontal bar", "vertical bar", "diagonal bar", "square", "circle", "cross")
DIGIT_CLASSES = tuple(str(d) for d in range(10))
CNN_EXTRA = 'the "digits" dataset needs scikit-learn: pip install "nn-playground[cnn]" (or pip install scikit-learn)'


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """(X (1797, 8, 8, 1) float64 in 0..16, labels (1797,)) from scikit-learn's bundled copy."""
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError:
        raise ValueError(CNN_EXTRA) from None
    digits = sk_load_digits()
    return digits.images.astype(np.float64)[..., None], digits.target.astype(np.int64)


def generate_shapes(n: int, size: int = 16, noise: float = 0.1, seed: int = 0, classes: int = 6):
    """(X (n, size, size, 1), labels (n,)): n images, classes as even as possible (n // C each,
    the first n % C one more), grouped by class (the split shuffles). Vectorized over images:
    each class is drawn as a mask from per-image random parameters on a shared pixel grid."""
    if not 2 <= classes <= len(SHAPE_CLASSES):
        raise ValueError(f"data.classes: {classes}; shapes has {len(SHAPE_CLASSES)} classes (2..{len(SHAPE_CLASSES)})")
    rng = np.random.default_rng(seed)
    sizes = n // classes + (np.arange(classes) < n % classes)
    labels = np.repeat(np.arange(classes), sizes)
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5  # pixel centres
    S = float(size)
    images = np.zeros((n, size, size))
    for k in range(classes):  # one vectorized drawing per class (a loop over the few classes)
        idx = np.flatnonzero(labels == k)
        c = len(idx)
        # centre, half-length / radius and half-thickness, per image, (c, 1, 1) for broadcasting
        r = rng.uniform(0.2, 0.32, (c, 1, 1)) * S
        cy, cx = r + 0.5 + rng.uniform(0.0, 1.0, (2, c, 1, 1)) * (S - 2 * r - 1.0)  # the shape stays inside
        t = rng.uniform(0.5, 1.0, (c, 1, 1)) * max(1.0, S / 16)
        dy, dx = y - cy, x - cx
        name = SHAPE_CLASSES[k]
        if name == "horizontal bar":
            mask = (np.abs(dy) <= t) & (np.abs(dx) <= r)
        elif name == "vertical bar":
            mask = (np.abs(dx) <= t) & (np.abs(dy) <= r)
        elif name == "diagonal bar":
            sign = rng.choice([-1.0, 1.0], (c, 1, 1))  # "/" or "\"
            along, across = (dx + sign * dy) / np.sqrt(2), (dx - sign * dy) / np.sqrt(2)
            mask = (np.abs(across) <= t) & (np.abs(along) <= r)
        elif name == "square":
            inside = np.maximum(np.abs(dx), np.abs(dy))
            mask = (inside <= r) & (inside >= r - 2 * t)
        elif name == "circle":
            dist = np.sqrt(dx ** 2 + dy ** 2)
            mask = (dist <= r) & (dist >= r - 2 * t)
        else:  # cross
            mask = ((np.abs(dx) <= t) & (np.abs(dy) <= r)) | ((np.abs(dy) <= t) & (np.abs(dx) <= r))
        images[idx] = mask
    images += noise * rng.standard_normal(images.shape)
    return images[..., None], labels


@dataclass(frozen=True)
class ImageNormalizer:
    """x := (x − μ)/σ per channel, μ and σ (shape (n_C,)) over every pixel of the training images."""

    mu: np.ndarray
    sigma: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> "ImageNormalizer":
        if X.shape[0] == 0:
            raise ValueError("normalize: cannot fit μ and σ on an empty set")
        mu = X.mean(axis=(0, 1, 2))
        sigma = X.std(axis=(0, 1, 2))
        return cls(mu=mu, sigma=np.where(sigma > 1e-12, sigma, 1.0))

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, dtype=np.float64) - self.mu) / self.sigma


def image_data(config) -> tuple[np.ndarray, np.ndarray, int, tuple]:
    """(X (m, n_H, n_W, n_C), labels (m,), classes, class names) of an image dataset config."""
    data = config.data
    if data.name == "digits":
        X, labels = load_digits()
        return X, labels, 10, DIGIT_CLASSES
    if data.name == "shapes":
        X, labels = generate_shapes(data.n, data.size, data.noise, data.seed, data.classes)
        return X, labels, data.classes, SHAPE_CLASSES[: data.classes]
    raise ValueError(f"data.name: {data.name!r} is not an image dataset ({', '.join(IMAGE_DATASETS)})")


def prepare_images(config, backend: Any = None):
    """engine.data.Prepared for image data: the split (data.split, seed data.seed), per-channel
    normalization fitted on train, one-hot targets (C, m). X stays (m, n_H, n_W, n_C) for
    network.layers; for network.hidden (a dense net on the pixels) each image is unrolled into a
    column in (h, w, c) order, X (n_H·n_W·n_C, m), as a flatten layer would."""
    from engine.data import Prepared, split, labels_to_targets  # data.py dispatches here

    X, labels, classes, names = image_data(config)
    m = X.shape[0]
    # engine.data.split shuffles columns: split the example indices, then take the images.
    sets = split(np.arange(m)[None, :], labels[None, :], config.data.split, config.data.seed)
    if sets.train[0].shape[1] == 0:
        raise ValueError(f"data.split: the train set is empty ({m} examples, ratios {list(config.data.split)})")
    images = {name: X[idx[0]] for name, (idx, _) in sets.items()}
    normalizer = ImageNormalizer.fit(images["train"]) if config.normalize else None
    if normalizer is not None:
        images = {name: normalizer.transform(im) for name, im in images.items()}
    conv = config.network.layers is not None

    def to_backend(a):
        return np.asarray(a, dtype=np.float64) if backend is None else backend.xp.asarray(a, dtype=backend.dtype)

    def layout(im):
        return im if conv else im.reshape(im.shape[0], int(np.prod(im.shape[1:]))).T

    ready = {name: (to_backend(layout(images[name])), to_backend(labels_to_targets(lab[0], "multiclass", classes)))
             for name, (_, lab) in sets.items()}
    shape = X.shape[1:]
    n_x = int(np.prod(shape))
    prepared = Prepared(
        train=ready["train"], dev=ready["dev"], test=ready["test"], kind="multiclass", classes=classes,
        n_x=n_x, n_y=classes, output="softmax", feature_names=[], features=None, normalizer=normalizer,
        raw={name: {"y": lab[0]} for name, (_, lab) in sets.items()}, domain=None, backend=backend,
        image_shape=tuple(int(n) for n in shape), class_names=list(names), example_axis=0 if conv else 1,
    )
    return prepared
