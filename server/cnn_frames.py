"""What a session on image data (digits, shapes; the CNN lab's Live ConvNet, `/ws/cnn`) sends
instead of the playground's boundary and neuron grids (docs/protocol.md "CNN lab").

Image data has no 2-D plane to draw a boundary on. Its `data` message carries the network's
layers (shapes, parameter counts and what a dense layer between the same volumes would need) and a
gallery of dev images to choose an example from; its frames carry, besides the playground's
header (costs, accuracies, norms, diagnosis), a `cnn` header (the chosen example's true class,
prediction and probabilities, the dev set's confusion matrix, the misclassified dev examples) and
arrays: the example, every layer's feature maps for it, every conv filter bank, thumbnails of a
few misclassified examples.

Everything is computed from the engine's public surface (ConvNet.hidden_outputs / predict,
Network.hidden_outputs for a dense net on the pixels, the parameters): the engine is not changed.
"""
from __future__ import annotations

import json
import sys
import time
from typing import Any

import numpy as np
from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from server import limits
from server.frames import encode_frame


def warm_up(config: Any) -> float:
    """Import scikit-learn's dataset module the first time this process needs it (the digits
    come from it); returns the seconds that took (0 after the first time). It is the worker's
    one-off setup, not the client's command: the scheduler does not charge it to the session's
    command budget (a second of debt would hold the client's next commands for several seconds)."""
    if getattr(config.data, "name", None) != "digits" or "sklearn.datasets" in sys.modules:
        return 0.0
    started = time.perf_counter()
    try:
        import sklearn.datasets  # noqa: F401
    except ImportError:
        pass  # the engine says which extra is missing
    return time.perf_counter() - started


def is_image_session(trainer: Any) -> bool:
    return getattr(trainer.prepared, "image_shape", None) is not None


def _to_numpy(a: Any) -> np.ndarray:
    return np.asarray(a.get() if hasattr(a, "get") else a)


def _dense_between(n_in: int, n_out: int) -> int:
    """Parameters of a dense layer joining n_in inputs to n_out units (weights and biases)."""
    return n_in * n_out + n_out


def layer_table(trainer: Any) -> list[dict]:
    """One entry per layer l = 1..L: `l`, `type`, `in_shape`, `out_shape` ([n_H, n_W, n_C] or
    [n]), `parameters` (trainable, this layer), `dense` (a dense layer between the same input and
    output volumes: n_in·n_out + n_out; for a residual block, its two convs' each), `why` (the
    shape arithmetic), `spec` (the layer's config entry)."""
    net = trainer.network
    if hasattr(net, "plans"):  # a ConvNet
        counts = net.parameter_counts()
        rows = []
        for plan, count in zip(net.plans, counts):
            n_in, n_out = int(np.prod(plan.in_shape)), int(np.prod(plan.out_shape))
            kind = plan.type
            dense = (0 if kind == "flatten" else
                     2 * _dense_between(n_in, n_out) if kind == "residual" else _dense_between(n_in, n_out))
            rows.append({"l": plan.index + 1, "type": kind, "in_shape": list(plan.in_shape),
                         "out_shape": list(plan.out_shape), "parameters": int(count), "dense": dense,
                         "why": plan.why, "spec": dict(plan.spec)})
        n_last = int(np.prod(net.shapes[-2]))
        n_y = int(net.shapes[-1][0])
        rows.append({"l": net.L, "type": "output", "in_shape": [n_last], "out_shape": [n_y],
                     "parameters": int(counts[-1]), "dense": _dense_between(n_last, n_y),
                     "why": f"{net.output} output, {n_y} classes", "spec": {"type": "dense", "units": n_y}})
        return rows
    dims = list(trainer.layer_dims)  # a dense net on the unrolled pixels
    rows = []
    for l in range(1, len(dims)):
        count = _dense_between(dims[l - 1], dims[l])
        out = l == len(dims) - 1
        rows.append({"l": l, "type": "output" if out else "dense", "in_shape": [dims[l - 1]], "out_shape": [dims[l]],
                     "parameters": count, "dense": count,
                     "why": (f"output, {dims[l]} classes" if out else f"dense {dims[l]} units")
                     + (f" (the {dims[0]} pixels unrolled)" if l == 1 else ""),
                     "spec": {"type": "dense", "units": dims[l]}})
    return rows


def _images(trainer: Any, name: str) -> np.ndarray:
    """The set's images as (m, n_H, n_W) (first channel), as trained (normalized)."""
    X = _to_numpy(getattr(trainer.prepared, name)[0])
    shape = trainer.prepared.image_shape
    if trainer.prepared.example_axis == 1:  # a dense net's columns
        X = X.T.reshape((-1, *shape))
    return X[..., 0]


def _labels(trainer: Any, name: str) -> np.ndarray:
    return np.asarray(trainer.prepared.raw[name]["y"]).astype(int)


