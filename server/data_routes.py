"""What the pages read about data and settings: the datasets and their previews, the presets, the
config schema and the server's limits."""
from __future__ import annotations

import numpy as np
from fastapi import APIRouter, HTTPException, Query

from engine.config import DATASET_KINDS, TrainConfig
from engine.data import DOMAIN, generate_points
from server import limits
from server.presets import PRESETS

router = APIRouter()


@router.get("/api/datasets")
def datasets() -> list[dict]:
    return [{"name": name, "kind": kind} for name, kind in DATASET_KINDS.items()]


@router.get("/api/datasets/previews")
def previews(noise: float = Query(0.0, ge=0.0, le=1.0),
             seed: int = Query(0, ge=0, le=2**32 - 1),
             classes: int = Query(3, ge=2, le=6),
             n: int = Query(400, ge=10, le=limits.MAX_POINTS),
             decimals: int = Query(5, ge=0, le=8)) -> dict:
    """Every generated dataset's preview (as below) in one reply: the playground's tiles in one
    request instead of ten (each reply's headers cost as much as a tile's points)."""
    return {name: preview(name, noise, seed, classes, n, decimals) for name in DATASET_KINDS if name != "csv"}


@router.get("/api/datasets/{name}/preview")
def preview(name: str,
            noise: float = Query(0.0, ge=0.0, le=1.0),
            seed: int = Query(0, ge=0, le=2**32 - 1),
            classes: int = Query(3, ge=2, le=6),
            n: int = Query(400, ge=10, le=limits.MAX_POINTS),
            decimals: int = Query(5, ge=0, le=8)) -> dict:
    """The points a dataset's settings generate, rounded to `decimals` (a 112-px thumbnail of the
    ±6 domain needs 1: 0.1 is under a pixel there, and a tenth of the bytes of the first load)."""
    if name not in DATASET_KINDS or name == "csv":
        allowed = ", ".join(k for k in DATASET_KINDS if k != "csv")
        raise HTTPException(404, f"unknown dataset {name!r}: allowed {allowed}")
    X, labels = generate_points(name, n, noise, seed, classes)
    return {"name": name, "kind": DATASET_KINDS[name], "domain": [DOMAIN[0], DOMAIN[1], DOMAIN[0], DOMAIN[1]],
            "x1": np.round(X[0], decimals).tolist(), "x2": np.round(X[1], decimals).tolist(),
            "y": labels.tolist() if labels.dtype.kind in "iu" else np.round(labels, decimals).tolist()}


@router.get("/api/presets")
def presets() -> list[dict]:
    return PRESETS


@router.get("/api/config-schema")
def config_schema() -> dict:
    """The TrainConfig JSON schema: ranges, defaults, choices and the `live` and `used_by` marks
    (engine/config.py); the playground's page embeds the same (server/page_routes.py)."""
    return TrainConfig.model_json_schema()


@router.get("/api/limits")
def server_limits() -> dict:
    return limits.LIMITS
