"""Dense, Activation, InputLayer / Input: harness runs, NumPy references, bad input."""

import numpy as np
import pytest

import gkeras
from gkeras import layers
from gkeras.layers.node import KerasTensor

from .harness import run_layer_test


# ------------------------------------------------------------------------------ Dense
@pytest.mark.parametrize(
    "kwargs, n_losses",
    [
        ({"units": 3}, 0),
        ({"units": 4, "activation": "relu", "use_bias": False}, 0),
        ({"units": 2, "activation": "gelu", "kernel_regularizer": "l2",
          "bias_regularizer": "l1", "activity_regularizer": "l2"}, 3),
        ({"units": 3, "activation": "softmax", "kernel_constraint": "max_norm",
          "bias_constraint": "non_neg", "bias_initializer": "ones"}, 0),
        ({"units": 5, "activation": "tanh", "kernel_initializer": "orthogonal"}, 0),
    ],
)
def test_dense_harness(bk, kwargs, n_losses):
    n_weights = 1 if kwargs.get("use_bias") is False else 2
    run_layer_test(layers.Dense, kwargs, input_shape=(4, 6),
                   expected_output_shape=(4, kwargs["units"]),
                   expected_num_trainable_weights=n_weights, expected_num_losses=n_losses)


def test_dense_harness_rank3(bk):
    run_layer_test(layers.Dense, {"units": 2, "activation": "sigmoid"}, input_shape=(3, 5, 4),
                   expected_output_shape=(3, 5, 2), expected_num_trainable_weights=2)


@pytest.mark.parametrize("activation", ["linear", "relu", "sigmoid", "tanh", "elu", "selu",
                                        "leaky_relu", "gelu", "swish", "silu", "softplus",
                                        "softmax"])
def test_dense_matches_numpy(bk, rng, activation):
    x = rng.standard_normal((5, 4)).astype("float32")
    layer = layers.Dense(3, activation=activation)
    layer.build((5, 4))
    kernel, bias = rng.standard_normal((4, 3)), rng.standard_normal(3)
    layer.set_weights([kernel, bias])
    y = layer(x).numpy()
    z = x.astype(np.float64) @ kernel + bias
    np.testing.assert_allclose(y, _np_activation(activation, z), rtol=1e-5, atol=1e-6)


def _np_activation(name, z):
    from scipy.special import erf

    sig = 1 / (1 + np.exp(-z))
    return {
        "linear": z, "relu": np.maximum(z, 0), "sigmoid": sig, "tanh": np.tanh(z),
        "elu": np.where(z > 0, z, np.expm1(z)),
        "selu": 1.0507009873554805 * np.where(z > 0, z, 1.6732632423543772 * np.expm1(z)),
        "leaky_relu": np.where(z > 0, z, 0.2 * z),
        "gelu": 0.5 * z * (1 + erf(z / np.sqrt(2))),
        "swish": z * sig, "silu": z * sig, "softplus": np.log1p(np.exp(z)),
        "softmax": np.exp(z) / np.exp(z).sum(-1, keepdims=True),
    }[name]


def test_dense_weight_names_and_shapes(bk):
    layer = layers.Dense(7, name="probe")
    layer(np.zeros((2, 3), "float32"))
    assert [w.name for w in layer.weights] == ["kernel", "bias"]
    assert [w.path for w in layer.weights] == ["probe/kernel", "probe/bias"]
    assert layer.kernel.shape == (3, 7) and layer.bias.shape == (7,)
    np.testing.assert_array_equal(layer.bias.numpy(), np.zeros(7))


@pytest.mark.parametrize("units", [0, -3, 2.5, "4", True, None])
def test_dense_rejects_bad_units(units):
    with pytest.raises(ValueError, match="units"):
        layers.Dense(units)


def test_dense_wrong_last_dimension_names_layer_and_shapes(bk):
    layer = layers.Dense(3, name="head")
    layer(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match=r"head.*axis -1.*4.*\(2, 5\)"):
        layer(np.zeros((2, 5), "float32"))


def test_dense_rank1_input_rejected(bk):
    with pytest.raises(ValueError, match=r"dense_rank.*min_ndim=2.*ndim=1"):
        layers.Dense(3, name="dense_rank")(np.zeros((4,), "float32"))


def test_dense_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError, match=r"Unknown activation: 'relux'.*relu.*sigmoid"):
        layers.Dense(3, activation="relux")


def test_dense_unknown_initializer_lists_valid_names():
    with pytest.raises(ValueError, match=r"Unknown initializer.*glorot_uniform"):
        layers.Dense(3, kernel_initializer="glorot")


def test_dense_unknown_regularizer_lists_valid_names():
    with pytest.raises(ValueError, match=r"Unknown regularizer.*l1.*l2"):
        layers.Dense(3, kernel_regularizer="l3")


def test_dense_symbolic_shapes():
    x = gkeras.Input((10,))
    y = layers.Dense(4)(x)
    z = layers.Dense(2)(layers.Dense(5)(gkeras.Input((3, 7))))
    assert isinstance(y, KerasTensor) and y.shape == (None, 4)
    assert z.shape == (None, 3, 2)


# ------------------------------------------------------------------------- Activation
@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softmax", "elu", "selu",
                                  "leaky_relu", "gelu", "swish", "silu", "softplus", "linear"])
def test_activation_harness(bk, name):
    run_layer_test(layers.Activation, {"activation": name}, input_shape=(3, 4),
                   expected_output_shape=(3, 4))


@pytest.mark.parametrize("name", ["relu", "tanh", "softplus", "leaky_relu", "gelu"])
def test_activation_matches_numpy(bk, rng, name):
    x = rng.standard_normal((4, 6)).astype("float32")
    y = layers.Activation(name)(x).numpy()
    np.testing.assert_allclose(y, _np_activation(name, x.astype(np.float64)), rtol=1e-5,
                               atol=1e-6)


def test_activation_accepts_callable(bk):
    layer = layers.Activation(lambda t: gkeras.ops.multiply(t, 3.0))
    np.testing.assert_allclose(layer(np.ones((2, 2), "float32")).numpy(), 3.0)


def test_activation_unknown_name():
    with pytest.raises(ValueError, match=r"Unknown activation: 'nope'.*Valid names"):
        layers.Activation("nope")


# ------------------------------------------------------------------------- InputLayer
def test_input_layer_harness(bk):
    run_layer_test(layers.InputLayer, {"shape": (4,)}, input_shape=(3, 4),
                   expected_output_shape=(3, 4), run_symbolic_check=False)


def test_input_gives_keras_tensor():
    x = gkeras.Input(shape=(8, 3), batch_size=5, name="pixels", dtype="float64")
    assert isinstance(x, KerasTensor)
    assert x.shape == (5, 8, 3) and x.dtype == "float64"
    layer = x._keras_history[0]
    assert isinstance(layer, layers.InputLayer) and layer.name == "pixels"
    assert layer.get_config()["batch_shape"] == (5, 8, 3)


def test_input_layer_requires_a_shape():
    with pytest.raises(ValueError, match="shape"):
        layers.InputLayer()
