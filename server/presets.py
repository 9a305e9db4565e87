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

# Few noisy points and a big network: the high-variance setup of the regularization lessons.
_OVERFITTING = dict(data={"name": "spiral", "n": 200, "noise": 0.4, "split": [0.5, 0.5, 0.0]},
                    network={"hidden": [16, 16, 16]}, optimizer={"name": "adam"}, batch_size=32)


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


_LESSONS = [
    dict(
        id="init-zeros-vs-he", topic="initialization", title="Zeros vs He initialization",
        text="Every weight starts at zero, so all hidden units of a layer compute the same function "
             "and receive the same gradient: they stay identical forever (symmetry), and the thumbnails "
             "all look alike. Switch network.init to 'he' (W = randn·√(2/n[l-1])) and reset: the units "
             "break symmetry and the circle is learned in a few hundred iterations.",
        config=_config(data={"name": "circle"}, network={"hidden": [4, 4], "init": "zeros"},
                       optimizer={"learning_rate": 0.3}, epochs=3000),
    ),
    dict(
        id="activations", topic="activations", title="Sigmoid vs tanh vs ReLU",
        text="The course's flower data with one hidden layer of sigmoid units. Compare tanh (zero-centred, "
             "steeper) and ReLU (no saturation for z > 0): the same network learns the petals much faster. "
             "Sigmoid and tanh saturate for large |z| (gradient ≈ 0), which is why ReLU is the usual "
             "default for hidden layers, and sigmoid stays at the binary output.",
        config=_config(data={"name": "flower"}, network={"hidden": [6], "activation": "sigmoid", "init": "xavier"},
                       optimizer={"learning_rate": 1.0}, batch_size=400, epochs=10000),
    ),
    dict(
        id="vanishing-gradients", topic="initialization", title="Vanishing gradients in a deep sigmoid net",
        text="Six sigmoid layers: each backward step multiplies the gradient by W and by σ'(z) ≤ 0.25, so "
             "‖dW‖ shrinks layer after layer and the first layers barely learn. Watch the gradient-norm "
             "curves per layer. Switch the activation to ReLU with He initialization and the gradients "
             "reach the early layers again.",
        config=_config(data={"name": "spiral", "noise": 0.05},
                       network={"hidden": [8, 8, 8, 8, 8, 8], "activation": "sigmoid", "init": "xavier"},
                       optimizer={"learning_rate": 0.3}, batch_size=32),
    ),
    dict(
        id="overfitting-l2", topic="regularization", title="Overfitting, then L2 regularization",
        text="Few noisy points and a big network: train accuracy climbs towards 100% while the dev cost "
             "turns up again, high variance (see the bias/variance card). Raise L2's λ to about 0.3: "
             "J gains (λ/2m)Σ‖W‖², the weights decay, the boundary smooths and the dev cost drops. "
             "A very large λ pushes towards a nearly linear model that underfits.",
        config=_config(**_OVERFITTING),
    ),
    dict(
        id="dropout", topic="regularization", title="Dropout",
        text="The same overfitting setup with inverted dropout: each iteration keeps every hidden unit "
             "with probability keep_prob = 0.7 and divides by 0.7, so no unit can rely on any other. "
             "The dev cost stays close to the train cost; the mini-batch cost gets noisier because J "
             "changes with every mask. Set keep_prob to 1 to compare.",
        config=_config(**_OVERFITTING, regularization={"keep_prob": 0.7}),
    ),
    dict(
        id="batch-vs-minibatch", topic="optimization", title="Batch vs mini-batch vs stochastic",
        text="Mini-batches of 8: many updates per epoch, and a mini-batch cost curve that is noisy but "
             "trends down. Set batch_size to 400 (≥ m: batch gradient descent) for a smooth curve and "
             "one slow step per epoch, or to 1 (stochastic) for the noisiest path and no vectorization. "
             "Sizes like 32-256 are usually fastest.",
        config=_config(data={"name": "moons", "noise": 0.2}, network={"hidden": [8, 4]},
                       optimizer={"learning_rate": 0.1}, batch_size=8, epochs=3000),
    ),
    dict(
        id="input-normalization", topic="optimization", title="Normalizing inputs",
        text="The inputs x1, x2 and x1², x2² have very different ranges and normalization is off, so the "
             "cost contours are elongated and gradient descent zig-zags with a small learning rate. "
             "Turn normalize on (x := (x - μ)/σ with μ, σ from the training set) and reset: the "
             "contours become round and the same learning rate converges quickly.",
        config=_config(data={"name": "circle"}, features=["x1", "x2", "x1_sq", "x2_sq"], normalize=False,
                       network={"hidden": [4]}, optimizer={"learning_rate": 0.003}),
    ),
    dict(
        id="momentum-rmsprop-adam", topic="optimization", title="Momentum, RMSprop and Adam",
        text="Plain mini-batch gradient descent on the moons. Switch to momentum (VdW = βVdW + (1-β)dW, "
             "β = 0.9) to damp the oscillations, to RMSprop (divide by √SdW) to even out the step per "
             "direction, then to Adam, which combines both with bias correction and usually converges "
             "fastest at α = 0.01.",
        config=_config(data={"name": "moons", "noise": 0.2}, network={"hidden": [5, 2]},
                       optimizer={"learning_rate": 0.05}),
    ),
    dict(
        id="learning-rate-decay", topic="optimization", title="Learning-rate decay",
        text="A large starting learning rate with inverse-time decay: α = α₀ / (1 + decay_rate·epoch), "
             "lowered in steps every 100 epochs. Early steps are big and fast, later ones small, so the "
             "noisy mini-batch path settles near the minimum instead of wandering around it. Try the "
             "exponential schedule (0.95^epoch·α₀) or constant to compare.",
        config=_config(data={"name": "moons", "noise": 0.25}, network={"hidden": [8, 4]},
                       optimizer={"learning_rate": 0.5},
                       schedule={"name": "inverse_time", "decay_rate": 1.0, "interval": 100},
                       batch_size=16, epochs=3000),
    ),
    dict(
        id="batch-norm", topic="batch norm", title="Batch normalization",
        text="Each hidden layer normalizes Z over the mini-batch, Z̃ = γ(Z - μ)/√(σ² + ε) + β, with γ and "
             "β learned; at test time the running averages of μ and σ² are used. The deep ReLU net "
             "trains fast even with a large learning rate. Turn batch_norm off and reset to see it "
             "train slower or diverge.",
        config=_config(data={"name": "spiral"}, network={"hidden": [12, 12, 12, 12], "batch_norm": True},
                       optimizer={"learning_rate": 0.5}),
    ),
    dict(
        id="softmax", topic="softmax", title="Softmax on 3+ classes",
        text="Three interleaved spirals: the output layer is a softmax, A[L] = e^Z / Σe^Z, trained with "
             "categorical cross-entropy, and the boundary shows the most likely class. Change "
             "data.classes up to 6 and watch the output layer grow to one unit per class.",
        config=_config(data={"name": "multi_spiral", "classes": 3, "n": 600}, network={"hidden": [16, 16]},
                       optimizer={"name": "adam"}),
    ),
    dict(
        id="gradient-checking", topic="gradient checking", title="Gradient checking",
        text="Press \"gradient check\": every parameter is nudged by ±ε and the two-sided difference "
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
