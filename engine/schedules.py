"""Learning-rate decay by epoch number.

`epoch` is 0-based and the schedule is applied after each epoch: epoch 0 trains with α₀, epoch 1
with the first decayed value, and so on.

    constant        α = α₀
    inverse_time    α = α₀ / (1 + decay_rate·epoch)
                    staircase with `interval` N:  α = α₀ / (1 + decay_rate·⌊epoch/N⌋)
    exponential     α = base^epoch · α₀                      (base defaults to 0.95)
    inverse_sqrt    α = k / √(epoch + 1) · α₀   (the course's k/√epoch·α₀, shifted so epoch 0 is finite)
"""
from __future__ import annotations

import math
import operator

from engine.backend import get_backend
from engine.config import ScheduleConfig


def _check_alpha0(alpha0: float) -> None:
    if isinstance(alpha0, bool) or not isinstance(alpha0, (int, float)) or not alpha0 > 0:
        raise ValueError(f"alpha0 = {alpha0!r}: the initial learning rate must be a number > 0")


def _check_int(name: str, value, low: int, high: int | None) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        value = operator.index(value)  # accepts NumPy integers too
    except TypeError:
        raise ValueError(f"{name} = {value!r}: must be an integer") from None
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name} = {value}: must be in [{low}, {'∞' if high is None else high}]")
    return value


def learning_rate(cfg: ScheduleConfig, alpha0: float, epoch: int) -> float:
    """The learning rate for (0-based) `epoch` under schedule `cfg`, starting from `alpha0`."""
    _check_alpha0(alpha0)
    epoch = _check_int("epoch", epoch, 0, None)
    name = cfg.name
    if name == "constant":
        return float(alpha0)
    if name == "inverse_time":
        steps = epoch if cfg.interval is None else epoch // cfg.interval
        return alpha0 / (1.0 + cfg.decay_rate * steps)
    if name == "exponential":
        return cfg.base ** epoch * alpha0
    if name == "inverse_sqrt":
        return cfg.k / math.sqrt(epoch + 1) * alpha0
    raise ValueError(f"unknown schedule {name!r}")  # unreachable: ScheduleConfig validates name


def schedule_curve(cfg: ScheduleConfig, alpha0: float, epochs: int):
    """α for epochs 0 .. epochs-1 as one NumPy float64 array (vectorized; for the UI's preview)."""
    _check_alpha0(alpha0)
    epochs = _check_int("epochs", epochs, 0, 10_000_000)
    xp = get_backend("numpy", "float64").xp
    epoch = xp.arange(epochs, dtype=xp.float64)
    name = cfg.name
    if name == "constant":
        return xp.full(epochs, float(alpha0))
    if name == "inverse_time":
        steps = epoch if cfg.interval is None else xp.floor_divide(epoch, cfg.interval)
        return alpha0 / (1.0 + cfg.decay_rate * steps)
    if name == "exponential":
        return xp.power(cfg.base, epoch) * alpha0
    if name == "inverse_sqrt":
        return cfg.k / xp.sqrt(epoch + 1.0) * alpha0
    raise ValueError(f"unknown schedule {name!r}")
