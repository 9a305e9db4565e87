"""Parity with PyTorch (float64): the same ConvNet, the same initial weights and mini-batches, a few
training steps of the engine's optimizer vs torch.optim; every parameter equal to 1e-9 relative.
Skipped only when torch is not installed (pip install "nn-playground[test]")."""
import numpy as np
import pytest

from engine.backend import get_backend
from engine.config import OptimizerConfig
from engine.conv import ConvNet
from engine.optimizers import make_optimizer

torch = pytest.importorskip("torch")
nn = torch.nn

STEPS, M, N_Y = 5, 6, 4


class TorchNet(nn.Module):
    """The torch twin of a ConvNet: NCHW inside, flatten in the engine's (h, w, c) order."""

    def __init__(self, net: ConvNet):
        super().__init__()
        self.net, self.blocks = net, nn.ModuleList()
        for layer in net.layers:
            spec, kind = layer.plan.spec, layer.plan.type
            if kind == "conv":
                f, c_in, c_out = spec["size"], layer.in_shape[2], spec["filters"]
                conv = nn.Conv2d(c_in, c_out, f, stride=spec["stride"], padding=layer.plan.p, bias=not layer.bn,
                                 dtype=torch.float64)
                self.blocks.append(nn.ModuleDict({"conv": conv, **({"bn": self._bn(c_out)} if layer.bn else {})}))
            elif kind == "residual":
                f, c = spec["size"], layer.in_shape[2]
                mods = {"conv1": nn.Conv2d(c, c, f, padding=layer.plan.p, bias=not layer.bn, dtype=torch.float64),
                        "conv2": nn.Conv2d(c, c, f, padding=layer.plan.p, bias=not layer.bn, dtype=torch.float64)}
                if layer.bn:
                    mods.update(bn1=self._bn(c), bn2=self._bn(c))
                self.blocks.append(nn.ModuleDict(mods))
            elif kind == "pool":
                pool = (nn.MaxPool2d if spec["mode"] == "max" else nn.AvgPool2d)(spec["size"], stride=spec["stride"])
                self.blocks.append(pool)
            elif kind == "flatten":
                self.blocks.append(nn.Flatten())
            else:
                self.blocks.append(nn.Linear(layer.in_shape[0], spec["units"], dtype=torch.float64))
        self.out = nn.Linear(net.shapes[-2][0], N_Y, dtype=torch.float64)

    @staticmethod
    def _bn(c):
        return nn.BatchNorm2d(c, eps=1e-5, momentum=0.1, dtype=torch.float64)

    def forward(self, x):  # x: (m, n_H, n_W, n_C)
        x = x.permute(0, 3, 1, 2)
        for layer, block in zip(self.net.layers, self.blocks):
            kind = layer.plan.type
            if kind == "conv":
                x = block["conv"](x)
                x = torch.relu(block["bn"](x) if "bn" in block else x)
            elif kind == "residual":
                z = block["conv1"](x)
                a = torch.relu(block["bn1"](z) if "bn1" in block else z)
                z = block["conv2"](a)
                x = torch.relu((block["bn2"](z) if "bn2" in block else z) + x)
            elif kind == "flatten":
                x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # (h, w, c) order, as the engine
            elif kind == "dense":
                x = torch.relu(block(x))
            else:
                x = block(x)
        return self.out(x)

    def copy_from(self, net: ConvNet):
        """Torch's parameters := the engine's (W (f, f, n_C_prev, n_C) → (n_C, n_C_prev, f, f))."""
        p, t = net.params, lambda a: torch.tensor(np.ascontiguousarray(a))
        with torch.no_grad():
            for layer, block in zip(net.layers, self.blocks):
                l, kind = layer.l, layer.plan.type
                if kind in ("conv", "residual"):
                    keys = [("conv", "", "bn")] if kind == "conv" else [("conv1", "_1", "bn1"), ("conv2", "_2", "bn2")]
                    for conv, suffix, bn in keys:
                        block[conv].weight.copy_(t(p[f"W{l}{suffix}"].transpose(3, 2, 0, 1)))
                        if layer.bn:
                            block[bn].weight.copy_(t(p[f"gamma{l}{suffix}"].ravel()))
                            block[bn].bias.copy_(t(p[f"beta{l}{suffix}"].ravel()))
                        else:
                            block[conv].bias.copy_(t(p[f"b{l}{suffix}"].ravel()))
                elif kind == "dense":
                    block.weight.copy_(t(p[f"W{l}"]))
                    block.bias.copy_(t(p[f"b{l}"].ravel()))
            self.out.weight.copy_(t(p[f"W{net.L}"]))
            self.out.bias.copy_(t(p[f"b{net.L}"].ravel()))

    def as_engine(self, net: ConvNet) -> dict:
        """Torch's parameters under the engine's names and shapes."""
        out, g = {}, lambda x: x.detach().numpy()
        for layer, block in zip(net.layers, self.blocks):
            l, kind = layer.l, layer.plan.type
            if kind in ("conv", "residual"):
                keys = [("conv", "", "bn")] if kind == "conv" else [("conv1", "_1", "bn1"), ("conv2", "_2", "bn2")]
                for conv, suffix, bn in keys:
                    out[f"W{l}{suffix}"] = g(block[conv].weight).transpose(2, 3, 1, 0)
                    if layer.bn:
                        out[f"gamma{l}{suffix}"] = g(block[bn].weight).reshape(1, 1, 1, -1)
                        out[f"beta{l}{suffix}"] = g(block[bn].bias).reshape(1, 1, 1, -1)
                    else:
                        out[f"b{l}{suffix}"] = g(block[conv].bias).reshape(1, 1, 1, -1)
            elif kind == "dense":
                out[f"W{l}"], out[f"b{l}"] = g(block.weight), g(block.bias).reshape(-1, 1)
        out[f"W{net.L}"], out[f"b{net.L}"] = g(self.out.weight), g(self.out.bias).reshape(-1, 1)
        return out


