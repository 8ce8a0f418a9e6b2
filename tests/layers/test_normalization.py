"""BatchNormalization and LayerNormalization: harness runs, NumPy references, moving
statistics, the training flag and bad input."""

import numpy as np
import pytest

import gkeras
from gkeras import layers

from .harness import run_layer_test


# ---------------------------------------------------------------- BatchNormalization
@pytest.mark.parametrize("kwargs, in_shape, n_trainable, n_losses", [
    ({}, (6, 4), 2, 0),
    ({"axis": 1}, (4, 3, 2, 2), 2, 0),
    ({"axis": -1, "momentum": 0.9, "epsilon": 1e-2}, (3, 5, 5, 2), 2, 0),
    ({"center": False}, (5, 3), 1, 0),
    ({"scale": False, "center": False}, (5, 3), 0, 0),
    ({"axis": [1, 3]}, (4, 3, 2, 2), 2, 0),
    ({"gamma_regularizer": "l2", "beta_regularizer": "l1", "gamma_constraint": "non_neg",
      "beta_initializer": "ones"}, (6, 4), 2, 2),
])
def test_batch_norm_harness(bk, kwargs, in_shape, n_trainable, n_losses):
    run_layer_test(layers.BatchNormalization, kwargs, input_shape=in_shape,
                   expected_output_shape=in_shape, expected_num_trainable_weights=n_trainable,
                   expected_num_non_trainable_weights=2, expected_num_losses=n_losses)


def _random_bn_weights(layer, rng):
    shape = layer.moving_mean.shape
    gamma, beta = rng.standard_normal(shape), rng.standard_normal(shape)
    mean, var = rng.standard_normal(shape), rng.uniform(0.5, 2.0, shape)
    layer.set_weights([gamma, beta, mean, var])
    return gamma, beta, mean, var


def test_batch_norm_weights_follow_keras(bk):
    layer = layers.BatchNormalization(name="bn")
    assert layer.momentum == 0.99 and layer.epsilon == 1e-3 and layer.axis == -1
    layer(np.zeros((2, 3), "float32"))
    assert [w.path for w in layer.weights] == ["bn/gamma", "bn/beta", "bn/moving_mean",
                                               "bn/moving_variance"]
    assert [w.trainable for w in layer.weights] == [True, True, False, False]
    assert [w.name for w in layer.trainable_weights] == ["gamma", "beta"]
    assert [w.name for w in layer.non_trainable_weights] == ["moving_mean", "moving_variance"]
    for w, value in zip(layer.weights, (1, 0, 0, 1)):
        np.testing.assert_array_equal(w.numpy(), value)


def test_batch_norm_training_matches_numpy_and_updates_moving_stats(bk, rng):
    gkeras.config.set_floatx("float64")
    layer = layers.BatchNormalization(momentum=0.8, epsilon=1e-2)
    layer.build((8, 3))
    gamma, beta, moving_mean, moving_var = _random_bn_weights(layer, rng)
    for step in range(3):
        x = rng.standard_normal((8, 3)) * (step + 1) + step
        y = layer(x, training=True).numpy()
        mean, var = x.mean(axis=0), x.var(axis=0)  # the biased batch variance, as Keras
        np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-2) * gamma + beta,
                                   rtol=1e-10, atol=1e-12)
        moving_mean = moving_mean * 0.8 + mean * 0.2
        moving_var = moving_var * 0.8 + var * 0.2
        np.testing.assert_allclose(layer.moving_mean.numpy(), moving_mean, rtol=1e-12)
        np.testing.assert_allclose(layer.moving_variance.numpy(), moving_var, rtol=1e-12)


def test_batch_norm_inference_uses_moving_stats_without_updating(bk, rng):
    gkeras.config.set_floatx("float64")
    layer = layers.BatchNormalization()
    layer.build((5, 4))
    gamma, beta, mean, var = _random_bn_weights(layer, rng)
    x = rng.standard_normal((5, 4))
    for y in (layer(x), layer(x, training=False)):
        np.testing.assert_allclose(y.numpy(), (x - mean) / np.sqrt(var + 1e-3) * gamma + beta,
                                   rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), mean)
    np.testing.assert_array_equal(layer.moving_variance.numpy(), var)


def test_batch_norm_channels_first_axis_matches_numpy(bk, rng):
    gkeras.config.set_floatx("float64")
    layer = layers.BatchNormalization(axis=1, momentum=0.5)
    x = rng.standard_normal((4, 3, 5, 2))
    layer.build(x.shape)
    gamma, beta, moving_mean, moving_var = _random_bn_weights(layer, rng)
    y = layer(x, training=True).numpy()
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True)
    g, b = gamma.reshape(1, 3, 1, 1), beta.reshape(1, 3, 1, 1)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3) * g + b, rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.5 * moving_mean + 0.5 * mean.ravel())
    np.testing.assert_allclose(layer.moving_variance.numpy(),
                               0.5 * moving_var + 0.5 * var.ravel())
    y_inf = layer(x).numpy()
    m, v = layer.moving_mean.numpy().reshape(1, 3, 1, 1), layer.moving_variance.numpy()
    np.testing.assert_allclose(y_inf, (x - m) / np.sqrt(v.reshape(1, 3, 1, 1) + 1e-3) * g + b,
                               rtol=1e-10, atol=1e-12)


def test_batch_norm_multiple_axes_match_numpy(bk, rng):
    gkeras.config.set_floatx("float64")
    layer = layers.BatchNormalization(axis=[1, 3], center=False)
    x = rng.standard_normal((6, 3, 4, 2))
    y = layer(x, training=True).numpy()
    mean = x.mean(axis=(0, 2), keepdims=True)
    var = x.var(axis=(0, 2), keepdims=True)
    assert layer.gamma.shape == (3, 2) and layer.beta is None
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.01 * mean.reshape(3, 2), atol=1e-15)


