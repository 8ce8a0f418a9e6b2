"""Sequential models: building, add / pop, deferred build."""

import numpy as np
import pytest

import gkeras as keras
from gkeras import layers


def test_input_shape_on_first_layer_builds_immediately():
    model = keras.Sequential([layers.Dense(8, input_shape=(4,), activation="relu"),
                              layers.Dense(3, activation="softmax")])
    assert model.built
    assert model.count_params() == 4 * 8 + 8 + 8 * 3 + 3
    assert [layer.name for layer in model.layers] == [model.layers[0].name,
                                                      model.layers[1].name]
    assert model.outputs[0].shape == (None, 3)


def test_input_first_and_add_pop(rng):
    model = keras.Sequential()
    model.add(keras.Input(shape=(5,)))
    model.add(layers.Dense(4))
    model.add(layers.Dense(2))
    assert model.built and len(model.layers) == 2
    popped = model.pop()
    assert popped.units == 2 and len(model.layers) == 1
    x = rng.standard_normal((3, 5)).astype("float32")
    assert model.predict(x, verbose=0).shape == (3, 4)


def test_deferred_build_on_first_call(rng):
    model = keras.Sequential([layers.Dense(4), layers.Dense(1)])
    assert not model.built
    x = rng.standard_normal((2, 7)).astype("float32")
    y = model(x)
    assert y.shape == (2, 1)
    assert model.built and model.layers[0].kernel.shape == (7, 4)


def test_only_layers_can_be_added():
    with pytest.raises(ValueError, match="Only instances of gkeras.layers.Layer"):
        keras.Sequential([np.zeros(3)])


def test_pop_on_empty_model():
    with pytest.raises(TypeError, match="no layers"):
        keras.Sequential().pop()
