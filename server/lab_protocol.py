"""Optimizer-lab messages (docs/lab.md): pydantic models of the `/ws/lab` websocket and of the
lab's HTTP queries, with the lab's limits.

`parse_lab_message(text)` returns a validated message or raises `ProtocolError(field, message)`
(server/protocol.py) whose message names the field's allowed range; the connection stays open.
The surface and optimizer settings reuse the engine's models (`SurfaceConfig`, `OptimizerConfig`),
so the lab accepts exactly the ranges the engine does. These models are the lab's only source of
ranges, defaults and live keys: the page reads them from `lab_schema()` (GET /api/lab/schema).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from engine.checks import field_type
from engine.config import OptimizerConfig, ScheduleConfig
from engine.optimizers import OPTIMIZERS, PATH_ONLY
from engine.surfaces import PathOptimizerConfig, SurfaceConfig
from server.limits import MAX_FPS, MAX_MESSAGE_BYTES, MAX_STEPS_PER_FRAME
from server.protocol import MessageParser, by_type, optional_field, validation_problem

MAX_OPTIMIZERS = 6
MAX_PATH_STEPS = 20_000            # a path stops ("stopped") after this many updates
DEFAULT_MAX_STEPS = 5_000
MIN_RESOLUTION, MAX_RESOLUTION, DEFAULT_RESOLUTION = 20, 200, 90   # contour grid, res × res
DEFAULT_STEPS_PER_FRAME, DEFAULT_FPS = 2, 30
MAX_EWMA_BETAS, MAX_EWMA_DAYS = 6, 3_650
MAX_SCHEDULE_EPOCHS = 1_000
OPTIMIZER_ID = r"^[A-Za-z0-9_-]{1,24}$"


def _bound(model: type[BaseModel], name: str, kind: str) -> Any:
    """The `ge` / `le` bound of `model`'s field `name`."""
    return next(getattr(m, kind) for m in model.model_fields[name].metadata if hasattr(m, kind))


LAB_LIMITS = {
    "max_optimizers": MAX_OPTIMIZERS, "max_steps_per_frame": MAX_STEPS_PER_FRAME, "max_fps": MAX_FPS,
    "max_path_steps": MAX_PATH_STEPS, "min_resolution": MIN_RESOLUTION, "max_resolution": MAX_RESOLUTION,
    "min_condition": _bound(SurfaceConfig, "condition", "ge"), "max_condition": _bound(SurfaceConfig, "condition", "le"),
    "max_message_bytes": MAX_MESSAGE_BYTES,
}


class _LabMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # strict JSON in, as /ws


Coordinate = Annotated[float, Field(allow_inf_nan=False)]


class LabOptimizer(PathOptimizerConfig):
    """One racer: an optimizer (gd, momentum, rmsprop, adam or the lab's nesterov) with its
    hyperparameters and an id the client chooses (it names the racer in `set`, frames and
    errors; the same optimizer may race twice with two ids)."""

    id: str = Field(pattern=OPTIMIZER_ID, description="letters, digits, _ or -, 1..24 characters")


class Configure(_LabMessage):
    type: Literal["configure"]
    surface: SurfaceConfig = Field(default_factory=SurfaceConfig)
    optimizers: list[LabOptimizer] = Field(min_length=1, max_length=MAX_OPTIMIZERS)
    start: Optional[tuple[Coordinate, Coordinate]] = Field(None, description="(w1, w2); null = the surface's default")
    tolerance: float = Field(1e-4, ge=1e-12, le=10.0, description="a path has converged when J - J* < tolerance")
    max_steps: int = Field(DEFAULT_MAX_STEPS, ge=10, le=MAX_PATH_STEPS, description="updates per path at most")
    resolution: int = Field(DEFAULT_RESOLUTION, ge=MIN_RESOLUTION, le=MAX_RESOLUTION, description="contour grid size")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="mini-batch shuffling seed")

    @field_validator("optimizers")
    @classmethod
    def _unique_ids(cls, v: list[LabOptimizer]) -> list[LabOptimizer]:
        seen: set[str] = set()
        for racer in v:
            if racer.id in seen:
                raise ValueError(f"optimizer ids must be unique: {racer.id!r} repeats")
            seen.add(racer.id)
        return v


class StartPoint(_LabMessage):
    """Move the common start point (from a click on the plot); every path restarts from it."""

    type: Literal["start_point"]
    x: Coordinate
    y: Coordinate


