"""Server-side limits (tighter than the engine's) and the per-connection message rate limiter.

docs/limits.md documents every number here; `LIMITS` is also sent to the browser in `state`.
What a config may ask of this server is a stricter model, `ServerTrainConfig` (the websocket's
`configure` parses it, server/protocol.py); `config_violations` lists the same problems for a
config validated elsewhere (a saved run, server/run_routes.py).
"""
from __future__ import annotations

import time
from typing import Annotated, Any, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from engine.config import DataConfig, TrainConfig

# Network and data: small enough that a frame stays cheap for many concurrent sessions.
MAX_HIDDEN_LAYERS = 6
MAX_NEURONS = 16            # units per hidden layer
MAX_POINTS = 2_000          # generated points (data.n)
MAX_INPUTS = 16             # network inputs (features or CSV columns)
MIN_RESOLUTION, MAX_RESOLUTION = 10, 200
DEFAULT_RESOLUTION = 100    # decision-boundary grid, res × res (uint8 on the wire)
NEURON_RESOLUTION = 20      # per-neuron thumbnails, t × t (uint8 on the wire)

# Training speed and frames.
MAX_FPS = 60
DEFAULT_FPS = 30
MAX_STEPS_PER_FRAME = 1_000
DEFAULT_STEPS_PER_FRAME = 5
MAX_STEP_ITERATIONS = 10_000
MAX_STEP_EPOCHS = 100
FRAME_CREDITS = 3           # frames the browser may have unacknowledged (`ready` returns one)
MAX_EDITED_WEIGHT = 100.0   # |value| of a weight edited by clicking a link
GRADCHECK_EXAMPLES = 64     # gradient checking uses at most this many training examples

# Websocket messages.
MAX_MESSAGE_BYTES = 64 * 1024          # larger client messages get an `error`
WS_MAX_SIZE = 128 * 1024               # uvicorn closes the socket (1009) above this
MAX_MESSAGES_PER_SECOND = 60           # every client message except `ready`
MAX_READY_PER_SECOND = 2 * MAX_FPS     # `ready` credits (cheap, capped at FRAME_CREDITS anyway)
MAX_PENDING_REPLY_BYTES = 4 * 1024 * 1024  # replies queued for a client; beyond, it is dropped (not reading)
SEND_TIMEOUT = 5.0                     # seconds one send may wait for the client to read; beyond, dropped
RATE_ERROR_SECONDS = 1.0               # at most one "too many messages" error per this many seconds
MAX_SESSIONS = 256                     # concurrent websocket sessions per server
MAX_JSON_DEPTH = 32                    # nested arrays/objects in a client message (the deepest real one is ~5)

# A session's commands in its worker (server/command_queue.py). Measured at the largest allowed
# config (6 hidden layers of 16, 2 000 points) on one idle core: gradcheck ~0.10 s (0.19 s at
# worst), predict_grid 200 ~15 ms, configure ~10-25 ms, reset / set_weight / export: one frame
# (1-15 ms by resolution), set, play, pause < 1 ms.
COMMAND_RATE = 0.2       # seconds per second one session's commands may take of its worker, sustained
                         # (a fifth: ~2 gradient checks/s at the largest network)
COMMAND_SHARE = 1.0      # × 1/N (N sessions on the worker): with more than 5 sessions there, a
                         # session's commands get its fair share of the worker, not COMMAND_RATE
COMMAND_BURST = 0.3      # seconds a quiet session's commands may take at once (a gradient check and a
                         # dozen 200×200 grids), without waiting
MAX_QUEUED = 32          # commands waiting per session; more are refused with an `error`
# A session's due frames in its worker (server/scheduler.py `_may_draw`): a 200×200 grid on the
# largest network costs 10-20 ms a frame, half a worker at 30 frames/s; a student's ~0.2 ms.
FRAME_SHARE = 1.0        # × 1/N (N sessions playing on the worker): seconds per second a session's
                         # frames may take, sustained (its fair share: alone, no limit at all)
FRAME_BURST = 0.1        # seconds of frames a session may take at once before its budget limits it

# The optimizer lab's one thread (server/lab_executor.py).
MAX_LAB_SOCKETS = 32     # concurrent /ws/lab sockets per server; one more gets an `error` and 1013
LAB_TICK_SECONDS = 0.004  # a race's computation per job (a tick, or a chunk of a `step`) at most
LAB_REST = 0.5           # the lab thread rests this fraction of its work time after each job
LAB_GRID_CACHE = 8       # contour grids kept (a class on one lesson, or a `push`, computes one)

# HTTP connections (server/http_timeouts.py).
HEADER_TIMEOUT = 10.0    # seconds from the connection (or the previous response) to complete headers
BODY_TIMEOUT = 20.0      # seconds from a request's headers to its complete body (1 MiB needs ~50 KB/s)
KEEP_ALIVE_TIMEOUT = 5   # seconds an idle keep-alive connection stays open (uvicorn's default)

