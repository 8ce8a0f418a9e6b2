"""Dropout: harness run, training flag, mask statistics, noise_shape, seeds, bad input."""

import numpy as np
import pytest
from helpers import to_host

import gkeras
from gkeras import layers, ops
from gkeras.autodiff import Variable

from .harness import run_layer_test


@pytest.mark.parametrize("kwargs", [{"rate": 0.5}, {"rate": 0.2, "noise_shape": (None, 1, 4),
                                                    "seed": 3}, {"rate": 0.0}])
def test_dropout_harness(bk, kwargs):
    run_layer_test(layers.Dropout, kwargs, input_shape=(3, 2, 4), expected_output_shape=(3, 2, 4),
                   deterministic_training=False)


def test_dropout_is_identity_in_inference(bk, rng):
    x = rng.standard_normal((4, 5)).astype("float32")
    layer = layers.Dropout(0.7)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_training_statistics(bk, rate):
    x = np.ones((400, 250), "float32")
    y = layers.Dropout(rate)(x, training=True).numpy()
    dropped = np.mean(y == 0)
    # 100000 Bernoulli draws: the standard error is below 0.0016, so 0.01 is > 6 sigma
    assert abs(dropped - rate) < 0.01
    np.testing.assert_allclose(y[y != 0], 1 / (1 - rate), rtol=1e-6)


def test_dropout_rate_one_and_zero(bk, rng):
    x = rng.standard_normal((3, 4)).astype("float32")
    np.testing.assert_array_equal(layers.Dropout(1.0)(x, training=True).numpy(), 0)
    np.testing.assert_array_equal(layers.Dropout(0.0)(x, training=True).numpy(), x)


def test_dropout_gradient_is_the_mask(bk, rng):
    x = Variable(rng.standard_normal((6, 7)).astype("float32") + 5.0)  # no zeros in x
    v = rng.standard_normal((6, 7)).astype("float32")
    y = layers.Dropout(0.4)(x, training=True)
    ops.sum(ops.multiply(y, v)).backward()
    kept = (y.numpy() != 0) / 0.6
    np.testing.assert_allclose(to_host(x.grad), kept * v, rtol=1e-6)


def test_dropout_noise_shape_shares_the_mask(bk):
    x = np.ones((8, 5, 6), "float32")
    y = layers.Dropout(0.5, noise_shape=(None, 1, 6))(x, training=True).numpy()
    # the same features are dropped at every step of a sample
    np.testing.assert_array_equal(y, np.broadcast_to(y[:, :1, :], y.shape))
    assert 0 < np.mean(y == 0) < 1


def test_dropout_seed_reproducible_and_advancing(bk):
    x = np.ones((20, 20), "float32")
    a, b = layers.Dropout(0.5, seed=7), layers.Dropout(0.5, seed=7)
    first_a, first_b = a(x, training=True).numpy(), b(x, training=True).numpy()
    np.testing.assert_array_equal(first_a, first_b)
    assert np.any(a(x, training=True).numpy() != first_a)  # the next mask is a new draw


def test_training_flag_reaches_nested_dropout(bk):
    class Block(gkeras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.drop = layers.Dropout(0.5)

        def call(self, inputs, training=False):
            return self.drop(inputs)  # no explicit flag: inherits the outer call's

    x = np.ones((50, 50), "float32")
    block = Block()
    assert np.mean(block(x, training=True).numpy() == 0) > 0.3
    np.testing.assert_array_equal(block(x, training=False).numpy(), x)
    np.testing.assert_array_equal(block(x).numpy(), x)


@pytest.mark.parametrize("rate", [-0.1, 1.5, "0.5", None, True])
def test_dropout_rejects_bad_rate(rate):
    with pytest.raises(ValueError, match=r"rate.*between 0 and 1"):
        layers.Dropout(rate)


def test_dropout_noise_shape_rank_mismatch(bk):
    with pytest.raises(ValueError, match=r"drop.*noise_shape.*rank 3"):
        layers.Dropout(0.5, noise_shape=(None, 4), name="drop")(
            np.ones((2, 3, 4), "float32"), training=True)


def test_dropout_symbolic():
    y = layers.Dropout(0.5)(gkeras.Input((3, 4)))
    assert y.shape == (None, 3, 4)
    assert layers.Dropout(0.3, seed=1).get_config()["seed"] == 1
