"""Layer base features exercised through real layers: lazy build, add_weight, weight lists,
the trainable flag, get/set_weights, naming, losses, constraints, eager and symbolic calls."""

import numpy as np
import pytest
from helpers import to_host

import gkeras
from gkeras import layers, ops
from gkeras.autodiff import Tensor, Variable
from gkeras.layers.node import KerasTensor


class ProbeScaleLayer(layers.Layer):
    """`x * scale + shift` with a trainable scale and a non-trainable shift."""

    def build(self, input_shape):
        self.shift = self.add_weight(shape=(input_shape[-1],), initializer="ones",
                                     trainable=False, name="shift")
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="random_normal",
                                     name="scale")

    def call(self, inputs):
        return ops.add(ops.multiply(inputs, self.scale), self.shift)


def test_lazy_build(bk):
    layer = layers.Dense(3)
    assert not layer.built and layer.weights == []
    with pytest.raises(ValueError, match="not built"):
        layer.count_params()
    y = layer(np.ones((2, 5), "float32"))
    assert layer.built and y.shape == (2, 3)
    assert layer.count_params() == 5 * 3 + 3


def test_add_weight_and_weight_order(bk):
    layer = ProbeScaleLayer(name="probe")
    layer(np.ones((2, 4), "float32"))
    # Keras order: trainable weights first, then non-trainable ones
    assert [w.name for w in layer.weights] == ["scale", "shift"]
    assert [w.path for w in layer.trainable_weights] == ["probe/scale"]
    assert [w.path for w in layer.non_trainable_weights] == ["probe/shift"]
    assert all(isinstance(w, Variable) for w in layer.weights)
    np.testing.assert_array_equal(layer.shift.numpy(), np.ones(4))
    assert layer.scale.dtype == np.float32


def test_add_weight_dtype_and_default_initializers(bk):
    class Typed(layers.Layer):
        def build(self, input_shape):
            self.f = self.add_weight(shape=(200, 100), name="f")
            self.i = self.add_weight(shape=(3,), dtype="int32", trainable=False, name="i")

        def call(self, inputs):
            return inputs

    layer = Typed()
    layer(np.ones((1, 2), "float32"))
    # floats default to glorot_uniform (limit sqrt(6 / 300)), ints to zeros
    assert np.abs(layer.f.numpy()).max() <= np.sqrt(6 / 300)
    assert layer.f.numpy().std() > 0.05
    assert layer.i.dtype == np.int32
    np.testing.assert_array_equal(layer.i.numpy(), 0)


def test_layer_dtype_argument(bk):
    layer = layers.Dense(2, dtype="float64")
    y = layer(np.ones((1, 3)))
    assert layer.kernel.dtype == np.float64 and y.dtype == np.float64


def test_floatx_float64_layers(bk):
    gkeras.config.set_floatx("float64")
    layer = layers.Conv2D(2, 2)
    y = layer(np.ones((1, 3, 3, 1)))
    assert layer.kernel.dtype == np.float64 and y.dtype == np.float64


def test_trainable_flag(bk):
    layer = ProbeScaleLayer()
    layer(np.ones((2, 3), "float32"))
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2
    layer.trainable = True
    # the weight declared non-trainable stays non-trainable
    assert [w.name for w in layer.trainable_weights] == ["scale"]
    frozen = layers.Dense(2, trainable=False)
    frozen(np.ones((1, 2), "float32"))
    assert frozen.trainable_weights == [] and len(frozen.non_trainable_weights) == 2
    assert frozen.get_config()["trainable"] is False


def test_get_and_set_weights_with_numpy(bk, rng):
    layer = layers.Dense(3)
    layer(np.ones((1, 4), "float32"))
    kernel, bias = rng.standard_normal((4, 3)), rng.standard_normal(3)
    layer.set_weights([kernel, bias])
    got = layer.get_weights()
    assert all(isinstance(a, np.ndarray) for a in got)
    assert got[0].dtype == np.float32  # values are cast to the weight's dtype
    np.testing.assert_allclose(got[0], kernel, rtol=1e-6)
    np.testing.assert_allclose(got[1], bias, rtol=1e-6)


def test_get_weights_returns_copies():
    previous = gkeras.backend.get_backend().name
    gkeras.backend.set_backend("numpy")  # on CuPy the device-to-host transfer copies anyway
    try:
        layer = layers.Dense(3, bias_initializer="ones")
        layer(np.ones((1, 4), "float32"))
        got = layer.get_weights()
        got[1][...] = 0  # editing the returned arrays must not touch the layer (as in Keras)
        np.testing.assert_array_equal(layer.get_weights()[1], 1)
    finally:
        gkeras.backend.set_backend(previous)


