"""A training session's whole state as bytes and back (a room's `fork`): config, data, weights,
optimizer state, iteration, random generators, history — everything, so the copy's next frames
are the ones the original would have computed.

cloudpickle, because the engine's layers hold closures (plain pickle refuses them), with one
addition: a NumPy view is written as (its base, offset, shape, strides), so views still share
their base after loading (the network's W, b are views of one parameter vector that the optimizer
updates in place; as separate copies they would silently stop training). Only bytes made by
`dumps` in one of our own workers are ever loaded: never data from a client.
"""
from __future__ import annotations

import io
import pickle

import cloudpickle
import numpy as np


def _view(base: np.ndarray, offset: int, shape: tuple, strides: tuple, dtype: np.dtype) -> np.ndarray:
    return np.ndarray(shape, dtype, buffer=base, offset=offset, strides=strides)


class _Pickler(cloudpickle.CloudPickler):
    def reducer_override(self, obj):
        if type(obj) is np.ndarray:
            base = obj.base
            if type(base) is np.ndarray and base.base is None and base.flags.c_contiguous:
                offset = obj.__array_interface__["data"][0] - base.__array_interface__["data"][0]
                return _view, (base, offset, obj.shape, obj.strides, obj.dtype)
        return super().reducer_override(obj)


def dumps(session) -> bytes:
    out = io.BytesIO()
    _Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(session)
    return out.getvalue()


def loads(blob: bytes):
    return pickle.loads(blob)