def _train_both(layers, shape, optimizer, lr, l2=0.0, batch_norm=False):
    net = ConvNet(layers, shape, N_Y, output="softmax", init="he", batch_norm=batch_norm, seed=3)
    rng = np.random.default_rng(5)
    net.theta[net.n_weights:] += 0.1 * rng.standard_normal(net.size - net.n_weights)
    twin = TorchNet(net)
    twin.copy_from(net)
    m_train = 3 * M  # the penalty's m: the training set, as the Trainer passes it
    batches = [(rng.standard_normal((M, *shape)), rng.integers(0, N_Y, M)) for _ in range(STEPS)]

    opt_cfg = OptimizerConfig(name=optimizer, learning_rate=lr)
    engine_opt = make_optimizer(opt_cfg, net.size, get_backend())
    for X, labels in batches:
        net.loss_and_grads(X, np.eye(N_Y)[:, labels], l2=l2, reg_m=m_train)
        engine_opt.update(net.theta, net.grads, lr)

    if optimizer == "gd":
        torch_opt = torch.optim.SGD(twin.parameters(), lr=lr)
    else:
        torch_opt = torch.optim.Adam(twin.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8)
    weights = [p for name, p in twin.named_parameters() if name.endswith("weight") and "bn" not in name]
    for X, labels in batches:
        torch_opt.zero_grad()
        loss = nn.functional.cross_entropy(twin(torch.tensor(X)), torch.tensor(labels))
        if l2:
            loss = loss + l2 / (2 * m_train) * sum((w ** 2).sum() for w in weights)
        loss.backward()
        torch_opt.step()
    return net.get_parameters(), twin.as_engine(net)


def _conv(**kw):
    return {"type": "conv", "filters": 4, "size": 3, "stride": 1, "padding": "same", "activation": "relu", **kw}


FLAT, DENSE = {"type": "flatten"}, {"type": "dense", "units": 8, "activation": "relu"}
CASES = {
    "conv same, max pool, dense": ([_conv(), {"type": "pool", "mode": "max", "size": 2, "stride": 2}, FLAT, DENSE], (8, 8, 2)),
    "conv valid stride 2, avg pool": ([_conv(padding="valid", stride=2), {"type": "pool", "mode": "average", "size": 2, "stride": 1}, FLAT], (9, 9, 1)),
    "conv padding 1 stride 2, overlapping max pool": ([_conv(padding=1, stride=2, size=2), {"type": "pool", "mode": "max", "size": 3, "stride": 2}, FLAT], (10, 10, 3)),
    "residual": ([_conv(), {"type": "residual", "size": 3, "activation": "relu"}, {"type": "pool", "mode": "max", "size": 2, "stride": 2}, FLAT], (6, 6, 2)),
}


@pytest.mark.parametrize("optimizer, lr", [("gd", 0.1), ("adam", 0.01)])
@pytest.mark.parametrize("case", list(CASES))
def test_parameters_equal_torch_after_training(case, optimizer, lr):
    layers, shape = CASES[case]
    ours, theirs = _train_both(layers, shape, optimizer, lr, l2=0.5)
    assert set(ours) == set(theirs)
    for name in ours:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-9, atol=1e-12, err_msg=name)


def test_batch_norm_per_channel_equals_torch():
    layers = [_conv(), {"type": "residual", "size": 3, "activation": "relu"}, {"type": "pool", "mode": "max", "size": 2, "stride": 2}, FLAT]
    ours, theirs = _train_both(layers, (6, 6, 2), "adam", 0.01, batch_norm=True)
    assert "gamma1" in ours and "gamma2_2" in ours
    for name in theirs:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-9, atol=1e-12, err_msg=name)


def test_parity_can_fail():
    """A different learning rate on one side is caught: the comparison is not vacuous."""
    layers, shape = CASES["conv same, max pool, dense"]
    ours, _ = _train_both(layers, shape, "gd", 0.1)
    _, theirs = _train_both(layers, shape, "gd", 0.1001)
    assert not np.allclose(ours["W1"], theirs["W1"], rtol=1e-9, atol=1e-12)