# Classroom rooms (docs/limits.md "Rooms"; the size, grace and idle times are settings).
DEFAULT_ROOM_SIZE = 200                # students per room (--room-size)
MAX_ROOMS = 100                        # open rooms per server: POST /api/rooms answers 503 beyond
TEACHER_GRACE_SECONDS = 300            # a room waits this long for its teacher to come back (--room-grace)
ROOM_IDLE_SECONDS = 3600               # a room ends after this long without a message from its teacher (--room-idle)
ROSTER_SECONDS = 0.5                   # roster (and changed thumbnails) to the teacher this often
JOIN_SECONDS = 10                      # a room socket must send `join` within this time
JOIN_FAILURES = 10                     # failed joins (wrong code or token) per client address ...
JOIN_FAILURE_WINDOW = 60.0             # ... per this many seconds (a token bucket), then every join is refused

# Uploads and saved runs.
MAX_CSV_BYTES = 1024 * 1024
MAX_CSV_ROWS = 5_000
CSV_CACHE_ENTRIES = 32                 # uploaded CSVs kept in memory (least recently used dropped)
MAX_RUN_BYTES = 1024 * 1024            # POST /api/runs body
MAX_HISTORY_ROWS = 4_000               # cost-history rows kept per session (older ones thinned)

LIMITS: dict[str, int] = {
    "max_hidden_layers": MAX_HIDDEN_LAYERS,
    "max_neurons": MAX_NEURONS,
    "max_points": MAX_POINTS,
    "max_inputs": MAX_INPUTS,
    "min_resolution": MIN_RESOLUTION,
    "max_resolution": MAX_RESOLUTION,
    "max_fps": MAX_FPS,
    "max_steps_per_frame": MAX_STEPS_PER_FRAME,
    "max_step_iterations": MAX_STEP_ITERATIONS,
    "max_step_epochs": MAX_STEP_EPOCHS,
    "frame_credits": FRAME_CREDITS,
    "max_message_bytes": MAX_MESSAGE_BYTES,
    "max_messages_per_second": MAX_MESSAGES_PER_SECOND,
    "max_csv_bytes": MAX_CSV_BYTES,
    "max_csv_rows": MAX_CSV_ROWS,
}


# ------------------------------------------------------------------ the config this server trains
LIMIT_ERROR = "server_limit"  # pydantic error type of a broken limit: its message is a whole sentence


def _at_most(limit: int, message: str, **ctx: Any) -> AfterValidator:
    """The value (a list: its length) at most `limit`, else a LIMIT_ERROR `message` formatted
    with {limit}, {got} and `ctx`."""
    def check(value: Any) -> Any:
        got = len(value) if isinstance(value, list) else value
        if got > limit:
            raise PydanticCustomError(LIMIT_ERROR, message, {"limit": limit, "got": got, **ctx})
        return value
    return AfterValidator(check)


def _only(allowed: str, message: str) -> AfterValidator:
    def check(value: Any) -> Any:
        if value != allowed:
            raise PydanticCustomError(LIMIT_ERROR, message, {"got": value})
        return value
    return AfterValidator(check)


class _Limits(BaseModel):
    model_config = ConfigDict(extra="ignore")  # only the limited keys; the engine checked the rest


class _NetworkLimits(_Limits):
    # Two views of network.hidden, both named `hidden` in an error: how many layers, and each
    # layer's units (so a config breaking both hears of both).
    layers: Annotated[list, _at_most(MAX_HIDDEN_LAYERS, "at most {limit} hidden layers on this server (got {got})")] \
        = Field([], validation_alias="hidden")
    hidden: list[Annotated[int, _at_most(MAX_NEURONS, "units per layer must be in [1, {limit}] on this server "
                                                      "(got {got})")]] = []


class _DataLimits(_Limits):
    n: Annotated[int, _at_most(MAX_POINTS, "points must be in [{low}, {limit}] on this server (got {got})",
                               low=next(m.ge for m in DataConfig.model_fields["n"].metadata if hasattr(m, "ge")))] = 0


class ServerLimits(_Limits):
    """What this server trains, beyond the engine's own ranges: each limit a constraint on one
    key, reported as a pydantic error naming it (type LIMIT_ERROR). `csv_id` holds the column
    count of the uploaded CSV the config names (it is not in the config)."""

    network: _NetworkLimits = Field(default_factory=_NetworkLimits)
    data: _DataLimits = Field(default_factory=_DataLimits)
    features: Optional[Annotated[list, _at_most(MAX_INPUTS, "at most {limit} inputs on this server (got {got})")]] = None
    csv_id: Optional[Annotated[int, _at_most(MAX_INPUTS, "at most {limit} input columns on this server "
                                                         "(got {got})")]] = None
    backend: Annotated[str, _only("numpy", "this server trains with 'numpy' only")] = "numpy"


