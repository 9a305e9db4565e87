"""Bias / variance diagnosis and the course's basic recipe.

    avoidable bias = train error − human-level error     (human-level ≈ Bayes error; defaults to 0)
    variance       = dev error − train error

Errors are fractions in [0, 1] (0.11 = 11 %). A gap counts as "high" when it is above
THRESHOLD = 0.02 (2 percentage points). Any threshold in (1 %, 10 %) reproduces the course's table
with human-level error 0:

    train 1 %   dev 11 %  -> high variance              (bias 1 %,   variance 10 %)
    train 15 %  dev 16 %  -> high bias                  (bias 15 %,  variance 1 %)
    train 15 %  dev 30 %  -> high bias and high variance
    train 0.5 % dev 1 %   -> neither                    (bias 0.5 %, variance 0.5 %)

2 points sits low in that range so a gap a dev set of a few hundred examples can still resolve
is flagged. `focus` is whichever gap is larger ("work on whichever is larger"), even when neither
is high — e.g. human 7.5 %, train 8 %, dev 10 %: focus on variance.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

THRESHOLD = 0.02

BIAS_ADVICE = (
    "bigger network (more hidden units or layers)",
    "train longer (or use a better optimizer such as Adam)",
    "try another neural-network architecture",
)
VARIANCE_ADVICE = (
    "more training data (or data augmentation)",
    "regularization (L2, dropout, early stopping)",
    "try another neural-network architecture",
)
NEITHER_ADVICE = ("train and dev errors are close to human level: the model is in good shape",)


@dataclass(frozen=True)
class Diagnosis:
    """The gaps (as fractions), the verdict, the advice of the basic recipe, and the larger gap."""

    avoidable_bias: float
    variance: float
    verdict: str  # "high bias" | "high variance" | "high bias and high variance" | "neither"
    advice: list[str] = field(default_factory=list)
    focus: Optional[str] = None  # "bias" | "variance" | None (both gaps ≤ 0)
    human_error: float = 0.0
    threshold: float = THRESHOLD

    def to_dict(self) -> dict:
        return asdict(self)


def _check_error(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} = {value!r}: must be an error rate in [0, 1] (0.11 = 11 %)")
    return float(value)


def diagnose(train_error: float, dev_error: float, human_error: Optional[float] = None,
             threshold: float = THRESHOLD) -> Diagnosis:
    """Diagnose from train/dev error (fractions) and optional human-level error (default 0).

    High bias when train − human > threshold; high variance when dev − train > threshold.
    """
    train = _check_error("train_error", train_error)
    dev = _check_error("dev_error", dev_error)
    human = 0.0 if human_error is None else _check_error("human_error", human_error)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
        raise ValueError(f"threshold = {threshold!r}: must be a number in (0, 1)")
    # Rounded so that e.g. 0.10 − 0.08 = 0.020000000000000004 is not "above 0.02".
    bias = round(train - human, 12)
    variance = round(dev - train, 12)
    high_bias, high_variance = bias > threshold, variance > threshold
    if high_bias and high_variance:
        verdict = "high bias and high variance"
        advice = list(dict.fromkeys(BIAS_ADVICE + VARIANCE_ADVICE))  # "architecture" once
    elif high_bias:
        verdict, advice = "high bias", list(BIAS_ADVICE)
    elif high_variance:
        verdict, advice = "high variance", list(VARIANCE_ADVICE)
    else:
        verdict, advice = "neither", list(NEITHER_ADVICE)
    focus = None if max(bias, variance) <= 0 else ("bias" if bias >= variance else "variance")
    return Diagnosis(bias, variance, verdict, advice, focus, human, float(threshold))
