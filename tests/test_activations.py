"""`gkeras.activations`: string lookup, values against NumPy, gradients, serialisation."""

import math

import numpy as np
import pytest
from helpers import check_gradients
from scipy.special import erf

from gkeras import activations, ops

SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


REFERENCES = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "softmax": lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True),
    "log_softmax": lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True)),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "gelu": lambda x: 0.5 * x * (1 + erf(x / math.sqrt(2))),
    "swish": lambda x: x * _sigmoid(x),
    "silu": lambda x: x * _sigmoid(x),
    "softplus": lambda x: np.log1p(np.exp(x)),
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_named_activation_matches_numpy(bk, rng, name):
    x = rng.standard_normal((4, 6)) * 2
    fn = activations.get(name)
    y = fn(ops.convert_to_tensor(x))
    assert y.dtype == np.float64 and y.shape == x.shape
    np.testing.assert_allclose(y.numpy(), REFERENCES[name](x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_named_activation_gradients(bk, rng, name):
    # stay clear of the kinks at 0 so central differences are valid
    x = rng.uniform(0.1, 2.0, (3, 4)) * rng.choice([-1, 1], (3, 4))
    check_gradients(activations.get(name), x, bk=bk)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "gelu", "softmax"])
def test_float32_stays_float32(bk, rng, name):
    x = rng.standard_normal((2, 3)).astype("float32")
    assert activations.get(name)(ops.convert_to_tensor(x)).dtype == np.float32


def test_keras_parameter_defaults(bk, rng):
    x = rng.standard_normal((3, 5))
    t = ops.convert_to_tensor(x)
    np.testing.assert_allclose(activations.leaky_relu(t, negative_slope=0.1).numpy(),
                               np.where(x > 0, x, 0.1 * x))
    np.testing.assert_allclose(activations.elu(t, alpha=0.5).numpy(),
                               np.where(x > 0, x, 0.5 * np.expm1(x)), rtol=1e-12)
    tanh_form = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(activations.gelu(t, approximate=True).numpy(), tanh_form,
                               rtol=1e-12)
    e = np.exp(x - x.max(axis=0))
    np.testing.assert_allclose(activations.softmax(t, axis=0).numpy(), e / e.sum(axis=0),
                               rtol=1e-12)


def test_softmax_is_stable_for_large_logits(bk):
    x = ops.convert_to_tensor(np.array([[1000.0, 1001.0, -1000.0]]))
    y = activations.softmax(x).numpy()
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y.sum(), 1.0)


def test_get_none_and_callables():
    assert activations.get(None) is activations.linear

    def double(x):
        return ops.multiply(x, 2.0)

    assert activations.get(double) is double
    assert activations.get("swish") is activations.get("silu")
    assert activations.deserialize("tanh") is activations.tanh


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as info:
        activations.get("rectifier")
    message = str(info.value)
    assert "Unknown activation: 'rectifier'" in message
    for name in ("relu", "sigmoid", "tanh", "softmax", "elu", "selu", "leaky_relu", "gelu",
                 "swish", "silu", "softplus", "linear"):
        assert f"'{name}'" in message
    with pytest.raises(ValueError, match="Unknown activation"):
        activations.get(42)


@pytest.mark.parametrize("name", sorted(set(REFERENCES) - {"swish"}))
def test_serialize_round_trip(name):
    fn = activations.get(name)
    assert activations.serialize(fn) == name
    assert activations.get(activations.serialize(fn)) is fn
    assert activations.serialize(activations.swish) == "silu"


def test_fused_forms_match_the_dense_epilogue():
    assert activations.fused_form(activations.relu) == ("relu", 0.0)
    assert activations.fused_form(activations.leaky_relu) == ("leaky_relu", 0.2)
    assert activations.fused_form(activations.elu) == ("elu", 1.0)
    assert activations.fused_form(activations.softmax) is None
    assert activations.fused_form(lambda x: x) is None