def check_limits(config: TrainConfig, csv_inputs: Optional[int] = None) -> None:
    """Raise a ValidationError (locations inside the config; `csv_id` for the CSV) when `config`,
    or an uploaded CSV of `csv_inputs` input columns, is beyond this server's limits."""
    ServerLimits.model_validate({**config.model_dump(include={"network", "data", "features", "backend"}),
                                 "csv_id": csv_inputs})


class ServerTrainConfig(TrainConfig):
    """A TrainConfig within this server's limits: the engine's checks first (their sentence is
    the one a student gets, as before), then ServerLimits. Titled TrainConfig: it is the public
    config, and messages and schemas name it so."""

    model_config = ConfigDict(title="TrainConfig")

    @model_validator(mode="after")
    def _within_server_limits(self) -> "ServerTrainConfig":
        check_limits(self)
        return self


def config_violations(config: TrainConfig, csv_inputs: Optional[int] = None) -> list[tuple[str, str]]:
    """(field, message) for every server limit the config (and an uploaded CSV of `csv_inputs`
    input columns) breaks, [] when it fits: ServerLimits' errors, fields as the websocket names
    them ('config.network.hidden', 'csv_id')."""
    try:
        check_limits(config, csv_inputs)
    except ValidationError as err:
        return [(".".join(str(p) for p in ([] if e["loc"][0] == "csv_id" else ["config"]) + list(e["loc"])), e["msg"])
                for e in err.errors()]
    return []