class Set(_LabMessage):
    """Live change of one racer's hyperparameters: its path continues with its state (VdW, SdW, t);
    with `replay` its whole path is recomputed from the start with them (a slider being dragged)."""

    type: Literal["set"]
    id: str = Field(pattern=OPTIMIZER_ID)
    replay: bool = Field(False, description="recompute the racer's whole path with the new values")
    # the live keys: each racer's hyperparameters, with OptimizerConfig's ranges (LIVE_FIELDS)
    learning_rate: optional_field(OptimizerConfig, "learning_rate") = None
    beta: optional_field(OptimizerConfig, "beta") = None
    beta1: optional_field(OptimizerConfig, "beta1") = None
    beta2: optional_field(OptimizerConfig, "beta2") = None
    epsilon: optional_field(OptimizerConfig, "epsilon") = None
    bias_correction: optional_field(OptimizerConfig, "bias_correction") = None

    @model_validator(mode="after")
    def _something(self) -> "Set":
        if not self.changes():
            raise ValueError("give at least one of " + ", ".join(LIVE_FIELDS))
        return self

    def changes(self) -> dict:
        return {k: v for k, v in self.model_dump(exclude_unset=True).items() if k in LIVE_FIELDS and v is not None}


LIVE_FIELDS = tuple(key for key in Set.model_fields if key not in ("type", "id", "replay"))


class Play(_LabMessage):
    type: Literal["play"]


class Pause(_LabMessage):
    type: Literal["pause"]


class Reset(_LabMessage):
    type: Literal["reset"]


class Step(_LabMessage):
    type: Literal["step"]
    n: int = Field(1, ge=1, le=MAX_STEPS_PER_FRAME, description="updates of every path")


class Speed(_LabMessage):
    type: Literal["speed"]
    steps_per_frame: Optional[int] = Field(None, ge=1, le=MAX_STEPS_PER_FRAME)
    fps: Optional[int] = Field(None, ge=1, le=MAX_FPS)

    @model_validator(mode="after")
    def _something(self) -> "Speed":
        if self.steps_per_frame is None and self.fps is None:
            raise ValueError("give steps_per_frame and/or fps")
        return self


LAB_MESSAGES = by_type(Configure, StartPoint, Set, Play, Pause, Reset, Step, Speed)
_PARSER = MessageParser(LAB_MESSAGES, noun="lab message", max_bytes=MAX_MESSAGE_BYTES)


def parse_lab_message(text: Union[str, bytes]) -> _LabMessage:
    """Validate one JSON text message; raise ProtocolError naming the field and its allowed range."""
    return _PARSER(text)


# --- HTTP queries -------------------------------------------------------------------------------

LearningRate = field_type(OptimizerConfig, "learning_rate")  # α₀ is a learning rate: its range


class SchedulePreview(BaseModel):
    """GET /api/lab/schedules: α over epochs for every schedule, with these parameters."""

    model_config = ConfigDict(extra="forbid")
    alpha0: LearningRate = Field(0.1, description="initial learning rate α₀")
    epochs: int = Field(100, ge=1, le=MAX_SCHEDULE_EPOCHS)
    decay_rate: float = ScheduleConfig.model_fields["decay_rate"]
    interval: Optional[int] = ScheduleConfig.model_fields["interval"]
    base: float = ScheduleConfig.model_fields["base"]
    k: float = ScheduleConfig.model_fields["k"]

    def schedule(self, name: str) -> ScheduleConfig:
        return ScheduleConfig(name=name, decay_rate=self.decay_rate, interval=self.interval, base=self.base, k=self.k)


class EwmaQuery(BaseModel):
    """GET /api/lab/ewma: the noisy temperature series and its averages for each β."""

    model_config = ConfigDict(extra="forbid")
    betas: list[Annotated[float, Field(ge=0.0, le=0.999)]] = Field(
        [0.5, 0.9, 0.98], min_length=1, max_length=MAX_EWMA_BETAS,
        description="comma-separated β values")
    days: int = Field(365, ge=10, le=MAX_EWMA_DAYS)
    seed: int = Field(0, ge=0, le=2**31 - 1)

    @field_validator("betas", mode="before")
    @classmethod
    def _split(cls, v):
        if isinstance(v, str):
            try:
                return [float(part) for part in v.split(",") if part.strip()]
            except ValueError:
                raise ValueError(f"betas = {v!r}: must be comma-separated numbers") from None
        return v


def parse_query(model: type[BaseModel], params: dict) -> BaseModel:
    """Validate HTTP query parameters (empty values = default); ProtocolError names the field."""
    data = {k: v for k, v in params.items() if v != ""}
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise validation_problem(err, model) from None


# --- the page's schema --------------------------------------------------------------------------

@lru_cache(maxsize=1)
def lab_schema() -> dict:
    """What the lab's page reads instead of restating it (GET /api/lab/schema, read by
    static/js/lab/schema.js): each message and query model's JSON schema (ranges, defaults,
    names), which hyperparameters each optimizer's update rule uses (its class's `uses`,
    engine/optimizers.py) and the live keys of `set`. The page keeps only labels and layout."""
    models = (Configure, Set, Step, Speed, SchedulePreview, EwmaQuery)
    return {
        "models": {model.__name__: model.model_json_schema() for model in models},
        "uses": {name: list(cls.uses) for name, cls in {**OPTIMIZERS, **PATH_ONLY}.items()},
        "live": list(LIVE_FIELDS),
    }
