"""Learning-rate decay by epoch number: the one formula of each schedule (`alpha`), used by the
trainer (`learning_rate`, once per epoch) and by the lab's preview (`schedule_curve`, GET
/api/lab/schedules), with its text for display (`FORMULAS`).

`epoch` is 0-based and the schedule is applied after each epoch: epoch 0 trains with α₀, epoch 1
with the first decayed value, and so on. `inverse_time` with an `interval` N is a staircase: epoch
in its formula becomes ⌊epoch/N⌋. `inverse_sqrt` is the course's k/√epoch·α₀, shifted so that
epoch 0 is finite. The parameters' ranges and defaults are ScheduleConfig's (engine/config.py).
"""
from __future__ import annotations

from engine.backend import get_backend
from engine.checks import check_field, check_int
from engine.config import OptimizerConfig, ScheduleConfig

xp = get_backend("numpy", "float64").xp  # host-side: always NumPy float64

# Each schedule's formula as the course writes it (shown by the lab), and the ScheduleConfig keys
# it reads; `alpha` computes exactly these.
FORMULAS: dict[str, str] = {
    "constant": "α = α₀",
    "inverse_time": "α = α₀ / (1 + decay_rate·epoch)",
    "exponential": "α = base^epoch · α₀",
    "inverse_sqrt": "α = k / √(epoch + 1) · α₀",
}
PARAMS: dict[str, tuple[str, ...]] = {
    "constant": (), "inverse_time": ("decay_rate", "interval"), "exponential": ("base",), "inverse_sqrt": ("k",),
}


def alpha(cfg: ScheduleConfig, alpha0: float, epoch):
    """α of schedule `cfg` from `alpha0` at `epoch`: one int, or a NumPy array of epochs (as floats)
    for a whole curve. Unchecked: `learning_rate` and `schedule_curve` check their arguments."""
    name = cfg.name
    if name == "constant":
        return alpha0 * xp.ones_like(epoch, dtype=xp.float64)
    if name == "inverse_time":
        steps = epoch if cfg.interval is None else epoch // cfg.interval
        return alpha0 / (1.0 + cfg.decay_rate * steps)
    if name == "exponential":
        return cfg.base ** epoch * alpha0
    if name == "inverse_sqrt":
        return cfg.k / xp.sqrt(epoch + 1.0) * alpha0
    raise ValueError(f"unknown schedule {name!r}")  # unreachable: ScheduleConfig validates name


def _checked_alpha0(alpha0) -> float:
    return check_field(OptimizerConfig, "learning_rate", alpha0, "alpha0")  # α₀ is a learning rate


def learning_rate(cfg: ScheduleConfig, alpha0: float, epoch: int) -> float:
    """The learning rate for (0-based) `epoch` under schedule `cfg`, starting from `alpha0`."""
    return float(alpha(cfg, _checked_alpha0(alpha0), check_int("epoch", epoch, 0)))


def schedule_curve(cfg: ScheduleConfig, alpha0: float, epochs: int):
    """α for epochs 0 .. epochs-1 as one NumPy float64 array (vectorized; for the lab's preview)."""
    epochs = check_int("epochs", epochs, 0, 10_000_000)
    return alpha(cfg, _checked_alpha0(alpha0), xp.arange(epochs, dtype=xp.float64))