def test_set_weights_wrong_count_leaves_layer_unchanged(bk, rng):
    layer = layers.Dense(3, name="dense_count")
    layer(np.ones((1, 4), "float32"))
    before = layer.get_weights()
    with pytest.raises(ValueError, match=r"dense_count.*expects 2 weight arrays.*1 were given"):
        layer.set_weights([rng.standard_normal((4, 3))])
    with pytest.raises(ValueError, match=r"expects 2 weight arrays.*3 were given"):
        layer.set_weights([rng.standard_normal((4, 3)), np.zeros(3), np.zeros(3)])
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_set_weights_wrong_shape_leaves_layer_unchanged(bk, rng):
    layer = layers.Dense(3, name="dense_shape")
    layer(np.ones((1, 4), "float32"))
    before = layer.get_weights()
    # the first array is fine, the second is not: nothing may be written
    with pytest.raises(ValueError, match=r"dense_shape.*dense_shape/bias.*\(3,\).*\(4,\)"):
        layer.set_weights([rng.standard_normal((4, 3)), np.zeros(4)])
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_unique_automatic_names():
    class NamingProbeLayer(layers.Layer):
        def call(self, inputs):
            return inputs

    names = [NamingProbeLayer().name for _ in range(3)]
    assert names == ["naming_probe_layer", "naming_probe_layer_1", "naming_probe_layer_2"]
    assert NamingProbeLayer(name="chosen").name == "chosen"
    dense_names = {layers.Dense(1).name for _ in range(4)}
    assert len(dense_names) == 4 and all(n.startswith("dense") for n in dense_names)
    assert layers.BatchNormalization().name.startswith("batch_normalization")


def test_auto_names_of_2d_layers_follow_keras():
    assert layers.Conv2D(1, 1).name.split("_")[0] == "conv2d"
    assert layers.GlobalAveragePooling2D().name.startswith("global_average_pooling2d")


def test_regularizers_add_losses(bk):
    layer = layers.Dense(3, kernel_regularizer=gkeras.regularizers.L2(0.1),
                         bias_regularizer=gkeras.regularizers.L1L2(l1=0.2, l2=0.3),
                         bias_initializer="ones")
    assert layer.losses == []
    layer(np.ones((2, 4), "float32"))
    kernel, bias = (w.astype(np.float64) for w in layer.get_weights())
    values = [float(t.numpy()) for t in layer.losses]
    expected = [0.1 * (kernel ** 2).sum(), 0.2 * np.abs(bias).sum() + 0.3 * (bias ** 2).sum()]
    np.testing.assert_allclose(values, expected, rtol=1e-5)
    # penalties are differentiable in the weights: d(0.1 sum k^2)/dk = 0.2 k
    layer.losses[0].backward()
    np.testing.assert_allclose(to_host(layer.kernel.grad), 0.2 * kernel, rtol=1e-5)


def test_activity_regularizer_loss_is_per_sample(bk, rng):
    layer = layers.Dense(2, activity_regularizer=gkeras.regularizers.L2(0.5))
    x = rng.standard_normal((4, 3)).astype("float32")
    y = layer(x).numpy().astype(np.float64)
    (loss,) = layer.losses
    np.testing.assert_allclose(float(loss.numpy()), 0.5 * (y ** 2).sum() / 4, rtol=1e-5)


def test_constraints_live_on_variables(bk):
    layer = layers.Dense(2, kernel_constraint="max_norm", bias_constraint="non_neg")
    layer(np.ones((1, 3), "float32"))
    assert isinstance(layer.kernel.constraint, gkeras.constraints.MaxNorm)
    assert isinstance(layer.bias.constraint, gkeras.constraints.NonNeg)


def test_eager_call_on_numpy_and_tensor(bk, rng):
    layer = layers.Dense(2)
    x = rng.standard_normal((3, 4)).astype("float32")
    y1 = layer(x)
    y2 = layer(ops.convert_to_tensor(x))
    assert isinstance(y1, Tensor) and isinstance(y2, Tensor)
    np.testing.assert_array_equal(y1.numpy(), y2.numpy())


def test_symbolic_calls_chain(bk):
    x = gkeras.Input((8, 8, 3))
    y = layers.Conv2D(4, 3, padding="same")(x)
    y = layers.BatchNormalization()(y)
    y = layers.ReLU()(y)
    y = layers.MaxPooling2D()(y)
    y = layers.Dropout(0.2)(y)
    y = layers.Flatten()(y)
    y = layers.Dense(5, activation="softmax")(y)
    assert isinstance(y, KerasTensor) and y.shape == (None, 5)
    layer = y._keras_history[0]
    assert isinstance(layer, layers.Dense) and layer.input.shape == (None, 64)


def test_unexpected_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="unitz"):
        layers.Dense(3, unitz=4)


def test_input_shape_keyword_is_kept_in_config():
    layer = layers.Dense(3, input_shape=(5,))
    assert layer.get_config()["batch_input_shape"] == (None, 5)


def test_symbolic_call_keeps_unknown_non_batch_dimensions():
    images = gkeras.Input((None, None, 3))
    assert layers.Conv2D(4, 3)(images).shape == (None, None, None, 4)
    assert layers.MaxPooling2D()(images).shape == (None, None, None, 3)
    assert layers.Dense(2)(gkeras.Input((None, 5))).shape == (None, None, 2)


def test_symbolic_shapes_keep_unknown_inner_dimensions():
    class Doubled(gkeras.layers.Layer):  # no compute_output_shape: found by trial runs
        def call(self, t):
            return gkeras.ops.concatenate([t, t], axis=1)

    class TimeMean(gkeras.layers.Layer):
        def call(self, t):
            return gkeras.ops.mean(t, axis=1)

    sequence = gkeras.Input((None, 7))
    assert Doubled()(sequence).shape == (None, None, 7)
    assert TimeMean()(sequence).shape == (None, 7)
    assert Doubled()(gkeras.Input((3, 7))).shape == (None, 6, 7)
