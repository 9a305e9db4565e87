"""Data for the trainer: generators (engine.datasets) and CSV files (engine.csvdata), the
train/dev/test split, the feature map, input normalization, and `prepare`, which turns a
TrainConfig into ready (X, Y) sets in the course's layout (examples as columns).

Data is generated and prepared with NumPy in float64; `prepare(..., backend=be)` converts the
final arrays with `be.xp.asarray(a, dtype=be.dtype)`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np

from engine.config import DATASET_KINDS, IMAGE_DATASETS, OUTPUTS
from engine.csvdata import MAX_CSV_CLASSES, MAX_CSV_ROWS, SPLIT_NAMES, CsvData, load_csv
from engine.datasets import DOMAIN, GENERATORS, classes_of, generate, generate_points, labels_to_targets

__all__ = [
    "DOMAIN", "GENERATORS", "MAX_CSV_ROWS", "MAX_CSV_CLASSES", "CsvData", "load_csv", "generate",
    "generate_points", "labels_to_targets", "Splits", "split", "split_by_column", "split_counts",
    "FEATURE_FUNCTIONS", "FeatureMap", "Normalizer", "OUTPUTS", "resolve_output", "Prepared", "prepare",
]

# --- train / dev / test ----------------------------------------------------------------------

@dataclass(frozen=True)
class Splits:
    """Three (X, Y) pairs; an empty set has X with 0 columns."""

    train: tuple[np.ndarray, np.ndarray]
    dev: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]

    def items(self) -> list[tuple[str, tuple[np.ndarray, np.ndarray]]]:
        return [(name, getattr(self, name)) for name in SPLIT_NAMES]


def split_counts(m: int, ratios: Sequence[float]) -> tuple[int, int, int]:
    """Set sizes by cumulative rounding: boundary_k = ⌊m·(r_1 + … + r_k) + ½⌋, so the sizes sum to m
    and each is within 1 of m·r_k (60/20/20 of 1000 → 600/200/200, 98/1/1 → 980/10/10)."""
    r = np.asarray(ratios, dtype=np.float64)
    if r.shape != (3,) or np.any(r < 0) or not np.isclose(r.sum(), 1.0, atol=1e-6):
        raise ValueError(f"data.split: {list(ratios)!r}; need 3 ratios in [0, 1] summing to 1 (train, dev, test)")
    bounds = np.floor(m * np.cumsum(r) + 0.5).astype(int)
    bounds[-1] = m
    return tuple(int(c) for c in np.diff(bounds, prepend=0))


def split(X: np.ndarray, Y: np.ndarray, ratios: Sequence[float], seed: int) -> Splits:
    """Shuffle the m columns with `default_rng(seed).permutation(m)` and cut them into
    train / dev / test of `split_counts(m, ratios)` columns."""
    m = X.shape[1]
    n_train, n_dev, _ = split_counts(m, ratios)
    order = np.random.default_rng(seed).permutation(m)
    parts = np.split(order, [n_train, n_train + n_dev])
    return Splits(*[(X[:, idx], Y[:, idx]) for idx in parts])


def split_by_column(X: np.ndarray, Y: np.ndarray, column: Sequence[str]) -> Splits:
    """The split a CSV `split` column gives: column i names the set of example i (file order kept)."""
    names = np.asarray(column)
    if names.shape != (X.shape[1],) or not np.all(np.isin(names, SPLIT_NAMES)):
        raise ValueError(f"split: need one of {', '.join(SPLIT_NAMES)} per example ({X.shape[1]} examples)")
    return Splits(*[(X[:, names == s], Y[:, names == s]) for s in SPLIT_NAMES])


# --- feature map -----------------------------------------------------------------------------

FEATURE_FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {  # the formulas of config.CROSS_FEATURES
    "x1_sq": lambda X: X[0] ** 2,
    "x2_sq": lambda X: X[1] ** 2,
    "x1x2": lambda X: X[0] * X[1],
    "sin_x1": lambda X: np.sin(X[0]),
    "sin_x2": lambda X: np.sin(X[1]),
}
_INPUT = re.compile(r"^x([1-9][0-9]*)$")


class FeatureMap:
    """The network's inputs built from the raw inputs x1..xn: row j of apply(X) is feature names[j]:
    xk (row k of X), x1_sq = x1², x2_sq = x2², x1x2 = x1·x2, sin_x1 = sin x1, sin_x2 = sin x2
    (the last five only for 2-D data)."""

    def __init__(self, names: Sequence[str], n_inputs: Optional[int] = None):
        names = list(names)
        if not names:
            raise ValueError("features: at least one feature is needed")
        for name in names:
            if name not in FEATURE_FUNCTIONS and not _INPUT.match(name):
                raise ValueError(f"features: unknown feature {name!r}; allowed x1..xn, {', '.join(FEATURE_FUNCTIONS)}")
        if len(set(names)) != len(names):
            raise ValueError(f"features: {names!r} repeats a feature")
        self.names = tuple(names)
        if n_inputs is not None:
            self.check(n_inputs)

    @classmethod
    def identity(cls, n_inputs: int) -> "FeatureMap":
        """x1..xn unchanged."""
        return cls([f"x{k}" for k in range(1, n_inputs + 1)], n_inputs)

    def check(self, n_inputs: int) -> None:
        """Raise if a feature needs an input the data (n_inputs rows) does not have."""
        for name in self.names:
            if name in FEATURE_FUNCTIONS and n_inputs != 2:
                raise ValueError(f"features: {name!r} needs 2-D data (x1, x2); this data has {n_inputs} inputs")
            match = _INPUT.match(name)
            if match and int(match.group(1)) > n_inputs:
                raise ValueError(f"features: {name!r} is out of range; this data has inputs x1..x{n_inputs}")

    def apply(self, X: np.ndarray) -> np.ndarray:
        """X (n, m) raw → (len(names), m) features, float64."""
        X = np.asarray(X, dtype=np.float64)
        self.check(X.shape[0])
        rows = [FEATURE_FUNCTIONS[name](X) if name in FEATURE_FUNCTIONS else X[int(name[1:]) - 1] for name in self.names]
        return np.stack(rows).reshape(len(rows), X.shape[1])

    def __repr__(self) -> str:
        return f"FeatureMap({list(self.names)!r})"


# --- normalization ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Normalizer:
    """x := (x - μ) / σ per input row, μ = (1/m) Σ x, σ² = (1/m) Σ (x - μ)², fitted on the train set
    and reused unchanged on dev, test and the plotting grid. A constant row gets σ = 1."""

    mu: np.ndarray  # (n, 1)
    sigma: np.ndarray  # (n, 1)

    @classmethod
    def fit(cls, X: np.ndarray) -> "Normalizer":
        X = np.asarray(X, dtype=np.float64)
        if X.shape[1] == 0:
            raise ValueError("normalize: cannot fit μ and σ on an empty set")
        mu = X.mean(axis=1, keepdims=True)
        sigma = np.sqrt(((X - mu) ** 2).mean(axis=1, keepdims=True))
        # Rounding leaves a tiny σ on a constant row; dividing by it would blow rounding noise up.
        sigma = np.where(sigma <= 1e-12 * (1.0 + np.abs(mu)), 1.0, sigma)
        return cls(mu=mu, sigma=sigma)

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.shape[0] != self.mu.shape[0]:
            raise ValueError(f"normalize: X has {X.shape[0]} rows, the normalizer was fitted on {self.mu.shape[0]}")
        return (X - self.mu) / self.sigma


# --- prepare ---------------------------------------------------------------------------------

def resolve_output(kind: str, output: Optional[str] = None) -> str:
    """The output activation for the data's kind: `output` if it fits, the kind's default if None."""
    allowed = OUTPUTS[kind]
    if output is None:
        return allowed[0]
    if output not in allowed:
        raise ValueError(f"network.output: {output!r} does not fit {kind} data; allowed: {', '.join(allowed)}")
    return output


@dataclass
class Prepared:
    """Everything the trainer needs. train/dev/test: (X, Y) after features and normalization, as
    backend arrays; raw[set] = {"x1": …, "xn": …, "y": …} NumPy points before features (y a class
    index or a value); domain = (xmin, xmax, ymin, ymax) of the raw 2-D inputs, None if not 2-D."""

    train: tuple[Any, Any]
    dev: tuple[Any, Any]
    test: tuple[Any, Any]
    kind: str  # binary | multiclass | regression
    classes: Optional[int]  # 2 for binary, C for multiclass, None for regression
    n_x: int  # network inputs (features)
    n_y: int  # output units
    output: str  # sigmoid | softmax | linear
    feature_names: list[str]
    features: FeatureMap
    normalizer: Optional[Normalizer]
    raw: dict[str, dict[str, np.ndarray]]
    domain: Optional[tuple[float, float, float, float]]
    backend: Any = field(default=None, repr=False)
    # Image data (engine/images.py): (n_H, n_W, n_C) of one example, the class names, and the
    # axis of X that counts examples: 0 for (m, n_H, n_W, n_C) images, 1 for columns (n_x, m).
    image_shape: Optional[tuple[int, int, int]] = None
    class_names: Optional[list[str]] = None
    example_axis: int = 1

    def transform(self, X_raw: Any) -> Any:
        """Raw inputs (n, m) → network inputs: the same feature map and train-set normalization."""
        X = self.features.apply(X_raw.get() if hasattr(X_raw, "get") else X_raw)  # cupy → numpy
        if self.normalizer is not None:
            X = self.normalizer.transform(X)
        return _to_backend(X, self.backend)


def _to_backend(a: np.ndarray, backend: Any) -> Any:
    return np.asarray(a, dtype=np.float64) if backend is None else backend.xp.asarray(a, dtype=backend.dtype)


def _domain(X: np.ndarray) -> tuple[float, float, float, float]:
    """The data's bounding box padded by 10% of its span on each side (1 where the span is 0)."""
    lo, hi = X.min(axis=1), X.max(axis=1)
    pad = np.where(hi > lo, 0.1 * (hi - lo), 1.0)
    return (float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1]))


