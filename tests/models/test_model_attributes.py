"""Model attributes Keras code reads: shapes, dtypes, `run_eagerly`, `to_json`."""

import json

import numpy as np
import pytest

import gkeras as keras
from gkeras import layers


def test_sequential_and_functional_input_and_output_shapes():
    seq = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    assert seq.input_shape == (None, 4) and seq.output_shape == (None, 2)
    a, b = keras.Input((3,), name="a"), keras.Input((5,), name="b")
    merged = layers.Concatenate()([a, b])
    model = keras.Model([a, b], [layers.Dense(1)(merged), layers.Dense(2)(merged)])
    assert model.input_shape == [(None, 3), (None, 5)]
    assert model.output_shape == [(None, 1), (None, 2)]
    with pytest.raises(AttributeError, match="never been called on a symbolic tensor"):
        _ = keras.Sequential([layers.Dense(2)]).input_shape  # no Input, never built


def test_dtype_properties_and_run_eagerly():
    dense = layers.Dense(2, dtype="float64")
    assert dense.compute_dtype == dense.variable_dtype == "float64"
    model = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
    assert model.run_eagerly is False
    model.run_eagerly = True
    assert model.run_eagerly is True
    model.compile("sgd", "mse", run_eagerly=False)
    assert model.run_eagerly is False


def test_to_json_round_trips_through_model_from_json():
    inputs = keras.Input((4,), name="x")
    hidden = layers.Dense(3, activation="relu", name="hidden")(inputs)
    model = keras.Model(inputs, layers.Dense(2, name="out")(hidden), name="net")
    text = model.to_json()
    parsed = json.loads(text)
    assert parsed["class_name"] == "Functional" and parsed["config"]["name"] == "net"
    clone = keras.models.model_from_json(text)
    assert [type(layer).__name__ for layer in clone.layers] == ["InputLayer", "Dense", "Dense"]
    assert clone.get_layer("hidden").get_config() == model.get_layer("hidden").get_config()
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(0).standard_normal((5, 4)).astype("float32")
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    seq = keras.Sequential([keras.Input((2,)), layers.Dense(3)], name="s")
    assert keras.models.model_from_json(seq.to_json(indent=1)).name == "s"
    with pytest.raises(ValueError, match="not a JSON model description"):
        keras.models.model_from_json("{not json")