def test_frozen_batch_norm_runs_in_inference_mode(bk, rng):
    layer = layers.BatchNormalization()
    x = (rng.standard_normal((16, 3)) * 3 + 2).astype("float32")
    layer(x)
    layer.trainable = False
    y = layer(x, training=True).numpy()
    np.testing.assert_allclose(y, x / np.sqrt(1 + 1e-3), rtol=1e-6)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), 0)
    np.testing.assert_array_equal(layer.moving_variance.numpy(), 1)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4


def test_batch_norm_training_flag_from_outer_layer(bk, rng):
    class Block(gkeras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.norm = layers.BatchNormalization()

        def call(self, inputs, training=False):
            return self.norm(inputs)

    block = Block()
    x = rng.standard_normal((8, 2)).astype("float32") + 4
    block(x, training=True)
    assert np.all(block.norm.moving_mean.numpy() > 0)  # updated from the batch mean ~4
    before = block.norm.moving_mean.numpy().copy()
    block(x)
    np.testing.assert_array_equal(block.norm.moving_mean.numpy(), before)


def test_batch_norm_symbolic_call_leaves_statistics_alone():
    layer = layers.BatchNormalization()
    y = layer(gkeras.Input((5, 3)))
    assert y.shape == (None, 5, 3)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), 0)
    np.testing.assert_array_equal(layer.moving_variance.numpy(), 1)


def test_batch_norm_config_has_keras_keys():
    config = layers.BatchNormalization(momentum=0.9).get_config()
    for key in ("axis", "momentum", "epsilon", "center", "scale", "beta_initializer",
                "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer",
                "beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"):
        assert key in config
    assert config["momentum"] == 0.9


def test_batch_norm_bad_input(bk):
    with pytest.raises(ValueError, match=r"bn_axis.*invalid axis 3.*rank 2"):
        layers.BatchNormalization(axis=3, name="bn_axis")(np.zeros((2, 3), "float32"))
    layer = layers.BatchNormalization(name="bn_feat")
    layer(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"bn_feat.*axis 1.*3.*\(2, 4\)"):
        layer(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match=r"bn_feat.*ndim=2.*ndim=3"):
        layer(np.zeros((2, 5, 3), "float32"))
    with pytest.raises(ValueError, match="momentum"):
        layers.BatchNormalization(momentum=1.5)
    with pytest.raises(TypeError, match="axis"):
        layers.BatchNormalization(axis="channels")
    with pytest.raises(ValueError, match="Unknown initializer"):
        layers.BatchNormalization(gamma_initializer="onez")


# ---------------------------------------------------------------- LayerNormalization
@pytest.mark.parametrize("kwargs, in_shape, n_trainable", [
    ({}, (4, 6), 2),
    ({"axis": [1, 2]}, (3, 4, 5), 2),
    ({"axis": 1}, (3, 4, 5), 2),
    ({"center": False, "epsilon": 1e-5}, (3, 5), 1),
    ({"scale": False, "center": False}, (3, 5), 0),
    ({"rms_scaling": True}, (3, 2, 5), 1),
])
def test_layer_norm_harness(bk, kwargs, in_shape, n_trainable):
    run_layer_test(layers.LayerNormalization, kwargs, input_shape=in_shape,
                   expected_output_shape=in_shape, expected_num_trainable_weights=n_trainable)


@pytest.mark.parametrize("axis", [-1, 1, [1, 2], (1, 2)])
def test_layer_norm_matches_numpy(bk, rng, axis):
    gkeras.config.set_floatx("float64")
    x = rng.standard_normal((3, 4, 5)) * 2 + 1
    layer = layers.LayerNormalization(axis=axis)
    layer.build(x.shape)
    gamma = rng.standard_normal(layer.gamma.shape)
    beta = rng.standard_normal(layer.beta.shape)
    layer.set_weights([gamma, beta])
    axes = tuple(a % 3 for a in ([axis] if isinstance(axis, int) else axis))
    shape = [1, 1, 1]
    for a in axes:
        shape[a] = x.shape[a]
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-3) * gamma.reshape(shape) + beta.reshape(shape)
    for training in (False, True):
        np.testing.assert_allclose(layer(x, training=training).numpy(), expected, rtol=1e-10,
                                   atol=1e-12)


def test_layer_norm_rms_scaling_matches_keras_formula(bk, rng):
    # Keras 3.8 / 3.15 divide by sqrt(variance + eps), not by the root mean square (checked
    # against real Keras: the mean-square formula differs by up to 2.8 on shifted inputs)
    gkeras.config.set_floatx("float64")
    x = rng.standard_normal((3, 6)) + 2
    layer = layers.LayerNormalization(rms_scaling=True, epsilon=1e-6)
    layer.build(x.shape)
    gamma = rng.standard_normal(6)
    layer.set_weights([gamma])
    expected = x / np.sqrt(x.var(axis=-1, keepdims=True) + 1e-6) * gamma
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-10)


def test_layer_norm_weights_and_errors(bk):
    layer = layers.LayerNormalization(name="ln")
    assert layer.epsilon == 1e-3
    layer(np.zeros((2, 3), "float32"))
    assert [w.path for w in layer.weights] == ["ln/gamma", "ln/beta"]
    with pytest.raises(ValueError, match=r"ln.*axis 1.*3.*\(2, 4\)"):
        layer(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match=r"ln_bad.*invalid axis 5"):
        layers.LayerNormalization(axis=5, name="ln_bad")(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="epsilon"):
        layers.LayerNormalization(epsilon=-1.0)
