"""Functional models: construction, graph features, attributes and errors."""

import re
import subprocess
import sys

import numpy as np
import pytest

import gkeras as keras
from gkeras import layers


def test_input_repr_matches_keras_in_a_fresh_process():
    code = ("import gkeras as keras; a = keras.Input(shape=(20,)); b = keras.Input(shape=(3, 4), "
            "dtype='int32'); print(repr(a)); print(repr(b))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.strip().splitlines()
    assert lines[0] == ("<KerasTensor shape=(None, 20), dtype=float32, sparse=False, "
                        "name=keras_tensor>")
    assert lines[1] == ("<KerasTensor shape=(None, 3, 4), dtype=int32, sparse=False, "
                        "name=keras_tensor_1>")


def test_input_names_and_batch_size():
    t = keras.Input(shape=(5,), batch_size=8, name="features")
    assert t.shape == (8, 5)
    assert t.name == "features"
    assert re.fullmatch(r"keras_tensor(_\d+)?", keras.Input(shape=(2,)).name)


def test_single_io_model_predicts_like_its_layers(rng):
    inputs = keras.Input(shape=(6,))
    d1, d2 = layers.Dense(4, activation="relu"), layers.Dense(2)
    model = keras.Model(inputs, d2(d1(inputs)))
    x = rng.standard_normal((5, 6)).astype("float32")
    expected = np.maximum(x @ d1.kernel.numpy() + d1.bias.numpy(), 0) @ d2.kernel.numpy()
    expected += d2.bias.numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-5, atol=1e-6)
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Dense", "Dense"]
    assert model.count_params() == 6 * 4 + 4 + 4 * 2 + 2


def test_multi_input_multi_output_lists_and_dicts(rng):
    a = keras.Input(shape=(3,), name="a")
    b = keras.Input(shape=(4,), name="b")
    merged = layers.Concatenate()([a, b]) if hasattr(layers, "Concatenate") else None
    if merged is None:
        pytest.skip("Concatenate layer not available")
    out1 = layers.Dense(2, name="head_1")(merged)
    out2 = layers.Dense(1, name="head_2")(merged)
    model = keras.Model(inputs=[a, b], outputs=[out1, out2])
    assert model.input_names == ["a", "b"]
    assert model.output_names == ["head_1", "head_2"]
    xa = rng.standard_normal((7, 3)).astype("float32")
    xb = rng.standard_normal((7, 4)).astype("float32")
    by_list = model.predict([xa, xb], verbose=0)
    by_dict = model.predict({"a": xa, "b": xb}, verbose=0)
    assert isinstance(by_list, list) and [p.shape for p in by_list] == [(7, 2), (7, 1)]
    for p, q in zip(by_list, by_dict):
        np.testing.assert_allclose(p, q)
    dict_model = keras.Model({"a": a, "b": b}, {"first": out1, "second": out2})
    out = dict_model.predict({"a": xa, "b": xb}, verbose=0)
    assert set(out) == {"first", "second"}
    np.testing.assert_allclose(out["first"], by_list[0], rtol=1e-6)
    assert dict_model.output_names == ["first", "second"]


def test_shared_layer_and_residual_connection(rng):
    inputs = keras.Input(shape=(5,))
    shared = layers.Dense(5, name="shared")
    h = shared(inputs)
    h2 = shared(h)  # the same weights used twice
    if not hasattr(layers, "Add"):
        pytest.skip("Add layer not available")
    out = layers.Add()([h2, inputs])  # residual
    model = keras.Model(inputs, out)
    assert len(model.trainable_weights) == 2
    x = rng.standard_normal((3, 5)).astype("float32")
    W, b = shared.kernel.numpy(), shared.bias.numpy()
    expected = (x @ W + b) @ W + b + x
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)


