"""Server-side limits (tighter than the engine's) and the per-connection message rate limiter.

docs/limits.md documents every number here; `LIMITS` is also sent to the browser in `state`.
"""
from __future__ import annotations

import time

from engine.config import TrainConfig

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
FRAME_CREDITS = 2           # frames the browser may have unacknowledged (`ready` returns one)
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
COMMAND_BURST = 0.3      # seconds a quiet session's commands may take at once (a gradient check and a
                         # dozen 200×200 grids), without waiting
MAX_QUEUED = 32          # commands waiting per session; more are refused with an `error`

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


def config_violations(config: TrainConfig, csv_inputs: int | None = None) -> list[tuple[str, str]]:
    """(field, message) for every server limit the config breaks; [] when it fits.

    `csv_inputs` is the column count of the uploaded CSV when data.name == "csv".
    """
    problems: list[tuple[str, str]] = []
    hidden = config.network.hidden
    if len(hidden) > MAX_HIDDEN_LAYERS:
        problems.append(("config.network.hidden",
                         f"at most {MAX_HIDDEN_LAYERS} hidden layers on this server (got {len(hidden)})"))
    for i, units in enumerate(hidden):
        if units > MAX_NEURONS:
            problems.append((f"config.network.hidden.{i}",
                             f"units per layer must be in [1, {MAX_NEURONS}] on this server (got {units})"))
    if config.data.n > MAX_POINTS:
        problems.append(("config.data.n",
                         f"points must be in [10, {MAX_POINTS}] on this server (got {config.data.n})"))
    if config.features is not None and len(config.features) > MAX_INPUTS:
        problems.append(("config.features",
                         f"at most {MAX_INPUTS} inputs on this server (got {len(config.features)})"))
    if csv_inputs is not None and csv_inputs > MAX_INPUTS:
        problems.append(("csv_id", f"at most {MAX_INPUTS} input columns on this server (got {csv_inputs})"))
    if config.backend != "numpy":
        problems.append(("config.backend", "this server trains with 'numpy' only"))
    return problems


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
