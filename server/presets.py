"""The lesson menu (GET /api/presets): one preset per lesson of the course, each a full
TrainConfig dict the browser loads as is, with 2-4 sentences saying what to watch and try.

Each config is written as what the lesson changes in a shared base (_BASE, itself a few
overrides of the TrainConfig defaults) and expanded (and validated) at import time, so a typo
here fails loudly; tests/server/test_presets.py also checks the server limits.
"""
from __future__ import annotations

from engine.config import TrainConfig


# What the lessons share (plain gradient descent on lightly noisy data for 5000 epochs); every field
# not set here or in a lesson is the TrainConfig default (batch_size 64, α = 0.01, He init, ReLU...).
_BASE = {"data": {"noise": 0.1}, "optimizer": {"name": "gd"}, "epochs": 5000}

# Few noisy points and a wide network: the high-variance setup of the regularization lessons.
_OVERFITTING = dict(data={"name": "moons", "n": 400, "noise": 0.4, "split": [0.5, 0.5, 0.0]},
                    network={"hidden": [16, 16, 16]}, optimizer={"name": "adam"}, epochs=3000)


def _merge(base: dict, overrides: dict) -> dict:
    """`base` with `overrides` applied: nested dicts merge key by key, other values (lists too) replace."""
    merged = dict(base)
    for key, value in overrides.items():
        both_dicts = isinstance(value, dict) and isinstance(base.get(key), dict)
        merged[key] = _merge(base[key], value) if both_dicts else value
    return merged


def _config(**overrides) -> dict:
    """A full, validated TrainConfig dict: _BASE with a lesson's nested overrides."""
    return TrainConfig.model_validate(_merge(_BASE, overrides)).model_dump(mode="json")