def test_shared_layer_gradients_accumulate(rng):
    inputs = keras.Input(shape=(3,))
    shared = layers.Dense(3, use_bias=False)
    model = keras.Model(inputs, shared(shared(inputs)))
    x = rng.standard_normal((4, 3)).astype("float64")
    W = shared.kernel.numpy().astype("float64")
    out = model(x.astype("float32"))
    out.sum().backward()
    # d/dW sum((x W) W) = x^T (1 W^T) + (x W)^T 1
    ones = np.ones((4, 3))
    expected = x.T @ (ones @ W.T) + (x @ W).T @ ones
    np.testing.assert_allclose(shared.kernel.grad, expected, rtol=1e-4, atol=1e-5)


def test_model_used_as_a_layer(rng):
    inner_in = keras.Input(shape=(4,))
    inner = keras.Model(inner_in, layers.Dense(3, activation="relu")(inner_in), name="inner")
    outer_in = keras.Input(shape=(4,))
    outer = keras.Model(outer_in, layers.Dense(2)(inner(outer_in)))
    x = rng.standard_normal((6, 4)).astype("float32")
    expected = outer.layers[-1](inner(x)).numpy()
    np.testing.assert_allclose(outer.predict(x, verbose=0), expected, rtol=1e-6)
    assert len(outer.trainable_weights) == 4
    assert outer.layers[1] is inner


def test_get_layer_by_name_and_index_and_errors():
    inputs = keras.Input(shape=(2,))
    model = keras.Model(inputs, layers.Dense(1, name="out")(inputs))
    assert model.get_layer("out").name == "out"
    assert model.get_layer(index=1) is model.get_layer("out")
    with pytest.raises(ValueError, match="No such layer: nope"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="index 5"):
        model.get_layer(index=5)


def test_get_and_set_weights_roundtrip_and_validation(rng):
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, layers.Dense(2)(layers.Dense(4)(inputs)))
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(3, 4), (4,), (4, 2), (2,)]
    new = [rng.standard_normal(w.shape).astype("float32") for w in weights]
    model.set_weights(new)
    for got, want in zip(model.get_weights(), new):
        np.testing.assert_array_equal(got, want)
    bad = [np.zeros((3, 4)), np.zeros((4,)), np.zeros((5, 2)), np.zeros((2,))]
    with pytest.raises(ValueError, match=r"\(4, 2\).*\(5, 2\)"):
        model.set_weights(bad)
    for got, want in zip(model.get_weights(), new):  # unchanged after the failed call
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="expects 4 weight arrays, but 2 were given"):
        model.set_weights(new[:2])


def test_disconnected_graph_is_an_error():
    a = keras.Input(shape=(2,))
    b = keras.Input(shape=(2,))
    out = layers.Dense(1)(b)
    with pytest.raises(ValueError, match="Graph disconnected"):
        keras.Model(a, out)


def test_non_symbolic_outputs_are_rejected():
    a = keras.Input(shape=(2,))
    with pytest.raises(ValueError, match="symbolic tensors"):
        keras.Model(a, np.zeros((1, 2)))


def test_wrong_input_shape_names_the_input(rng):
    inputs = keras.Input(shape=(4,), name="pixels")
    model = keras.Model(inputs, layers.Dense(1)(inputs))
    with pytest.raises(ValueError, match=r"pixels.*\(None, 4\).*\(2, 5\)"):
        model(rng.standard_normal((2, 5)).astype("float32"))


def test_inputs_one_axis_off_are_adjusted_as_in_keras():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    x = np.random.default_rng(0).standard_normal((6, 4)).astype("float32")
    np.testing.assert_allclose(model(x[..., None]).numpy(), model(x).numpy())
    model.compile("sgd", "mse")
    model.fit(x[..., None], np.zeros((6, 2)), verbose=0)  # (N, 4, 1) for Input((4,))
    single = keras.Input((1,))
    column = keras.Model(single, keras.layers.Dense(3)(single))
    assert column(np.arange(5.0)).shape == (5, 3)
    with pytest.raises(ValueError, match=r"expected shape \(None, 4\).*\(2, 5\)"):
        model(np.ones((2, 5)))
