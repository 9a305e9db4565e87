"""The plotting grid over the data's domain, for the decision boundary and neuron thumbnails: its
points (DomainGrid), a copy of the network in another dtype (NetworkCopy) and the evaluation of
the trained network over it (GridPainter, behind Trainer.grid / neuron_grids / grids).

Point (i, j) of a res×res grid is x1 = xs[j], x2 = ys[i] (row = x2 from ymin up, column = x1),
xs = linspace(xmin, xmax, res), ys = linspace(ymin, ymax, res) over prepared.domain, in RAW input
space. The network sees prepared.transform(points) (feature map + train-set normalization); that
transformed (n_x, res²) array is computed once per (resolution, dtype) and cached, so a frame
costs one forward pass over the grid.

Why a float32 copy: a picture needs ~3 significant digits, and a float32 forward pass over a
100×100 grid costs several times less than a float64 one. `NetworkCopy` holds a Network of the
same architecture in another dtype; `sync()` copies θ (one flat buffer) and the batch-norm running
statistics into it, θ32 = float32(θ64), so it computes the same function up to rounding.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np  # builds the raw grid on the host, like engine.data builds datasets

from engine.backend import DTYPES, get_backend, to_numpy


def check_dtype(dtype: Optional[str]) -> None:
    if dtype is not None and dtype not in DTYPES:
        raise ValueError(f"dtype = {dtype!r}: allowed None (the config's dtype) or one of {list(DTYPES)}")


class DomainGrid:
    """(res, dtype) -> (xs, ys, G) with G = prepared.transform(grid points) as a backend array of
    that dtype (default: the backend's), cached for the `keep` latest keys."""

    def __init__(self, prepared, backend, keep: int = 4):
        self.prepared, self.backend, self.keep = prepared, backend, keep
        self._cache: dict[tuple, tuple] = {}
        self._joined: dict[tuple, object] = {}

    def points(self, resolution: int, dtype: Optional[str] = None):
        if self.prepared.domain is None:
            raise ValueError("no plotting grid: the raw inputs are not 2-D (prepared.domain is None)")
        if not 2 <= resolution <= 1000:
            raise ValueError(f"resolution = {resolution}: must be in [2, 1000]")
        check_dtype(dtype)
        key = (resolution, dtype or str(self.backend.dtype))
        if key not in self._cache:
            if len(self._cache) >= self.keep:  # drop the oldest key
                self._cache.pop(next(iter(self._cache)))
            xmin, xmax, ymin, ymax = self.prepared.domain
            xs, ys = np.linspace(xmin, xmax, resolution), np.linspace(ymin, ymax, resolution)
            raw = np.stack([np.tile(xs, resolution), np.repeat(ys, resolution)])  # (2, res²), row-major
            # transformed in float64 (features, normalization), then stored in the requested dtype
            G = self.backend.xp.asarray(self.prepared.transform(raw), dtype=key[1])
            self._cache[key] = (xs, ys, G)
        return self._cache[key]

    def joined(self, resolution: int, other: int, dtype: Optional[str] = None):
        """[G_resolution | G_other]: both grids' transformed points side by side (cached), for one
        forward pass that draws the boundary and the neuron thumbnails."""
        check_dtype(dtype)
        key = ("joined", resolution, other, dtype or str(self.backend.dtype))
        if key not in self._joined:
            G, T = self.points(resolution, dtype)[2], self.points(other, dtype)[2]
            self._joined = {key: self.backend.xp.concatenate([G, T], axis=1)}  # the latest pair only
        return self._joined[key]


class NetworkCopy:
    """A Network in another dtype, refreshed from the trained one on every `sync()`.

    make(backend) builds a Network of the trained one's architecture on `backend`; it is called
    once, on the first sync.
    """

    def __init__(self, source, backend, make: Callable):
        self.source, self.backend, self._make = source, backend, make
        self.network = None

    def sync(self):
        """The copy with θ' = θ and running' = running cast to the copy's dtype, or None when a
        value does not fit that dtype (|θ| beyond float32's 3.4e38): then use the source itself."""
        if self.network is None:
            self.network = self._make(self.backend)
        net, xp = self.network, self.backend.xp
        with np.errstate(over="ignore"):  # out-of-range values become inf, detected below
            net.theta[...] = self.source.theta
            finite = bool(xp.isfinite(net.theta).all())
            for key, value in self.source.running.items():
                net.running[key][...] = value
                finite = finite and bool(xp.isfinite(net.running[key]).all())
        return net if finite else None


class GridPainter:
    """The trained network's outputs over the domain grid (see Trainer.grid for the layout).

    dtype None evaluates the trained network itself; another dtype an up-to-date NetworkCopy (or
    the trained network when a parameter does not fit that dtype).
    """

    def __init__(self, network, prepared, backend, output: str, make: Callable):
        self.network, self.prepared, self.backend, self.output = network, prepared, backend, output
        self.points = DomainGrid(prepared, backend)
        self._make = make
        self._own = str(backend.dtype)  # the trained network's dtype name
        self._copies: dict[str, NetworkCopy] = {}  # dtype -> copy of the network

    def evaluator(self, dtype: Optional[str]):
        """(network, its dtype name) that evaluates grids in `dtype`."""
        own = self._own
        if dtype is None or dtype == own:
            return self.network, own
        check_dtype(dtype)
        if dtype not in self._copies:
            self._copies[dtype] = NetworkCopy(self.network, get_backend(self.backend.name, dtype), self._make)
        copy = self._copies[dtype].sync()
        return (copy, dtype) if copy is not None else (self.network, own)

    def grid(self, resolution: int, dtype: Optional[str] = None):
        net, name = self.evaluator(dtype)
        xs, ys, G = self.points.points(resolution, name)
        return xs, ys, self.boundary(net.predict_proba(G), resolution)

    def neuron_grids(self, resolution: int, dtype: Optional[str] = None) -> list:
        net, name = self.evaluator(dtype)
        hidden = net.hidden_outputs(self.points.points(resolution, name)[2])[:-1]
        return [to_numpy(A).reshape(A.shape[0], resolution, resolution) for A in hidden]

    def grids(self, resolution: int, neuron_resolution: int, dtype: Optional[str] = None):
        """Both in one forward pass over [G_res | G_t] (test mode treats columns independently)."""
        net, name = self.evaluator(dtype)
        *hidden, AL = net.hidden_outputs(self.points.joined(resolution, neuron_resolution, name))
        k, t = resolution * resolution, neuron_resolution
        neurons = [to_numpy(A[:, k:]).reshape(A.shape[0], t, t) for A in hidden]
        return self.boundary(AL[:, :k], resolution), neurons

    def boundary(self, AL, resolution: int):
        """What the boundary shows of A[L]: P(y=1), the argmax class, or ŷ, as a (res, res) array."""
        if self.output == "softmax":
            values = AL[1] if self.prepared.kind == "binary" else AL.argmax(axis=0)
        else:
            values = AL[0]
        return to_numpy(values).reshape(resolution, resolution)
