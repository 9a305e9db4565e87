"""Learning-rate decay with hand numbers (epoch is 0-based: epoch 0 trains with α₀)."""
import math

import numpy as np
import pytest

from engine.config import ScheduleConfig
from engine.schedules import learning_rate, schedule_curve


def lr(alpha0, epoch, **cfg):
    return learning_rate(ScheduleConfig(**cfg), alpha0, epoch)


def test_constant():
    assert lr(0.2, 0, name="constant") == 0.2
    assert lr(0.2, 57, name="constant") == 0.2


def test_inverse_time_course_table():
    # α₀ = 0.2, decay_rate = 1: 0.2, 0.1, 0.0667, 0.05, 0.04
    for epoch, expected in [(0, 0.2), (1, 0.1), (2, 0.2 / 3), (3, 0.05), (4, 0.04)]:
        assert math.isclose(lr(0.2, epoch, name="inverse_time", decay_rate=1.0), expected, rel_tol=1e-15)
    assert math.isclose(lr(0.2, 2, name="inverse_time", decay_rate=0.5), 0.1, rel_tol=1e-15)
    assert lr(0.2, 9, name="inverse_time", decay_rate=0.0) == 0.2


def test_inverse_time_staircase():
    # interval 2: α₀/(1 + ⌊epoch/2⌋) -> 0.2, 0.2, 0.1, 0.1, 0.0667, 0.0667, 0.05, 0.05
    expected = [0.2, 0.2, 0.1, 0.1, 0.2 / 3, 0.2 / 3, 0.05, 0.05]
    got = [lr(0.2, e, name="inverse_time", decay_rate=1.0, interval=2) for e in range(8)]
    np.testing.assert_allclose(got, expected, rtol=1e-15)
    # interval 10, rate 0.5: epoch 25 -> 0.2/(1 + 0.5·2) = 0.1
    assert math.isclose(lr(0.2, 25, name="inverse_time", decay_rate=0.5, interval=10), 0.1, rel_tol=1e-15)


def test_exponential():
    assert lr(0.2, 0, name="exponential") == 0.2
    assert math.isclose(lr(0.2, 1, name="exponential"), 0.19, rel_tol=1e-15)      # 0.95·0.2
    assert math.isclose(lr(0.2, 2, name="exponential"), 0.1805, rel_tol=1e-15)    # 0.9025·0.2
    assert math.isclose(lr(0.4, 3, name="exponential", base=0.5), 0.05, rel_tol=1e-15)


def test_inverse_sqrt():
    assert lr(0.2, 0, name="inverse_sqrt") == 0.2                                  # 1/√1
    assert math.isclose(lr(0.2, 3, name="inverse_sqrt"), 0.1, rel_tol=1e-15)      # 1/√4
    assert math.isclose(lr(0.3, 8, name="inverse_sqrt"), 0.1, rel_tol=1e-15)      # 1/√9
    assert math.isclose(lr(0.2, 15, name="inverse_sqrt", k=2.0), 0.1, rel_tol=1e-15)  # 2/√16


@pytest.mark.parametrize("cfg", [
    {"name": "constant"},
    {"name": "inverse_time", "decay_rate": 0.3},
    {"name": "inverse_time", "decay_rate": 2.0, "interval": 7},
    {"name": "exponential", "base": 0.9},
    {"name": "inverse_sqrt", "k": 3.0},
])
def test_curve_matches_learning_rate(cfg):
    schedule = ScheduleConfig(**cfg)
    curve = schedule_curve(schedule, 0.05, 40)
    assert curve.shape == (40,)
    np.testing.assert_allclose(curve, [learning_rate(schedule, 0.05, e) for e in range(40)], rtol=1e-13)
    assert schedule_curve(schedule, 0.05, 0).shape == (0,)


def test_numpy_integer_epoch_and_errors():
    assert math.isclose(lr(0.2, np.int64(1), name="inverse_time"), 0.1)
    with pytest.raises(ValueError, match="epoch"):
        lr(0.2, -1, name="constant")
    with pytest.raises(ValueError, match="epoch"):
        lr(0.2, 1.5, name="constant")
    with pytest.raises(ValueError, match="alpha0"):
        lr(0.0, 1, name="constant")
    with pytest.raises(ValueError, match="epochs"):
        schedule_curve(ScheduleConfig(), 0.1, -3)


def test_one_formula_for_every_schedule_with_its_text():
    """FORMULAS / PARAMS name every ScheduleConfig schedule; `alpha` is the one formula behind
    learning_rate (one epoch) and schedule_curve (many)."""
    from typing import get_args

    from engine.schedules import FORMULAS, PARAMS, alpha

    names = get_args(ScheduleConfig.model_fields["name"].annotation)
    assert list(FORMULAS) == list(PARAMS) == list(names)
    assert all(FORMULAS[n].startswith("α = ") for n in names)
    assert all(set(PARAMS[n]) <= set(ScheduleConfig.model_fields) for n in names)
    cfg = ScheduleConfig(name="inverse_time", decay_rate=0.5, interval=3)
    assert alpha(cfg, 0.2, 7) == learning_rate(cfg, 0.2, 7) == schedule_curve(cfg, 0.2, 8)[7]


def test_alpha0_is_a_learning_rate():
    """α₀ is checked against OptimizerConfig.learning_rate's range, the one definition of it."""
    assert lr(100, 0, name="constant") == 100.0 and isinstance(lr(1, 0, name="constant"), float)
    for bad in (0.0, -1.0, 100.5, float("nan"), True, "0.1"):
        with pytest.raises(ValueError, match="alpha0"):
            lr(bad, 0, name="constant")