class RateLimiter:
    """Token bucket: `rate` messages per second on average, bursts of up to `rate`.

    allow() spends one token if there is one; tokens refill continuously at `rate` per second.
    """

    def __init__(self, rate: float, clock=time.monotonic):
        self.rate = float(rate)
        self.tokens = float(rate)
        self.clock = clock
        self.last = clock()

    def allow(self) -> bool:
        now = self.clock()
        self.tokens = min(self.rate, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


# ------------------------------------------------------------------ Sweeps (server/sweeps.py, docs/limits.md "Sweeps")
# A hyperparameter sweep (issue #14) trains whole runs in the server's own process pool, at a lower
# OS priority, so the playground's live sessions keep their frames.
MAX_SWEEP_TRIALS = 200               # trials per sweep, every refine round included
MAX_TRIAL_WORK = 2_000_000           # epochs × points of one trial (its largest sampled values)
MAX_SWEEP_WORK = 40_000_000          # epochs × points summed over a sweep's trials (~2-4 min of two cores)
MAX_SWEEPS = 4                       # sweeps running at a time on this server (their trials share the pool)
MAX_SWEEPS_PER_SOCKET = 1            # sweeps running at a time per /ws/sweep connection
MAX_SWEEP_SOCKETS = 32               # concurrent /ws/sweep sockets; one more gets an `error` and 1013
MAX_SWEEP_SECONDS = 900.0            # a sweep still running after this long is cancelled
SWEEP_NICE = 10                      # os.nice() of the sweep pool's processes (the playground's workers keep 0)

SWEEP_LIMITS: dict[str, float] = {
    "max_trials": MAX_SWEEP_TRIALS,
    "max_trial_work": MAX_TRIAL_WORK,
    "max_sweep_work": MAX_SWEEP_WORK,
    "max_sweeps": MAX_SWEEPS,
    "max_sweeps_per_socket": MAX_SWEEPS_PER_SOCKET,
    "max_sweep_seconds": MAX_SWEEP_SECONDS,
}


# ------------------------------------------------------------------ CNN lab (/ws/cnn, server/cnn_socket.py, docs/limits.md "CNN lab")
# The Live ConvNet trains image data (digits, shapes) in the same worker processes as the
# playground. A frame computes the engine's snapshot (three full-set passes) plus a dev-set
# prediction (the confusion matrix): ~50-70 ms for the digits ConvNet, so its frame rate is lower.
CNN_MAX_LAYERS = 16          # entries of network.layers (the plain deep preset has 15)
CNN_MAX_FILTERS = 32         # filters of a conv layer
CNN_MAX_UNITS = 128          # units of a dense layer (and of a hidden layer of a dense net on the pixels)
CNN_MAX_HIDDEN_LAYERS = 4    # hidden layers of a dense net on the pixels (network.hidden on image data)
CNN_MAX_IMAGE_SIZE = 32      # shapes: data.size (n_H = n_W)
CNN_MAX_IMAGES = 2_000       # shapes: data.n
CNN_MAX_PARAMETERS = 200_000  # trainable parameters of the whole network
CNN_MAX_FPS = 15             # frames per second at most (`speed`)
CNN_DEFAULT_FPS = 8
CNN_GALLERY = 48             # dev images in the `data` message's gallery (to choose the example from)
CNN_MAX_MAPS = 32            # feature maps per layer in a frame
CNN_MAX_UNITS_SHOWN = 128    # dense units per layer in a frame
CNN_MISCLASSIFIED = 12       # misclassified dev examples in a frame (thumbnails, predicted and true)

CNN_LIMITS: dict[str, int] = {
    "max_layers": CNN_MAX_LAYERS, "max_filters": CNN_MAX_FILTERS, "max_units": CNN_MAX_UNITS,
    "max_hidden_layers": CNN_MAX_HIDDEN_LAYERS, "max_image_size": CNN_MAX_IMAGE_SIZE,
    "max_images": CNN_MAX_IMAGES, "max_parameters": CNN_MAX_PARAMETERS, "max_fps": CNN_MAX_FPS,
    "gallery": CNN_GALLERY, "max_maps": CNN_MAX_MAPS, "misclassified": CNN_MISCLASSIFIED,
}
IMAGE_DATASETS = ("digits", "shapes")


def cnn_violations(config: TrainConfig) -> list[tuple[str, str]]:
    """(field, message) for every CNN-lab limit `config` breaks ([] when it fits); fields as the
    websocket names them (config.network.layers.2.filters, ...)."""
    problems: list[tuple[str, str]] = []
    if config.data.name not in IMAGE_DATASETS:
        return [("config.data.name", f"the CNN lab trains image data: 'digits' or 'shapes' (got {config.data.name!r}); "
                                     "the playground (/) trains points and CSV files")]
    if config.backend != "numpy":
        problems.append(("config.backend", "this server trains with 'numpy' only"))
    if config.data.name == "shapes":
        if config.data.size > CNN_MAX_IMAGE_SIZE:
            problems.append(("config.data.size", f"images of at most {CNN_MAX_IMAGE_SIZE}×{CNN_MAX_IMAGE_SIZE} "
                                                 f"on this server (got {config.data.size})"))
        if config.data.n > CNN_MAX_IMAGES:
            problems.append(("config.data.n", f"at most {CNN_MAX_IMAGES} images on this server (got {config.data.n})"))
    net = config.network
    if net.layers is None:
        hidden = list(net.hidden)
        if len(hidden) > CNN_MAX_HIDDEN_LAYERS:
            problems.append(("config.network.hidden", f"at most {CNN_MAX_HIDDEN_LAYERS} hidden layers on this server "
                                                      f"(got {len(hidden)})"))
        for i, units in enumerate(hidden):
            if units > CNN_MAX_UNITS:
                problems.append((f"config.network.hidden.{i}", f"units per layer must be in [1, {CNN_MAX_UNITS}] on "
                                                               f"this server (got {units})"))
    else:
        layers = [layer.model_dump() if hasattr(layer, "model_dump") else dict(layer) for layer in net.layers]
        if len(layers) > CNN_MAX_LAYERS:
            problems.append(("config.network.layers", f"at most {CNN_MAX_LAYERS} layers on this server (got {len(layers)})"))
        for i, spec in enumerate(layers):
            if spec.get("type") == "conv" and spec.get("filters", 0) > CNN_MAX_FILTERS:
                problems.append((f"config.network.layers.{i}.filters", f"at most {CNN_MAX_FILTERS} filters per conv "
                                                                       f"layer on this server (got {spec['filters']})"))
            if spec.get("type") == "dense" and spec.get("units", 0) > CNN_MAX_UNITS:
                problems.append((f"config.network.layers.{i}.units", f"units per layer must be in [1, {CNN_MAX_UNITS}] "
                                                                     f"on this server (got {spec['units']})"))
    if not problems:
        count = parameter_count(config)
        if count > CNN_MAX_PARAMETERS:
            problems.append(("config.network", f"at most {CNN_MAX_PARAMETERS:,} parameters on this server "
                                               f"(this network has {count:,})"))
    return problems


def parameter_count(config: TrainConfig) -> int:
    """Trainable parameters of the config's network on its images (shapes as engine.conv plans them)."""
    from engine.conv import plan_layers  # only the CNN lab needs it

    side = 8 if config.data.name == "digits" else config.data.size
    classes = 10 if config.data.name == "digits" else config.data.classes
    shape = (side, side, 1)
    if config.network.layers is None:
        dims = [side * side] + list(config.network.hidden) + [classes]
        return sum(a * b + b for a, b in zip(dims, dims[1:]))
    plans = plan_layers(config.network.layers, shape)
    total = 0
    for plan in plans:
        total += sum(int(np_prod(s)) for _, s, _ in plan.params)
    n_last = int(np_prod(plans[-1].out_shape)) if plans else side * side
    return total + n_last * classes + classes


def np_prod(shape: tuple) -> int:
    out = 1
    for n in shape:
        out *= int(n)
    return out
