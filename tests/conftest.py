"""Shared fixtures: the `bk` backend fixture (NumPy always, CuPy marked `gpu`)."""

import os

import numpy as np
import pytest

import gkeras
from gkeras import backend as backend_module

_SHARED_DATASETS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "shared",
                                                "datasets"))
if "GKERAS_DATASETS" not in os.environ and os.path.isdir(_SHARED_DATASETS):
    os.environ["GKERAS_DATASETS"] = _SHARED_DATASETS


def _cupy_usable():
    usable, _ = backend_module.cupy_status()
    return usable


_GPU = _cupy_usable()


def pytest_collection_modifyitems(config, items):
    if _GPU:
        return
    skip = pytest.mark.skip(reason="no usable CUDA GPU / CuPy here")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=["numpy", pytest.param("cupy", marks=pytest.mark.gpu)])
def bk(request):
    """The backend object under test; new arrays are placed on it for the test's duration."""
    previous = backend_module.get_backend().name
    backend = backend_module.set_backend(request.param)
    yield backend
    backend_module.set_backend(previous)


@pytest.fixture(autouse=True)
def _restore_global_state():
    """Each test starts with float32 and leaves the global settings as it found them."""
    floatx = gkeras.config.floatx()
    yield
    gkeras.config.set_floatx(floatx)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
