"""The CNN lab's lessons that need training (docs/cnn.md "Live ConvNet lessons"), each checked in
numbers on its own preset: the architectures of static/js/cnn/train/presets.js (the browser test
tests/e2e/test_cnn_train.py checks that the page's presets equal ARCHITECTURES below), trained
headless with the engine's Trainer, the counts as the Live ConvNet's `data` message gives them
(server/cnn_frames.py layer_table)."""
from __future__ import annotations

import pytest

from engine.config import TrainConfig
from engine.trainer import Trainer
from server.cnn_frames import layer_table


def conv(filters, size=3, padding="same"):
    return {"type": "conv", "filters": filters, "size": size, "stride": 1, "padding": padding, "activation": "relu"}


def pool(mode="max"):
    return {"type": "pool", "mode": mode, "size": 2, "stride": 2}


FLATTEN = {"type": "flatten"}
RESIDUAL = {"type": "residual", "size": 3, "activation": "relu"}


def dense(units):
    return {"type": "dense", "units": units, "activation": "relu"}


ARCHITECTURES = {
    "convnet": {"layers": [conv(8), pool(), FLATTEN, dense(32)]},
    "lenet": {"layers": [conv(6), pool("average"), conv(16, 3, "valid"), pool("average"), FLATTEN, dense(120), dense(84)]},
    "onebyone": {"layers": [conv(16), conv(4, 1, "valid"), pool(), FLATTEN, dense(32)]},
    "plain": {"layers": [conv(8)] + [conv(8) for _ in range(12)] + [pool(), FLATTEN]},
    "residual": {"layers": [conv(8)] + [RESIDUAL] * 6 + [pool(), FLATTEN]},
    "dense": {"hidden": [64, 32]},
}


def config(net: str, **over) -> TrainConfig:
    """The panel's config (presets.js trainConfig) for digits."""
    arch = ARCHITECTURES[net]
    network = {"output": "softmax", "init": over.pop("init", "he"), "batch_norm": False}
    network.update({"hidden": arch["hidden"], "activation": "relu"} if "hidden" in arch else {"layers": arch["layers"]})
    return TrainConfig.model_validate({
        "data": {"name": "digits", "seed": 0, "split": [0.7, 0.15, 0.15]}, "network": network,
        "regularization": {"l2": 0.0, "keep_prob": 1.0},
        "optimizer": {"name": over.pop("optimizer", "adam"), "learning_rate": over.pop("alpha", 0.003)},
        "batch_size": over.pop("batch_size", 32), "epochs": over.pop("epochs", 200), "seed": over.pop("seed", 1)})


def table(net: str) -> list[dict]:
    return layer_table(Trainer(config(net, epochs=0)))


def test_one_by_one_convolution_shrinks_channels():
    rows = table("onebyone")
    conv3, conv1, pooled, flat, fc = rows[:5]
    assert conv3["out_shape"] == [8, 8, 16] and conv1["out_shape"] == [8, 8, 4]  # n_H, n_W kept; 16 → 4 channels
    assert conv1["parameters"] == 1 * 1 * 16 * 4 + 4 == 68
    assert conv3["parameters"] == 3 * 3 * 1 * 16 + 16 == 160
    # the layers after it see a quarter of the volume: the dense layer after pool + flatten
    assert pooled["out_shape"] == [4, 4, 4] and flat["out_shape"] == [64]
    assert fc["parameters"] == 64 * 32 + 32 == 2_080  # instead of 256·32 + 32 = 8,224 on 16 channels
    without = layer_table(Trainer(TrainConfig.model_validate({**config("onebyone", epochs=0).model_dump(),
                                                              "network": {"layers": [conv(16), pool(), FLATTEN, dense(32)]}})))
    assert without[3]["parameters"] == 256 * 32 + 32 == 8_224


def test_parameter_sharing():
    rows = table("convnet")
    first = rows[0]
    assert first["parameters"] == 3 * 3 * 1 * 8 + 8 == 80            # one 3×3 filter per output channel, shared
    assert first["dense"] == 64 * 512 + 512 == 33_280               # 8·8·1 inputs to 8·8·8 units
    assert first["dense"] / first["parameters"] == 416
    assert sum(r["parameters"] for r in rows) == 4_538


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_residual_block_trains_a_deeper_net(seed):
    """Lesson preset: Xavier init (std √(1/n[l-1]), half the variance ReLU layers need), gradient
    descent α = 0.1, batch 64, two epochs. A plain stack of 13 ReLU convs loses its signal layer
    after layer and its gradients vanish: it stays at chance (cost ≈ ln 10 = 2.30); 1 conv + 6
    residual blocks (13 convs too) pass the signal along the skips and learn (measured: 0.20, 0.40,
    0.86 for seeds 1-3). Not claimed beyond this preset: with He init, or with Adam (which rescales
    tiny gradients), the plain net trains too at this depth."""
    costs = {}
    for net in ("plain", "residual"):
        trainer = Trainer(config(net, init="xavier", optimizer="gd", alpha=0.1, batch_size=64, epochs=2, seed=seed))
        while trainer.status in ("ready", "running"):
            trainer.step(1000, report=False)
        costs[net] = trainer.snapshot().to_dict()["train"]["cost"]
    assert costs["plain"] > 2.2, costs                 # chance: ln 10 = 2.303
    assert costs["residual"] < 0.5 * costs["plain"], costs


@pytest.mark.parametrize("net", sorted(ARCHITECTURES))
def test_every_preset_is_within_the_cnn_limits(net):
    from server.limits import cnn_violations

    for data in ({"name": "digits"}, {"name": "shapes", "n": 1200, "size": 16, "noise": 0.15, "classes": 6}):
        cfg = TrainConfig.model_validate({**config(net, epochs=0).model_dump(exclude={"network": {"hidden"}} if net != "dense" else None),
                                          "data": data})
        assert cnn_violations(cfg) == [], (net, data["name"])
