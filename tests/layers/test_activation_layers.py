"""ReLU, LeakyReLU, ELU, Softmax layers: harness runs, NumPy references, bad arguments."""

import numpy as np
import pytest

import gkeras
from gkeras import layers

from .harness import run_layer_test


def relu_reference(x, max_value=None, negative_slope=0.0, threshold=0.0):
    y = np.where(x > threshold, x, negative_slope * (x - threshold))
    return y if max_value is None else np.minimum(y, max_value)


RELU_CASES = [
    {},
    {"max_value": 6.0},
    {"negative_slope": 0.1},
    {"threshold": 0.5},
    {"max_value": 1.0, "negative_slope": 0.2, "threshold": 0.3},
    {"max_value": 0.0},
]


@pytest.mark.parametrize("kwargs", RELU_CASES)
def test_relu_harness(bk, kwargs):
    run_layer_test(layers.ReLU, kwargs, input_shape=(4, 5), expected_output_shape=(4, 5))


@pytest.mark.parametrize("kwargs", RELU_CASES)
def test_relu_matches_numpy(bk, rng, kwargs):
    x = (rng.standard_normal((6, 7)) * 3).astype("float32")
    y = layers.ReLU(**kwargs)(x).numpy()
    np.testing.assert_allclose(y, relu_reference(x.astype(np.float64), **kwargs), rtol=1e-6,
                               atol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({"max_value": -1.0}, "max_value"),
    ({"negative_slope": -0.1}, "negative_slope"),
    ({"negative_slope": None}, "negative_slope"),
    ({"threshold": -2.0}, "threshold"),
    ({"threshold": "0"}, "threshold"),
])
def test_relu_rejects_negative_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.ReLU(**kwargs)


@pytest.mark.parametrize("kwargs", [{}, {"negative_slope": 0.05}])
def test_leaky_relu_harness(bk, kwargs):
    run_layer_test(layers.LeakyReLU, kwargs, input_shape=(3, 4, 2),
                   expected_output_shape=(3, 4, 2))


def test_leaky_relu_defaults_and_reference(bk, rng):
    layer = layers.LeakyReLU()
    assert layer.negative_slope == 0.3  # the layer's Keras default (the function's is 0.2)
    x = rng.standard_normal((5, 6)).astype("float32")
    np.testing.assert_allclose(layer(x).numpy(), np.where(x > 0, x, 0.3 * x), rtol=1e-6)
    assert layers.LeakyReLU(alpha=0.1).negative_slope == 0.1  # Keras 2 spelling
    with pytest.raises(ValueError, match="negative_slope"):
        layers.LeakyReLU(negative_slope=-0.5)


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_elu_harness_and_reference(bk, rng, alpha):
    run_layer_test(layers.ELU, {"alpha": alpha}, input_shape=(4, 3), expected_output_shape=(4, 3))
    x = rng.standard_normal((5, 6)).astype("float32")
    expected = np.where(x > 0, x, alpha * np.expm1(x.astype(np.float64)))
    np.testing.assert_allclose(layers.ELU(alpha)(x).numpy(), expected, rtol=1e-6, atol=1e-7)


def test_elu_rejects_non_numbers():
    with pytest.raises(ValueError, match="alpha"):
        layers.ELU(alpha="big")


@pytest.mark.parametrize("axis, in_shape", [(-1, (3, 5)), (1, (2, 4, 3)), ([1, 2], (2, 3, 4))])
def test_softmax_harness(bk, axis, in_shape):
    run_layer_test(layers.Softmax, {"axis": axis}, input_shape=in_shape,
                   expected_output_shape=in_shape)


@pytest.mark.parametrize("axis", [-1, 1, (1, 2)])
def test_softmax_matches_numpy(bk, rng, axis):
    x = rng.standard_normal((2, 3, 4)).astype("float32") * 3
    e = np.exp(x.astype(np.float64) - x.max())
    expected = e / e.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(layers.Softmax(axis=axis)(x).numpy(), expected, rtol=1e-5,
                               atol=1e-7)


def test_softmax_mask_zeroes_masked_entries(bk, rng):
    x = rng.standard_normal((2, 5)).astype("float32")
    mask = np.array([[True, True, False, True, False], [False, True, True, True, True]])
    y = layers.Softmax()(x, mask=mask).numpy()
    e = np.where(mask, np.exp(x.astype(np.float64)), 0)
    np.testing.assert_allclose(y, e / e.sum(-1, keepdims=True), rtol=1e-5, atol=1e-7)


def test_softmax_rejects_bad_axis():
    with pytest.raises(ValueError, match="axis"):
        layers.Softmax(axis="last")


def test_activation_layers_symbolic():
    x = gkeras.Input((4, 3))
    for layer in (layers.ReLU(6.0), layers.LeakyReLU(), layers.ELU(), layers.Softmax()):
        assert layer(x).shape == (None, 4, 3)


def test_softmax_with_a_fully_masked_row_gives_zeros():
    # Keras 3 zeroes masked entries after the softmax, so a row with nothing valid is all zero
    logits = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]], "float32")
    mask = np.array([[True, False, True], [False, False, False]])
    out = layers.Softmax()(logits, mask=mask).numpy()
    kept = np.exp(logits[0, [0, 2]]) / np.exp(logits[0, [0, 2]]).sum()
    np.testing.assert_allclose(out[0], [kept[0], 0.0, kept[1]], rtol=1e-6)
    np.testing.assert_array_equal(out[1], np.zeros(3))
