"""Exponentially weighted averages with hand numbers."""
import numpy as np
import pytest

from engine.ewma import averaging_window, ewma, temperature_series, window_reading


def test_three_steps_beta_half():
    # v1 = 0.5·10 = 5, v2 = 0.5·5 + 0.5·20 = 12.5, v3 = 0.5·12.5 + 0.5·30 = 21.25
    np.testing.assert_allclose(ewma([10, 20, 30], 0.5, bias_correction=False), [5, 12.5, 21.25], rtol=1e-15)
    # corrected: 5/0.5, 12.5/0.75, 21.25/0.875
    np.testing.assert_allclose(ewma([10, 20, 30], 0.5), [10, 50 / 3, 170 / 7], rtol=1e-15)


def test_three_steps_beta_09():
    # v1 = 1, v2 = 0.9 + 2 = 2.9, v3 = 2.61 + 3 = 5.61; corrected /0.1, /0.19, /0.271
    np.testing.assert_allclose(ewma([10, 20, 30], 0.9, bias_correction=False), [1, 2.9, 5.61], rtol=1e-14)
    np.testing.assert_allclose(ewma([10, 20, 30], 0.9), [10, 2.9 / 0.19, 5.61 / 0.271], rtol=1e-14)


def test_bias_correction_fixes_the_start():
    # a constant series: corrected average is the constant from t = 1; uncorrected starts near 0
    v = ewma(np.full(50, 7.0), 0.98)
    np.testing.assert_allclose(v, 7.0, rtol=1e-12)
    assert ewma(np.full(50, 7.0), 0.98, bias_correction=False)[0] == pytest.approx(0.14)


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.98, 0.999])
@pytest.mark.parametrize("n", [1, 255, 256, 257, 700])
def test_matches_the_recurrence_across_chunks(beta, n):
    x = np.random.default_rng(1).standard_normal(n) + 3.0
    v, out = 0.0, []
    for t, theta in enumerate(x, start=1):
        v = beta * v + (1 - beta) * theta
        out.append(v / (1 - beta ** t))
    np.testing.assert_allclose(ewma(x, beta), out, rtol=1e-12, atol=1e-12)


def test_beta_zero_is_the_series():
    x = np.array([3.0, -1.0, 4.0])
    np.testing.assert_array_equal(ewma(x, 0.0, bias_correction=False), x)


def test_window_reading():
    assert averaging_window(0.9) == pytest.approx(10)
    assert averaging_window(0.98) == pytest.approx(50)
    assert window_reading(0.9) == "≈ 10 days"
    assert window_reading(0.98) == "≈ 50 days"
    assert window_reading(0.5) == "≈ 2 days"
    assert window_reading(0.97) == "≈ 33.3 days"


def test_errors():
    with pytest.raises(ValueError, match="beta"):
        ewma([1, 2], 1.0)
    with pytest.raises(ValueError, match="1-D"):
        ewma(np.zeros((2, 2)), 0.9)
    assert ewma([], 0.9).shape == (0,)


def test_temperature_series_is_deterministic_and_seasonal():
    day, temp = temperature_series(365, seed=3)
    _, again = temperature_series(365, seed=3)
    _, other = temperature_series(365, seed=4)
    assert day.shape == temp.shape == (365,) and day[0] == 1 and day[-1] == 365
    np.testing.assert_array_equal(temp, again)
    assert not np.array_equal(temp, other)
    assert temp[180:211].mean() > temp[0:31].mean() + 10  # July warmer than January
    with pytest.raises(ValueError, match="days"):
        temperature_series(0)


def test_beta_is_checked_as_the_optimizers_beta():
    """β's range is OptimizerConfig.beta's ([0, 1)); no copy of the check in engine/ewma.py."""
    assert averaging_window(0) == 1.0
    for bad in (-0.1, 1.0, True, "0.9", float("nan")):
        with pytest.raises(ValueError, match="beta"):
            averaging_window(bad)
    with pytest.raises(ValueError, match="seed"):
        temperature_series(10, seed=-1)
