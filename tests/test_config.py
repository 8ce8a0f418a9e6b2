"""`gkeras.config` and its `gkeras.backend` aliases: floatx, epsilon, image data format."""

import numpy as np
import pytest

import gkeras
from gkeras import backend, config, ops


def test_defaults_match_keras():
    assert config.floatx() == "float32"
    assert config.epsilon() == 1e-7
    assert config.image_data_format() == "channels_last"
    assert backend.floatx is config.floatx and backend.epsilon is config.epsilon
    assert backend.image_data_format is config.image_data_format


@pytest.mark.parametrize("value", ["float16", "float64", np.float64, np.dtype("float16")])
def test_set_floatx(value):
    config.set_floatx(value)
    assert config.floatx() == np.dtype(value).name
    # new tensors from Python floats and new variables follow it
    assert ops.convert_to_tensor([1.0, 2.0]).dtype == np.dtype(value)
    assert gkeras.Variable([0.5]).dtype == np.dtype(value)


def test_set_floatx_through_backend_and_errors():
    backend.set_floatx("float64")
    assert config.floatx() == "float64"
    for bad in ("int32", "bfloat16", "float"):
        with pytest.raises(ValueError, match=r"Unknown floatx type.*'float16', 'float32'"):
            config.set_floatx(bad)
    assert config.floatx() == "float64"  # a rejected value changes nothing


def test_epsilon_round_trip_and_errors():
    previous = config.epsilon()
    try:
        backend.set_epsilon(1e-5)
        assert config.epsilon() == backend.epsilon() == 1e-5
        config.set_epsilon("0.001")
        assert config.epsilon() == 1e-3
        with pytest.raises(ValueError, match="non-negative"):
            config.set_epsilon(-1.0)
        with pytest.raises(TypeError, match="epsilon must be a float"):
            config.set_epsilon(None)
        assert config.epsilon() == 1e-3
    finally:
        config.set_epsilon(previous)


def test_image_data_format():
    config.set_image_data_format("channels_last")
    backend.set_image_data_format("CHANNELS_LAST")
    assert config.image_data_format() == "channels_last"
    with pytest.raises(ValueError, match="'channels_first'.*'channels_last' only"):
        config.set_image_data_format("channels_first")
    assert config.image_data_format() == "channels_last"


def test_requested_backend(monkeypatch):
    monkeypatch.delenv("GKERAS_BACKEND", raising=False)
    assert config.requested_backend() == "auto"
    for raw, name in (("numpy", "numpy"), (" CuPy ", "cupy"), ("", "auto"), ("AUTO", "auto")):
        monkeypatch.setenv("GKERAS_BACKEND", raw)
        assert config.requested_backend() == name
    monkeypatch.setenv("GKERAS_BACKEND", "torch")
    with pytest.raises(ValueError, match=r"GKERAS_BACKEND='torch'.*'numpy', 'cupy', 'auto'"):
        config.requested_backend()
