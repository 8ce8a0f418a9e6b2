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
    "relu6": lambda x: np.clip(x, 0, 6),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "exponential": np.exp,
    "hard_sigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1),
    "hard_silu": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "hard_swish": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "mish": lambda x: x * np.tanh(np.log1p(np.exp(x))),
    "log_sigmoid": lambda x: -np.log1p(np.exp(-x)),
    "celu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "hard_tanh": lambda x: np.clip(x, -1, 1),
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


@pytest.mark.parametrize("name", sorted(set(REFERENCES) - {"swish", "hard_swish"}))
def test_serialize_round_trip(name):
    fn = activations.get(name)
    assert activations.serialize(fn) == name
    assert activations.get(activations.serialize(fn)) is fn
    assert activations.serialize(activations.swish) == "silu"
    assert activations.serialize(activations.hard_swish) == "hard_silu"


def ref_keras_relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    # Keras 3's definition, entry by entry
    def one(v):
        out = v if v > threshold else 0.0
        if max_value is not None:
            out = min(max(out, 0.0), max_value)
        if v < threshold:
            out += negative_slope * (v - threshold)
        return out

    return np.vectorize(one)(x)


RELU_ARGS = [
    {"negative_slope": 0.1},
    {"max_value": 2.0},
    {"threshold": 0.5},
    {"threshold": -1.0},
    {"negative_slope": 0.3, "max_value": 1.5, "threshold": 0.5},
    {"negative_slope": 0.2, "threshold": -0.5, "max_value": 6.0},
]


@pytest.mark.parametrize("kwargs", RELU_ARGS, ids=str)
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 4)], ids=str)
def test_relu_keras3_arguments(bk, rng, kwargs, shape):
    x = rng.uniform(-3, 3, shape)
    kinks = [0.0, kwargs.get("threshold", 0.0), kwargs.get("max_value") or 0.0]
    for k in kinks:  # central differences need the points off the kinks
        x = np.where(np.abs(x - k) < 0.05, k + 0.3, x)
    y = activations.relu(ops.convert_to_tensor(x), **kwargs)
    np.testing.assert_allclose(y.numpy(), ref_keras_relu(x, **kwargs), rtol=1e-12, atol=1e-14)
    assert activations.relu(ops.convert_to_tensor(x.astype("float32")), **kwargs).dtype == "float32"
    check_gradients(lambda t: activations.relu(t, **kwargs), x, bk=bk)


def test_plain_relu_stays_fusable_and_by_name():
    assert activations.fused_form(activations.get("relu")) == ("relu", 0.0)
    assert activations.fused_form(activations.get("relu6")) is None
    for name in ("relu6", "softsign", "exponential", "hard_sigmoid", "hard_silu", "hard_swish",
                 "mish", "log_sigmoid", "celu", "hard_tanh", "log_softmax"):
        assert callable(activations.get(name))


def test_dense_accepts_new_activation_names(bk, rng):
    from gkeras import config, layers

    config.set_floatx("float64")  # the conftest fixture restores it
    x = rng.standard_normal((4, 3))
    for name in ("relu6", "hard_silu", "mish"):
        layer = layers.Dense(2, activation=name)
        y = layer(ops.convert_to_tensor(x))
        z = x @ layer.kernel.numpy() + layer.bias.numpy()
        np.testing.assert_allclose(y.numpy(), REFERENCES[name](z), rtol=1e-10, atol=1e-12)
        assert layer.get_config()["activation"] == name


def test_fused_forms_match_the_dense_epilogue():
    assert activations.fused_form(activations.relu) == ("relu", 0.0)
    assert activations.fused_form(activations.leaky_relu) == ("leaky_relu", 0.2)
    assert activations.fused_form(activations.elu) == ("elu", 1.0)
    assert activations.fused_form(activations.softmax) is None
    assert activations.fused_form(lambda x: x) is None
