"""The plotting grid over the data's domain, for the decision boundary and neuron thumbnails.

Point (i, j) of a res×res grid is x1 = xs[j], x2 = ys[i] (row = x2 from ymin up, column = x1),
xs = linspace(xmin, xmax, res), ys = linspace(ymin, ymax, res) over prepared.domain, in RAW input
space. The network sees prepared.transform(points) (feature map + train-set normalization); that
transformed (n_x, res²) array is computed once per resolution and cached, so a frame costs one
forward pass over the grid.
"""
from __future__ import annotations

import numpy as np  # builds the raw grid on the host, like engine.data builds datasets


class DomainGrid:
    """res -> (xs, ys, G) with G = prepared.transform(grid points) as a backend array (cached)."""

    def __init__(self, prepared, backend, keep: int = 4):
        self.prepared, self.backend, self.keep = prepared, backend, keep
        self._cache: dict[int, tuple] = {}

    def points(self, resolution: int):
        if self.prepared.domain is None:
            raise ValueError("no plotting grid: the raw inputs are not 2-D (prepared.domain is None)")
        if not 2 <= resolution <= 1000:
            raise ValueError(f"resolution = {resolution}: must be in [2, 1000]")
        if resolution not in self._cache:
            if len(self._cache) >= self.keep:  # drop the oldest resolution
                self._cache.pop(next(iter(self._cache)))
            xmin, xmax, ymin, ymax = self.prepared.domain
            xs, ys = np.linspace(xmin, xmax, resolution), np.linspace(ymin, ymax, resolution)
            raw = np.stack([np.tile(xs, resolution), np.repeat(ys, resolution)])  # (2, res²), row-major
            G = self.backend.xp.asarray(self.prepared.transform(raw), dtype=self.backend.dtype)
            self._cache[resolution] = (xs, ys, G)
        return self._cache[resolution]
