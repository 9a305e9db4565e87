"""engine.backend: xp/dtype selection, clear errors, host conversion."""
import importlib.util

import numpy as np
import pytest

from engine.backend import Backend, BackendError, get_backend, host_rng, to_numpy

HAS_CUPY = importlib.util.find_spec("cupy") is not None


def test_default_is_numpy_float64():
    be = get_backend()
    assert isinstance(be, Backend)
    assert be.xp is np and be.name == "numpy" and be.dtype == np.float64


def test_float32_arrays_have_that_dtype():
    be = get_backend("numpy", "float32")
    assert be.asarray([1, 2]).dtype == np.float32
    assert be.zeros((2, 3)).dtype == np.float32 and be.zeros((2, 3)).shape == (2, 3)


def test_asarray_does_not_copy_matching_arrays():
    be = get_backend()
    a = np.ones((2, 2))
    assert be.asarray(a) is a


@pytest.mark.parametrize("name, dtype, words", [("torch", "float64", "torch"), ("numpy", "int8", "int8")])
def test_unknown_backend_or_dtype_is_a_clear_error(name, dtype, words):
    with pytest.raises(ValueError, match=words):
        get_backend(name, dtype)


@pytest.mark.skipif(HAS_CUPY, reason="CuPy is installed")
def test_cupy_request_without_cupy_names_the_problem():
    with pytest.raises(BackendError, match="CuPy is not installed.*numpy"):
        get_backend("cupy")


@pytest.mark.skipif(not HAS_CUPY, reason="CuPy is not installed")
def test_cupy_arrays_come_back_as_numpy():  # pragma: no cover - needs a GPU
    try:
        be = get_backend("cupy")
    except BackendError as exc:
        pytest.skip(str(exc))
    a = be.asarray([[1.0, 2.0]])
    host = to_numpy(a)
    assert isinstance(host, np.ndarray) and host.tolist() == [[1.0, 2.0]]


def test_to_numpy_of_numpy_is_the_same_data():
    a = np.arange(3.0)
    assert to_numpy(a) is a
    assert to_numpy([1, 2]).tolist() == [1, 2]


def test_rngs_are_seeded():
    assert host_rng(3).random() == host_rng(3).random() != host_rng(4).random()
    be = get_backend()
    assert be.rng(5).random() == be.rng(5).random()