def data_text(trainer: Any) -> str:
    """The `data` message of an image session (docs/protocol.md "CNN lab")."""
    p = trainer.prepared
    dev_name = "dev" if _labels(trainer, "dev").size else "train"
    images = _images(trainer, dev_name)[: limits.CNN_GALLERY]
    labels = _labels(trainer, dev_name)[: limits.CNN_GALLERY]
    flat = images.reshape(images.shape[0], -1)
    lo, hi = flat.min(axis=1, keepdims=True), flat.max(axis=1, keepdims=True)
    pixels = np.rint(255 * (flat - lo) / np.where(hi > lo, hi - lo, 1)).astype(int)
    table = layer_table(trainer)
    message = {
        "type": "data", "kind": "images", "classes": p.classes, "class_names": list(p.class_names or []),
        "domain": None, "image_shape": list(p.image_shape), "example_set": dev_name,
        "sizes": {name: int(_labels(trainer, name).size) for name in ("train", "dev", "test")},
        "network": {"kind": "conv" if hasattr(trainer.network, "plans") else "dense", "layers": table,
                    "parameters": sum(r["parameters"] for r in table), "dense": sum(r["dense"] for r in table)},
        "gallery": {"shape": list(images.shape), "labels": labels.tolist(), "pixels": pixels.ravel().tolist()},
    }
    return json.dumps(message, separators=(",", ":"))


def example_count(trainer: Any) -> int:
    """Examples the `example` index may name (the dev set's, or the training set's without one)."""
    dev = _labels(trainer, "dev").size
    return int(dev if dev else _labels(trainer, "train").size)


def example_error(example: int, count: int) -> ValidationError:
    """The `error` for an example index out of range (field `example`)."""
    message = (f"{example} is out of range: this data has examples 0..{count - 1}" if count
               else "only image data has examples to choose")
    return ValidationError.from_exception_data("set", [{"type": PydanticCustomError("example_range", message),
                                                        "loc": ("example",), "input": example}])


def _example_set(trainer: Any) -> str:
    return "dev" if _labels(trainer, "dev").size else "train"


def frame(session: Any, status: str) -> bytes:
    """The binary frame of an image session: the playground's header plus `cnn`, and its arrays."""
    trainer = session.trainer
    net = trainer.network
    header = session.frame_header(status)
    name = _example_set(trainer)
    X, _ = getattr(trainer.prepared, name)
    y = _labels(trainer, name)
    m = y.size
    k = min(max(int(session.example), 0), m - 1)
    conv = trainer.prepared.example_axis == 0
    x = X[k:k + 1] if conv else X[:, k:k + 1]

    # every dev prediction (the confusion matrix and the misclassified), and the example's layers
    predicted = _to_numpy(net.predict(X)).ravel().astype(int)
    classes = trainer.prepared.classes
    confusion = np.zeros((classes, classes), dtype=int)
    np.add.at(confusion, (y, predicted), 1)
    wrong = np.flatnonzero(predicted != y)
    outs = [_to_numpy(a) for a in net.hidden_outputs(x)]
    probabilities = outs[-1][:, 0]

    images: dict[str, np.ndarray] = {"example": np.ascontiguousarray(_images_of(trainer, x)[0])}
    exact: dict[str, np.ndarray] = {}
    table = layer_table(trainer)
    for row, A in zip(table[:-1], outs[:-1]):
        l = row["l"]
        if A.ndim == 4:  # (1, n_H, n_W, n_C) -> n_C maps (n_C, n_H, n_W)
            maps = np.moveaxis(A[0], -1, 0)[: limits.CNN_MAX_MAPS]
            images[f"maps{l}"] = np.ascontiguousarray(maps, dtype=np.float32)
        else:  # (n, 1) units
            exact[f"units{l}"] = A[:, 0].astype(np.float32)[: limits.CNN_MAX_UNITS_SHOWN]
        if row["type"] == "conv":
            exact[f"W{l}"] = _to_numpy(net.params[f"W{l}"])
        elif row["type"] == "residual":
            exact[f"W{l}_1"] = _to_numpy(net.params[f"W{l}_1"])
            exact[f"W{l}_2"] = _to_numpy(net.params[f"W{l}_2"])
    shown = wrong[: limits.CNN_MISCLASSIFIED]
    if shown.size:
        images["misclassified"] = np.ascontiguousarray(_images(trainer, name)[shown], dtype=np.float32)
    header["cnn"] = {
        "example": k, "example_set": name, "label": int(y[k]), "prediction": int(np.argmax(probabilities)),
        "probabilities": [round(float(v), 5) for v in probabilities],
        "confusion": confusion.tolist(), "set": name, "set_size": int(m), "wrong": int(wrong.size),
        "misclassified": [{"index": int(i), "true": int(y[i]), "predicted": int(predicted[i])} for i in shown],
    }
    return encode_frame(header, images, exact=exact)


def _images_of(trainer: Any, x: Any) -> np.ndarray:
    x = _to_numpy(x)
    if trainer.prepared.example_axis == 1:
        x = x.T.reshape((-1, *trainer.prepared.image_shape))
    return x[..., 0].astype(np.float32)