# Each text says what to do, what to look at and why, and claims only what its own preset shows:
# tests/server/test_lesson_claims.py asserts every claim in numbers over several seeds.
_LESSONS = [
    dict(
        id="init-zeros-vs-he", topic="initialization", title="Zeros vs He initialization",
        text="Every weight starts at zero. With sigmoid units all hidden units of a layer compute the "
             "same function and get the same gradient, so they learn in lockstep: the weights move, "
             "but the thumbnails stay identical and the net acts like one unit per layer, which cannot "
             "draw a circle (accuracy stays below 75%). Switch Init to 'he' (W = randn·√(2/n[l-1])) "
             "and reset: the units differ and the circle is learned within about 1,000 iterations. "
             "(With tanh or ReLU, g(0) = 0: every hidden output and gradient is exactly 0, so zero "
             "init freezes the hidden layers completely.)",
        config=_config(data={"name": "circle"},
                       network={"hidden": [4, 4], "activation": "sigmoid", "init": "zeros"},
                       optimizer={"learning_rate": 1.0}, epochs=3000),
    ),
    dict(
        id="activations", topic="activations", title="Sigmoid vs tanh vs ReLU",
        text="The course's flower data, one hidden layer of 6 sigmoid units, batch gradient descent. "
             "Switch Activation to tanh and reset: tanh is zero-centred and its slope reaches 1 "
             "(σ' ≤ 0.25), so the petals are learned several times faster. Sigmoid and tanh saturate "
             "for large |z| (g' ≈ 0); ReLU does not, which is why it is the default in deep nets (see "
             "the vanishing-gradients lesson). With only 6 units, though, ReLU's boundary is made of "
             "a few straight pieces and its cost stays above tanh's here.",
        config=_config(data={"name": "flower"}, network={"hidden": [6], "activation": "sigmoid", "init": "xavier"},
                       optimizer={"learning_rate": 1.0}, batch_size=400, epochs=10000),
    ),
    dict(
        id="vanishing-gradients", topic="initialization", title="Vanishing gradients in a deep sigmoid net",
        text="Six sigmoid layers: each backward step multiplies the gradient by W and by σ'(z) ≤ 0.25, "
             "so ‖dW‖ shrinks layer after layer: the first layer's is thousands of times smaller than "
             "the output layer's (see the gradient-norm curves), and the cost stays at ln 2 ≈ 0.69. "
             "Switch Activation to ReLU and Init to he, and reset: the gradients reach the first "
             "layers at the same size and the spiral is learned.",
        config=_config(data={"name": "spiral", "noise": 0.05},
                       network={"hidden": [8, 8, 8, 8, 8, 8], "activation": "sigmoid", "init": "xavier"},
                       optimizer={"learning_rate": 0.03}, batch_size=32),
    ),
    dict(
        id="overfitting-l2", topic="regularization", title="Overfitting, then L2 regularization",
        text="200 noisy training points and a big network: train accuracy climbs above 90% while "
             "the dev cost, after its minimum in the first epochs, climbs to several times that: high "
             "variance. Set L2 λ to 1 and reset: J gains (λ/2m)Σ‖W‖², the weights decay, the boundary "
             "smooths, the dev cost stays low and dev accuracy rises, while train accuracy stays "
             "near 90%. A very large λ (30) pushes towards a nearly linear model that underfits.",
        config=_config(**_OVERFITTING),
    ),
    dict(
        id="dropout", topic="regularization", title="Dropout",
        text="The same overfitting setup with inverted dropout: each iteration keeps every hidden unit "
             "with probability keep_prob = 0.5 and divides by 0.5, so no unit can rely on any other. "
             "Train accuracy no longer reaches 100%, the dev cost stays far below the unregularized "
             "run's and dev accuracy is higher. J itself changes with every mask, so to debug "
             "the optimization the course plots J with keep_prob = 1. Set Keep prob to 1 and reset "
             "to compare.",
        config=_config(**_OVERFITTING, regularization={"keep_prob": 0.5}),
    ),
    dict(
        id="batch-vs-minibatch", topic="optimization", title="Batch vs mini-batch vs stochastic",
        text="Mini-batches of 8: 40 updates per epoch, and a mini-batch cost that is noisy but trends "
             "down. Set Batch size to 512 (≥ m: batch gradient descent) and reset: a smooth curve, but "
             "one update per epoch, so it needs about 40 times more epochs to reach the same cost. "
             "Batch size 1 (stochastic gradient descent) gives the noisiest curve: every update "
             "sees one example.",
        config=_config(data={"name": "moons", "noise": 0.2}, network={"hidden": [8, 4]},
                       optimizer={"learning_rate": 0.1}, batch_size=8, epochs=3000),
    ),
    dict(
        id="input-normalization", topic="optimization", title="Normalizing inputs",
        text="The circle, stretched: x1 spans ±60 and x2 only ±0.3, and Normalize inputs is off. The "
             "cost contours are long and thin, so at α = 0.1 the steps are too big for w1 and too "
             "small for w2: the cost stalls around 0.3-0.4. Turn Normalize inputs on "
             "(x := (x - μ)/σ, with μ and σ from the training set) and reset: the contours become "
             "round and the same α brings the cost below 0.15 within 1,000 iterations.",
        config=_config(data={"name": "circle", "scale": [10.0, 0.05]}, normalize=False,
                       network={"hidden": [4]}, optimizer={"learning_rate": 0.1}),
    ),
    dict(
        id="momentum-rmsprop-adam", topic="optimization", title="Momentum, RMSprop and Adam",
        text="Mini-batch gradient descent with a large α = 2: the cost falls, but its curve is jagged, "
             "because successive steps point in nearly opposite directions (zig-zag). Switch Optimizer "
             "to momentum (VdW = βVdW + (1-β)dW, β = 0.9): each step averages about 10 gradients, the "
             "back-and-forth cancels and the curve is much smoother. RMSprop (dW / √SdW) and Adam "
             "(both, with bias correction) move every parameter by about α per step: set α to 0.01 "
             "for them. Both bring the cost below 0.1 within a few hundred iterations, Adam with the "
             "smoothest curve.",
        config=_config(data={"name": "moons", "noise": 0.2}, network={"hidden": [5, 2], "activation": "tanh"},
                       optimizer={"learning_rate": 2.0}),
    ),
    dict(
        id="learning-rate-decay", topic="optimization", title="Learning-rate decay",
        text="A large starting α₀ = 0.5 with inverse-time decay, α = α₀ / (1 + decay_rate·⌊epoch/100⌋): "
             "α halves after 100 epochs and keeps falling. Early steps are big and fast, later ones "
             "small, so the noisy mini-batch path settles near the minimum: after a few hundred "
             "epochs the train cost wobbles several times less than with a constant α. Set Decay "
             "to constant and reset to compare.",
        config=_config(data={"name": "moons", "noise": 0.25}, network={"hidden": [8, 4]},
                       optimizer={"learning_rate": 0.5},
                       schedule={"name": "inverse_time", "decay_rate": 1.0, "interval": 100},
                       batch_size=16, epochs=3000),
    ),
    dict(
        id="batch-norm", topic="batch norm", title="Batch normalization",
        text="Each hidden layer normalizes Z over the mini-batch, Z̃ = γ(Z - μ)/√(σ² + ε) + β, with γ "
             "and β learned; at test time the running averages of μ and σ² are used. The deep ReLU net "
             "brings the cost below 0.3 within a few hundred iterations. Turn Batch norm off and "
             "reset: the same net at the same α takes three times as long or more to get there.",
        config=_config(data={"name": "spiral"}, network={"hidden": [12, 12, 12, 12], "batch_norm": True},
                       optimizer={"learning_rate": 0.1}),
    ),
    dict(
        id="softmax", topic="softmax", title="Softmax on 3+ classes",
        text="Three interleaved spirals: the output layer is a softmax, A[L] = e^Z / Σe^Z, trained with "
             "categorical cross-entropy, and the boundary shows the most likely class. Change "
             "Classes up to 6 and watch the output layer grow to one unit per class.",
        config=_config(data={"name": "multi_spiral", "classes": 3, "n": 600}, network={"hidden": [16, 16]},
                       optimizer={"name": "adam"}),
    ),
    dict(
        id="gradient-checking", topic="gradient checking", title="Gradient checking",
        text="Press \"Check gradients\": every parameter is nudged by ±ε and the two-sided difference "
             "(J(θ+ε) - J(θ-ε))/2ε is compared with backprop's dθ. A relative difference near 1e-7 is "
             "great, 1e-5 deserves a closer look, 1e-3 means a bug. The check includes the L2 term and "
             "does not work with dropout on.",
        config=_config(data={"name": "circle"}, network={"hidden": [4, 3], "activation": "tanh"},
                       regularization={"l2": 0.1}, optimizer={"name": "adam"}, epochs=2000),
    ),
]

PRESETS: list[dict] = [
    {"id": p["id"], "title": p["title"], "text": p["text"], "config": p["config"], "topic": p["topic"]}
    for p in _LESSONS
]
