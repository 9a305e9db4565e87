"""The result JSON of a training run (written by the CLI, read back by `--init-from`).

Format (docs/config.md, "Result JSON"): status, epochs_run, iterations, train/dev/test metrics
(null for an empty set), early stopping's reason (early_stopping, early_stopping_message), the
schedule's start epoch, the last finite mini-batch cost, per-epoch history, parameters in course shapes (W1 (n1, n0) as nested
lists, b1 (n1, 1), gamma1/beta1 and running mu1/var1 with batch norm), the network shape, the
input normalization and the config echo. Every float is finite or null.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Mapping

import numpy as np

from engine.backend import to_numpy
from engine.epochs import early_stopping_message
from engine.snapshot import json_safe

RESULT_FORMAT = "nn-playground/result@1"


def as_dict(obj: Any) -> Any:
    """A dataclass / NamedTuple / pydantic model / dict as a plain dict (for diagnosis objects)."""
    if obj is None or isinstance(obj, dict):
        return obj
    if dataclasses.is_dataclass(obj):
        return dataclasses.asdict(obj)
    if hasattr(obj, "_asdict"):
        return obj._asdict()
    if hasattr(obj, "model_dump"):
        return obj.model_dump()
    return dict(vars(obj))


def _metrics(m) -> Any:
    return None if m is None else m.to_dict()


def _conv_network(trainer) -> dict:
    """For network.layers: the layer specs, each A[l]'s shape ((n_H, n_W, n_C) or (n,), l = 0..L)
    and the parameters per layer; nothing for the dense form (its result stays as it was)."""
    net = trainer.network
    if trainer.config.network.layers is None:
        return {}
    return {"layer_specs": [dict(spec) for spec in net.specs], "shapes": [list(s) for s in net.shapes],
            "parameter_counts": net.parameter_counts()}


def build_result(trainer) -> dict:
    """Everything a later run needs to report on, continue from or reproduce this one."""
    snap = trainer.snapshot()
    prepared = trainer.prepared
    normalizer = getattr(prepared, "normalizer", None)
    params = {name: to_numpy(value).tolist() for name, value in trainer.network.get_parameters().items()}
    result = {
        "format": RESULT_FORMAT,
        "status": trainer.status,
        "epochs_run": trainer.epoch,
        "iterations": trainer.iteration,
        "best_epoch": trainer.best_epoch,
        "early_stopping": snap.early_stopping,
        "early_stopping_message": early_stopping_message(snap.early_stopping),
        "schedule_start_epoch": snap.schedule_start_epoch,
        "last_finite_minibatch_cost": snap.last_finite_minibatch_cost,
        "last_finite_minibatch_iteration": snap.last_finite_minibatch_iteration,
        "diverged_at": trainer.diverged_at,
        "diverged_epoch": trainer.diverged_epoch,
        "restored_iteration": trainer.restored_iteration,
        "learning_rate": snap.learning_rate,
        "examples": {name: int(X.shape[getattr(trainer, "example_axis", 1)]) for name, (X, _) in trainer.sets.items()},
        "train": _metrics(snap.train),
        "dev": _metrics(snap.dev),
        "test": _metrics(snap.test),
        "diagnosis": snap.diagnosis,
        "history": trainer.history,
        "network": {
            "layers": list(trainer.layer_dims),
            "inputs": list(getattr(prepared, "feature_names", []) or []),
            "activation": trainer.config.network.activation,
            "output": trainer.output,
            "batch_norm": trainer.config.network.batch_norm,
            **_conv_network(trainer),
        },
        "normalizer": None if normalizer is None else {
            "mu": to_numpy(normalizer.mu).ravel().tolist(),
            "sigma": to_numpy(normalizer.sigma).ravel().tolist(),
        },
        "parameters": params,
        "config": trainer.config.model_dump(mode="json"),
    }
    return json_safe(result)


def dumps(result: dict) -> str:
    """The result as JSON text: one top-level key per line, values compact (no NaN allowed)."""
    items = (f" {json.dumps(key)}: {json.dumps(value, allow_nan=False)}" for key, value in result.items())
    return "{\n" + ",\n".join(items) + "\n}\n"


def parameters_from_result(result: Mapping) -> dict[str, np.ndarray]:
    """The `parameters` object of a result JSON as float64 arrays (for Network.set_parameters).

    Raises ValueError naming the problem if the object is not a result or a parameter is not a
    rectangular array of numbers.
    """
    if not isinstance(result, Mapping) or not isinstance(result.get("parameters"), Mapping):
        raise ValueError("not a result JSON: it has no 'parameters' object")
    params = {}
    for name, value in result["parameters"].items():
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"parameters.{name}: not a rectangular array of numbers") from None
        if not np.all(np.isfinite(array)):
            raise ValueError(f"parameters.{name}: contains null, NaN or inf")
        params[name] = array
    return params
