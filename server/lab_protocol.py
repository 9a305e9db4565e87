"""Optimizer-lab messages (docs/lab.md): pydantic models of the `/ws/lab` websocket and of the
lab's HTTP queries, with the lab's limits.

`parse_lab_message(text)` returns a validated message or raises `ProtocolError(field, message)`
(server/protocol.py) whose message names the field's allowed range; the connection stays open.
The surface and optimizer settings reuse the engine's models (`SurfaceConfig`, `OptimizerConfig`),
so the lab accepts exactly the ranges the engine does.
"""
from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from engine.config import OptimizerConfig, ScheduleConfig
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

LAB_LIMITS = {
    "max_optimizers": MAX_OPTIMIZERS, "max_steps_per_frame": MAX_STEPS_PER_FRAME, "max_fps": MAX_FPS,
    "max_path_steps": MAX_PATH_STEPS, "min_resolution": MIN_RESOLUTION, "max_resolution": MAX_RESOLUTION,
    "min_condition": 1, "max_condition": 1000, "max_message_bytes": MAX_MESSAGE_BYTES,
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


LIVE_FIELDS = ("learning_rate", "beta", "beta1", "beta2", "epsilon", "bias_correction")


class Set(_LabMessage):
    """Live change of one racer's hyperparameters: its path continues with its state (VdW, SdW, t);
    with `replay` its whole path is recomputed from the start with them (a slider being dragged)."""

    type: Literal["set"]
    id: str = Field(pattern=OPTIMIZER_ID)
    replay: bool = Field(False, description="recompute the racer's whole path with the new values")
    learning_rate: optional_field(OptimizerConfig, "learning_rate") = None
    beta: optional_field(OptimizerConfig, "beta") = None
    beta1: optional_field(OptimizerConfig, "beta1") = None
    beta2: optional_field(OptimizerConfig, "beta2") = None
    epsilon: optional_field(OptimizerConfig, "epsilon") = None
    bias_correction: Optional[bool] = None

    @model_validator(mode="after")
    def _something(self) -> "Set":
        if not self.changes():
            raise ValueError("give at least one of " + ", ".join(LIVE_FIELDS))
        return self

    def changes(self) -> dict:
        return {k: v for k, v in self.model_dump(exclude_unset=True).items() if k in LIVE_FIELDS and v is not None}


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

class SchedulePreview(BaseModel):
    """GET /api/lab/schedules: α over epochs for every schedule, with these parameters."""

    model_config = ConfigDict(extra="forbid")
    alpha0: float = Field(0.1, gt=0.0, le=100.0, description="initial learning rate α₀")
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
        default_factory=lambda: [0.5, 0.9, 0.98], min_length=1, max_length=MAX_EWMA_BETAS,
        description="comma-separated β values in [0, 0.999]")
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
