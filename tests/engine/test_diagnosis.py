"""Bias/variance diagnosis: the course's table and human-level error."""
import pytest

from engine.diagnosis import Diagnosis, diagnose


@pytest.mark.parametrize("train, dev, verdict", [
    (0.01, 0.11, "high variance"),
    (0.15, 0.16, "high bias"),
    (0.15, 0.30, "high bias and high variance"),
    (0.005, 0.01, "neither"),
])
def test_course_table(train, dev, verdict):
    d = diagnose(train, dev)
    assert d.verdict == verdict
    assert d.avoidable_bias == pytest.approx(train)
    assert d.variance == pytest.approx(dev - train)


def test_advice_follows_the_basic_recipe():
    bias = diagnose(0.15, 0.16).advice
    assert any("bigger network" in a for a in bias) and any("longer" in a for a in bias)
    assert not any("data" in a for a in bias)
    variance = diagnose(0.01, 0.11).advice
    assert any("more training data" in a for a in variance) and any("regularization" in a for a in variance)
    assert not any("bigger" in a for a in variance)
    both = diagnose(0.15, 0.30).advice
    assert any("bigger" in a for a in both) and any("regularization" in a for a in both)
    assert sum("architecture" in a for a in both) == 1


def test_human_level_error_shifts_the_verdict():
    # train 8 %, dev 12 %: against 0 % both gaps are high; against a human-level 7.5 %
    # the avoidable bias is only 0.5 %, so the problem is variance
    assert diagnose(0.08, 0.12).verdict == "high bias and high variance"
    d = diagnose(0.08, 0.12, human_error=0.075)
    assert d.verdict == "high variance"
    assert d.avoidable_bias == pytest.approx(0.005) and d.human_error == 0.075
    # train 15 %, dev 16 %: high bias, unless humans also err 14 %
    assert diagnose(0.15, 0.16, human_error=0.14).verdict == "neither"


def test_focus_is_the_larger_gap():
    # the course's second example: human 7.5 %, train 8 %, dev 10 % -> work on variance
    assert diagnose(0.08, 0.10, human_error=0.075).focus == "variance"
    assert diagnose(0.05, 0.06, human_error=0.01).focus == "bias"
    assert diagnose(0.05, 0.04, human_error=0.05).focus is None


def test_to_dict():
    d = diagnose(0.01, 0.11)
    assert isinstance(d, Diagnosis)
    data = d.to_dict()
    assert data["verdict"] == "high variance" and data["variance"] == pytest.approx(0.10)
    assert set(data) >= {"avoidable_bias", "variance", "verdict", "advice"}


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="dev_error"):
        diagnose(0.1, 11)
    with pytest.raises(ValueError, match="human_error"):
        diagnose(0.1, 0.1, human_error=-0.1)
