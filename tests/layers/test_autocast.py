"""Layer and model inputs are cast as Keras casts them: floats of another precision to the
compute dtype, integers to float where float math follows, ids kept for Embedding."""

import numpy as np
import pytest

import gkeras as keras
from gkeras import layers


@pytest.mark.parametrize("dtype", ["float64", "int64", "int32", "uint8", "bool"])
def test_eager_layer_and_model_calls_compute_in_float32(dtype):
    x = np.ones((2, 3), dtype=dtype)
    dense = layers.Dense(2)
    assert dense(x).dtype == "float32"
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    assert model(x).dtype == "float32"
    assert model.predict(x, verbose=0).dtype == np.float32
    inputs = keras.Input((3,))
    functional = keras.Model(inputs, layers.Dense(2)(inputs))
    assert functional(x).dtype == "float32"
    np.testing.assert_allclose(dense(x).numpy(), dense(x.astype("float32")).numpy())


def test_float64_values_are_cast_not_promoted():
    x = np.random.default_rng(0).standard_normal((4, 3))
    for layer in (layers.BatchNormalization(), layers.Flatten(), layers.Activation("tanh"),
                  layers.LayerNormalization()):
        assert layer(x).dtype == "float32", layer.name


def test_autocast_false_keeps_the_input_precision():
    layer = layers.Activation("relu", autocast=False)
    assert layer(np.ones((2, 2), "float64")).dtype == "float64"


def test_embedding_keeps_integer_ids_and_a_float64_input_layer_keeps_float64():
    ids = np.array([[1, 2], [3, 0]])
    emb = layers.Embedding(5, 3)
    np.testing.assert_array_equal(emb(ids).numpy(), emb.get_weights()[0][ids])
    model = keras.Sequential([keras.Input((2,), dtype="int32"), layers.Embedding(5, 3)])
    assert model(ids.astype("float64")).dtype == "float32"  # ids cast to the Input's int32
    inputs = keras.Input((3,), dtype="float64")
    wide = keras.Model(inputs, layers.Dense(2, dtype="float64")(inputs))
    assert wide(np.ones((1, 3), "float32")).dtype == "float64"


def test_casting_keeps_gradients_flowing():
    from gkeras.autodiff import Variable

    x = Variable(np.random.default_rng(1).standard_normal((2, 3)))  # float64 leaf
    y = layers.Dense(1, kernel_initializer="ones")(x)
    assert y.dtype == "float32"
    y.backward(np.ones((2, 1), "float32"))
    np.testing.assert_allclose(x.grad, np.ones((2, 3)))


def test_embedding_receives_its_ids_uncast():
    seen = []

    class Spy(layers.Embedding):
        def call(self, inputs):
            seen.append(inputs.dtype)
            return super().call(inputs)

    big = np.array([[2 ** 24 + 1, 3]])  # not representable in float32
    emb = Spy(2 ** 24 + 2, 1, embeddings_initializer="zeros")
    emb.build((None, 2))
    table = emb.get_weights()[0]
    table[2 ** 24 + 1] = 7.0
    emb.set_weights([table])
    np.testing.assert_array_equal(emb(big).numpy()[0, :, 0], [7.0, 0.0])
    assert seen[-1].kind == "i"
