"""The array backend: `xp` is NumPy (default) or CuPy, plus the float dtype every array uses.

This is the only engine module (with data.py) that imports an array library for math; everything
else calls `be.xp.<function>` so the same code runs on the CPU or, with CuPy, on a GPU.

    be = get_backend("numpy", "float64")
    W = be.xp.zeros((n1, n0), dtype=be.dtype)
    to_numpy(W)            # host copy for plotting / JSON (identity for NumPy)
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy

BACKENDS = ("numpy", "cupy")
DTYPES = ("float64", "float32")


class BackendError(ValueError):
    """A backend or dtype was requested that this machine cannot provide."""


@dataclass(frozen=True)
class Backend:
    """xp: the array module (numpy or cupy); dtype: the float dtype of every parameter/array."""

    xp: Any
    dtype: Any
    name: str

    def asarray(self, a) -> Any:
        """`a` as an xp array of the backend's dtype (no copy when it already is one)."""
        return self.xp.asarray(a, dtype=self.dtype)

    def zeros(self, shape) -> Any:
        return self.xp.zeros(shape, dtype=self.dtype)

    def rng(self, seed: int) -> Any:
        """A seeded generator producing arrays on this backend's device (used for dropout masks)."""
        return self.xp.random.default_rng(seed)


def host_rng(seed: int) -> numpy.random.Generator:
    """A seeded NumPy Generator for host-side generation (initial weights are drawn on the host
    so that a seed gives the same network on every backend)."""
    return numpy.random.default_rng(seed)


@lru_cache(maxsize=None)
def get_backend(name: str = "numpy", dtype: str = "float64") -> Backend:
    """Backend(xp, dtype, name) for name in {"numpy", "cupy"} and dtype in {"float64", "float32"}.

    Raises BackendError (a ValueError) naming the problem when CuPy is requested but not
    installed or without a usable CUDA device, or when the name/dtype is unknown.
    """
    if dtype not in DTYPES:
        raise BackendError(f"dtype {dtype!r} is not supported: allowed {list(DTYPES)}")
    if name == "numpy":
        return Backend(numpy, numpy.dtype(dtype), "numpy")
    if name == "cupy":
        try:
            import cupy  # noqa: PLC0415 - optional dependency, imported only on request
        except ImportError as exc:
            raise BackendError(
                "backend 'cupy' was requested but CuPy is not installed "
                "(pip install cupy-cuda12x, or nn-playground[gpu]); use backend 'numpy'"
            ) from exc
        try:
            devices = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDA driver/runtime problems surface as various errors
            raise BackendError(f"backend 'cupy': CuPy is installed but CUDA is not usable ({exc})") from exc
        if devices < 1:
            raise BackendError("backend 'cupy': CuPy is installed but no CUDA device was found")
        return Backend(cupy, numpy.dtype(dtype), "cupy")
    raise BackendError(f"backend {name!r} is not supported: allowed {list(BACKENDS)}")


def to_numpy(a) -> numpy.ndarray:
    """A NumPy array of `a`: cupy.asnumpy for CuPy arrays, otherwise numpy.asarray (no copy)."""
    if type(a).__module__.startswith("cupy"):
        return a.get()
    return numpy.asarray(a)