def prepare(config, csv: Optional[CsvData] = None, backend: Any = None) -> Prepared:
    """From a TrainConfig: the data (generated, or `csv` when data.name == "csv"; `csv` is ignored
    otherwise), the split (ratios with seed data.seed, or the CSV's split column), the feature map,
    the normalization fitted on train, and targets for the kind: binary (1, m), multiclass one-hot
    (C, m), regression (1, m); binary data with a softmax output gets one-hot (2, m) targets."""
    data = config.data
    if data.name in IMAGE_DATASETS:
        from engine.images import prepare_images

        return prepare_images(config, backend)
    if data.name == "csv":
        if csv is None:
            raise ValueError("data.name: 'csv' needs an uploaded CSV file")
        X_raw, labels, kind, classes = csv.X, csv.labels, csv.kind, csv.classes
    else:
        X_raw, labels = generate_points(data.name, data.n, data.noise, data.seed, data.classes)
        X_raw = X_raw * np.asarray(data.scale)[:, None]
        kind, classes = DATASET_KINDS[data.name], classes_of(data.name, data.classes)
    output = resolve_output(kind, config.network.output)
    target_kind = "multiclass" if output == "softmax" else kind

    label_row = labels[None, :]  # split labels with the points; targets are built per set
    if data.name == "csv" and csv.split is not None:
        sets = split_by_column(X_raw, label_row, csv.split)
    else:
        sets = split(X_raw, label_row, data.split, data.seed)
    if sets.train[0].shape[1] == 0:
        raise ValueError(f"data.split: the train set is empty ({X_raw.shape[1]} examples, ratios {list(data.split)})")

    n_raw = X_raw.shape[0]
    features = FeatureMap(config.features, n_raw) if config.features else FeatureMap.identity(n_raw)
    inputs = {name: features.apply(X) for name, (X, _) in sets.items()}
    normalizer = Normalizer.fit(inputs["train"]) if config.normalize else None
    if normalizer is not None:
        inputs = {name: normalizer.transform(X) for name, X in inputs.items()}

    ready = {
        name: (_to_backend(inputs[name], backend), _to_backend(labels_to_targets(lab, target_kind, classes), backend))
        for name, (_, lab) in sets.items()
    }
    raw = {
        name: {**{f"x{k + 1}": X[k] for k in range(n_raw)}, "y": lab[0]} for name, (X, lab) in sets.items()
    }
    if data.name != "csv":
        sx, sy = data.scale
        domain = (DOMAIN[0] * sx, DOMAIN[1] * sx, DOMAIN[0] * sy, DOMAIN[1] * sy)
    else:
        domain = _domain(X_raw) if n_raw == 2 else None
    return Prepared(
        train=ready["train"], dev=ready["dev"], test=ready["test"], kind=kind, classes=classes,
        n_x=len(features.names), n_y=classes if target_kind == "multiclass" else 1, output=output,
        feature_names=list(features.names), features=features, normalizer=normalizer, raw=raw,
        domain=domain, backend=backend,
    )
