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

import math
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


# ---------------------------------------------------------------------------------------------
# The run-level diagnosis: what the bias/variance card says about a training run.
#
# A bias/variance verdict only means something once the net has learned something and is
# training normally. diagnose_run() first checks, in this order:
#   diverged     status "diverged" (a cost or a parameter became inf/NaN): lower α.
#   learning     before MIN_EPOCHS epochs (always at iteration 0), or while the train error has
#                never been clearly below chance (< NEAR_CHANCE × chance error, chance = 1 − 1/K)
#                and the cost is still falling: no verdict yet.
#   oscillating  the train cost of the last WINDOW epochs swings (successive differences change
#                sign at least half of the time, by more than SWING_LEVEL of the cost level and
#                SWING of the cost of guessing, ln K, without trending down) or keeps rising:
#                the learning rate is too large.
#   dead         every ‖dW[l]‖ < DEAD_GRADIENT and the train error is at chance (zero init with
#                tanh/ReLU, dead ReLUs): nothing can learn from here.
#   stuck        never clearly below chance and the cost has stopped falling: no verdict either.
#   needs_dev    no dev set: variance cannot be measured.
#   diagnosed    the course's verdict (diagnose()), with the dev−train gap explained in words
#                when dev does better than train (never shown as a negative variance).
# ---------------------------------------------------------------------------------------------

STATES = ("learning", "diverged", "oscillating", "dead", "stuck", "needs_dev", "diagnosed")
MIN_EPOCHS = 5          # no verdict before this many epochs
WINDOW = 20             # recent epochs looked at for oscillation / a rising cost
NEAR_CHANCE = 0.8       # train error ≥ 0.8 × chance error counts as "still near chance"
FALLING = 0.005         # the cost is "still falling" if it fell by > 0.5 % over the recent epochs
TRENDING = 0.1          # a swinging cost whose recent mean fell by > 10 % is a noisy descent
SWING = 0.05            # an oscillation's mean step-to-step change: ≥ 5 % of ln K ...
SWING_LEVEL = 0.1       # ... and ≥ 10 % of the cost level
DEAD_GRADIENT = 1e-10   # ‖dW[l]‖ below this for every layer: no gradient reaches the weights

LOWER_ALPHA_ADVICE = (
    "lower the learning rate α (try a third or a tenth of it)",
    "or add learning-rate decay (α then shrinks epoch after epoch)",
)
DIVERGED_ADVICE = (
    "lower the learning rate α (try a tenth of it) and press Reset",
    "if it still blows up: a smaller initialization, or normalized inputs",
)
DEAD_ADVICE = (
    "use random, He or Xavier initialization instead of zeros, then press Reset",
    "if the ReLUs died after a big step: lower α, or try leaky ReLU / tanh",
)
STUCK_ADVICE = (
    "train longer, or try a larger learning rate α",
    "without hidden layers the net draws a straight line: add hidden units",
    "in a deep sigmoid/tanh net the gradients may vanish: try ReLU with He initialization",
)
TEST_NOTE = ("Test error is the final, unbiased estimate of how the net does on new data: look at "
             "it at the end. Don't tune α, λ or the network on it: tune on the dev set.")


def _pct(x: float) -> str:
    return f"{100.0 * x:.1f} %"


def _points(x: float) -> str:
    """A difference of two error rates, in percentage points."""
    return f"{100.0 * x:.1f} points"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _finite(values) -> list[float]:
    out = []
    for v in values or ():
        if v is None:
            continue
        v = float(v)
        if math.isfinite(v):
            out.append(v)
    return out


def _error(metrics) -> Optional[float]:
    """1 − accuracy of a SetMetrics / dict, or None (empty set, regression, non-finite)."""
    if metrics is None:
        return None
    acc = metrics.get("accuracy") if isinstance(metrics, dict) else getattr(metrics, "accuracy", None)
    if acc is None or not math.isfinite(float(acc)):
        return None
    return min(1.0, max(0.0, 1.0 - float(acc)))


def _fell(w: list[float], fraction: float) -> bool:
    """True if the mean of the last third of `w` is more than `fraction` below the first third's."""
    k = len(w) // 3
    if k < 1:
        return len(w) > 1 and w[0] > 0 and (w[0] - w[-1]) / w[0] > fraction
    first, last = sum(w[:k]) / k, sum(w[-k:]) / k
    return first > 0 and (first - last) / first > fraction


def cost_trend(costs, classes: int = 2, window: int = WINDOW) -> dict:
    """Measures of the last `window` train costs: how often successive differences change sign
    (`sign_changes`, a fraction), the mean step-to-step change relative to the cost level
    (`swing`), whether the cost swings (`oscillating`) or keeps rising (`rising`), its relative
    spread (`spread`) and whether it is still falling (`falling`)."""
    w = _finite(costs)[-window:]
    out = {"n": len(w), "sign_changes": 0.0, "swing": 0.0, "spread": 0.0, "oscillating": False,
           "rising": False, "falling": False, "low": min(w) if w else None, "high": max(w) if w else None}
    if len(w) < 3:
        return out
    d = [b - a for a, b in zip(w, w[1:])]
    signs = [1 if x > 0 else -1 for x in d if x != 0]
    flips = sum(s != t for s, t in zip(signs, signs[1:]))
    out["sign_changes"] = flips / (len(signs) - 1) if len(signs) > 1 else 0.0
    level = sorted(w)[len(w) // 2]
    step = sum(abs(x) for x in d) / len(d)
    guess = math.log(max(2, classes))  # the cost of guessing: ln 2 for binary
    out["swing"] = step / level if level > 0 else 0.0
    lo, hi = min(w), max(w)
    out["spread"] = (hi - lo) / abs(lo) if lo != 0 else (0.0 if hi == lo else float("inf"))
    out["oscillating"] = (out["sign_changes"] >= 0.5 and step >= SWING_LEVEL * level
                          and step >= SWING * guess)
    recent = d[len(d) // 2:]  # rising: mostly up over the last half of the window, by a lot
    ups = sum(x > 0 for x in recent)
    out["rising"] = (ups >= 0.6 * len(recent) and w[-1] > w[len(d) // 2] and w[-1] > 1.5 * lo
                     and w[-1] - lo > SWING * guess)
    # a noisy descent (mini-batches) is not an oscillation: the cost must not be trending down
    out["oscillating"] = out["oscillating"] and not _fell(w, TRENDING)
    every = _finite(costs)
    out["falling"] = _fell(every[-max(window, len(every) // 4):], FALLING)
    return out


def diagnose_run(history: Optional[dict], status: str, train, dev=None, test=None,
                 grad_norms=None, iteration: int = 0, epoch: int = 0,
                 human_error: Optional[float] = None, *, classes: int = 2,
                 diverged_at: Optional[int] = None, restored_iteration: Optional[int] = None,
                 dev_size: Optional[int] = None, threshold: float = THRESHOLD) -> Optional[dict]:
    """What the bias/variance card says about a classification run (None for regression).

    history: per-epoch lists (Trainer.history: train_cost, dev_cost, train_accuracy,
    dev_accuracy); status: the trainer's status; train/dev/test: SetMetrics or dicts with
    `accuracy` (dev/test None when the set is empty); grad_norms: ‖dW[l]‖ of the last backward;
    classes: number of classes (2 for a sigmoid output); dev_size: dev examples (for the
    uncertainty of the dev error).

    Returns a dict: `state` (one of STATES), `verdict` (the course's verdict, only in state
    "diagnosed", else None), `headline` (a few words: what the card says first, e.g. "Still
    learning — no verdict yet", "Learning rate too large: lower α", "High variance"), `message`
    (the why, in sentences, not repeating the headline), `advice` (list of strings),
    `train_error`, `dev_error`, `test_error` (fractions or None), `human_error`, `avoidable_bias`
    (train − human) and `variance` (dev − train, never negative: None when dev is more than
    `threshold` better than train, 0 for a smaller negative gap) and `dev_train_gap` (the signed
    dev − train) — the gaps only in state "diagnosed", else None —, `focus`, `threshold`,
    `epoch`, `trend` (cost_trend's measures) and `test_note` (why the test error is not for
    tuning, when a test set exists).
    """
    train_error = _error(train)
    if train_error is None and status != "diverged":
        return None  # regression (or no finite train accuracy): the card compares costs instead
    dev_error, test_error = _error(dev), _error(test)
    human = 0.0 if human_error is None else _check_error("human_error", human_error)
    classes = max(2, int(classes))
    chance = 1.0 - 1.0 / classes
    costs = (history or {}).get("train_cost") or []
    trend = cost_trend(costs, classes)
    norms = [None if g is None else float(g) for g in (grad_norms or [])]
    out = {
        "state": "learning", "verdict": None, "headline": "Still learning — no verdict yet",
        "advice": [], "message": "",
        "train_error": train_error, "dev_error": dev_error, "test_error": test_error,
        "human_error": human, "avoidable_bias": None, "variance": None, "dev_train_gap": None,
        "focus": None, "threshold": float(threshold), "epoch": int(epoch),
        "trend": {k: trend[k] for k in ("sign_changes", "swing", "spread", "oscillating", "rising", "falling")},
        "test_note": TEST_NOTE if test_error is not None else None,
    }
    near_chance = train_error is not None and train_error >= NEAR_CHANCE * chance
    history_accuracy = (history or {}).get("train_accuracy") or []
    lo, hi = trend["low"], trend["high"]

    if status == "diverged":
        where = f" at iteration {diverged_at}" if diverged_at is not None else ""
        kept = f" The weights of iteration {restored_iteration} (the last finite ones) are kept." \
            if restored_iteration is not None else ""
        out.update(state="diverged", headline="Diverged: the learning rate is too large",
                   advice=list(DIVERGED_ADVICE), message=(
            f"Training diverged{where}: the cost or the weights blew up to infinity (NaN). The learning "
            f"rate is too large for this network and data, so each step overshoots further.{kept} "
            f"No bias/variance verdict for a run that blew up."))
        return out
    if iteration == 0 or epoch < MIN_EPOCHS:
        done = "Press play" if iteration == 0 else f"Epoch {epoch} of at least {MIN_EPOCHS}"
        out["message"] = (f"{done}: the bias/variance verdict appears after {MIN_EPOCHS} epochs, once "
                          f"the net has learned something.")
        return out
    if trend["oscillating"] or trend["rising"]:
        how = (f"swings up and down between {lo:.3g} and {hi:.3g}" if trend["oscillating"]
               else f"keeps rising (now {trend_last(costs):.3g}, lowest {lo:.3g})")
        out.update(state="oscillating", headline="Learning rate too large: lower α",
                   advice=list(LOWER_ALPHA_ADVICE), message=(
            f"Over the last {trend['n']} epochs the train cost {how} "
            f"instead of going down: each step jumps across the valley of the cost. This is not a "
            f"bias problem, so a bigger network will not help."))
        return out
    zero = bool(norms) and all(g is not None and g < DEAD_GRADIENT for g in norms)
    if zero and near_chance:
        guess, last = math.log(classes), trend_last(costs)
        at = f"{last:.3f}"
        if abs(last - guess) < 0.02 * guess:
            at += f" (≈ ln {classes} = {guess:.3f}, the cost of guessing)"
        out.update(state="dead", headline="Dead network: every gradient is 0",
                   advice=list(DEAD_ADVICE), message=(
            f"Every gradient dW is 0 and the cost is stuck at {at}, with train error "
            f"{_pct(train_error)} (chance level). No gradient reaches the weights, so nothing can "
            f"learn from here. Typical causes: zero initialization with tanh or ReLU (every hidden "
            f"unit outputs 0, so dW = 0), or ReLUs that all output 0 (dead ReLUs, e.g. after a too "
            f"large step). Not a bias problem: a bigger network will not help."))
        return out
    best = min([train_error] + [1.0 - a for a in _finite(history_accuracy)])
    if best >= NEAR_CHANCE * chance:  # never got clearly better than guessing
        if trend["falling"]:
            out["message"] = (f"Train error {_pct(train_error)} is still near chance ({_pct(chance)}), "
                              f"but the cost is still falling.")
        else:
            out.update(state="stuck", headline="No progress — no verdict yet",
                       advice=list(STUCK_ADVICE), message=(
                f"After {epoch} epochs the train error is still "
                f"{_pct(train_error)} (guessing gives {_pct(chance)}) and the cost has stopped falling. "
                f"The net has learned nothing so far, so bias and variance cannot be told apart."))
        return out
    if dev_error is None:
        out.update(state="needs_dev", headline="Needs a dev set",
                   avoidable_bias=round(train_error - human, 12), message=(
            "Variance is measured on a dev set: pick a split with dev data."))
        return out

    d = diagnose(train_error, dev_error, human, threshold)
    gap = d.variance
    variance = None if gap < -threshold else max(gap, 0.0)
    out.update(state="diagnosed", verdict=d.verdict, advice=list(d.advice), focus=d.focus,
               avoidable_bias=d.avoidable_bias, variance=variance, dev_train_gap=gap)
    te, de, hum = _pct(train_error), _pct(dev_error), _pct(human)
    bias_words = f"train error {te} is {_points(d.avoidable_bias)} above human level ({hum})"
    var_words = f"dev error {de} is {_points(gap)} above train error ({te})"
    if d.verdict == "high bias and high variance":
        msg = f"{_cap(bias_words)}, and {var_words}."
    elif d.verdict == "high bias":
        msg = f"{_cap(bias_words)}: the net does not fit even the training set yet."
    elif d.verdict == "high variance":
        msg = f"{_cap(var_words)}: the net fits the training set but does not generalize."
    else:
        msg = f"Train error {te} and dev error {de} are close to human level ({hum}): the model is in good shape."
    if gap < -threshold:
        noise = ""
        if dev_size:
            sd = math.sqrt(max(dev_error * (1 - dev_error), 1.0 / dev_size) / dev_size)
            noise = f" (its {dev_size} examples make the dev error uncertain by about ±{_points(2 * sd)})"
        msg += (f" Dev error {de} is {_points(-gap)} LOWER than train error {te}: that is not a negative "
                f"variance. Either the dev set is small or happens to hold easier points{noise}, or "
                f"regularization (L2, dropout) keeps the train error up on purpose. Read it as: no "
                f"variance problem.")
    elif gap < 0:
        msg += " Dev error is about the same as train error: no variance problem."
    headline = "Neither high bias nor high variance" if d.verdict == "neither" else _cap(d.verdict)
    out.update(headline=headline, message=msg.strip())
    return out


def trend_last(costs) -> float:
    """The last finite cost of a history list (nan if none)."""
    w = _finite(costs)
    return w[-1] if w else float("nan")
