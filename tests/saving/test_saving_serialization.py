"""Configs: every layer class round-trips through the registry; custom objects; Keras configs."""

import json

import numpy as np
import pytest

import gkeras
from gkeras import Input, layers, ops
from gkeras.models import Functional
from gkeras.saving import (
    custom_object_scope,
    deserialize_keras_object,
    get_custom_objects,
    load_model,
    register_keras_serializable,
    save_model,
    serialize_keras_object,
)
from gkeras.saving.serialization import builtin_layers, deserialize_layer


def double_it(x):
    """A named function for the Lambda layer's round trip (saved by name)."""
    return x * 2


# class name -> (constructor arguments, input shapes (no batch), input dtype)
LAYER_CASES = {
    "Activation": ({"activation": "tanh"}, [(5,)], "float32"),
    "Add": ({}, [(4,), (4,)], "float32"),
    "Average": ({}, [(4,), (4,)], "float32"),
    "Maximum": ({}, [(4,), (4,)], "float32"),
    "Minimum": ({}, [(4,), (4,)], "float32"),
    "Multiply": ({}, [(4,), (4,)], "float32"),
    "Subtract": ({}, [(4,), (4,)], "float32"),
    "Concatenate": ({"axis": -1}, [(4,), (3,)], "float32"),
    "AveragePooling2D": ({"pool_size": 2}, [(6, 6, 2)], "float32"),
    "MaxPooling2D": ({"pool_size": (2, 2), "strides": 1, "padding": "same"}, [(5, 5, 2)],
                     "float32"),
    "GlobalAveragePooling2D": ({}, [(5, 5, 3)], "float32"),
    "GlobalMaxPooling2D": ({"keepdims": True}, [(5, 5, 3)], "float32"),
    "BatchNormalization": ({"momentum": 0.9, "epsilon": 1e-2, "center": False}, [(5,)],
                           "float32"),
    "LayerNormalization": ({"epsilon": 1e-4}, [(5,)], "float32"),
    "Conv2D": ({"filters": 3, "kernel_size": 3, "padding": "same", "activation": "relu",
                "kernel_regularizer": "l2", "bias_initializer": "ones"}, [(6, 6, 2)],
               "float32"),
    "Dense": ({"units": 3, "activation": "relu", "kernel_initializer": "he_normal",
               "bias_constraint": "non_neg"}, [(5,)], "float32"),
    "Dropout": ({"rate": 0.3}, [(5,)], "float32"),
    "ELU": ({"alpha": 0.5}, [(5,)], "float32"),
    "LeakyReLU": ({"negative_slope": 0.1}, [(5,)], "float32"),
    "ReLU": ({"max_value": 6.0}, [(5,)], "float32"),
    "Softmax": ({"axis": -1}, [(5,)], "float32"),
    "Embedding": ({"input_dim": 10, "output_dim": 3}, [(4,)], "int32"),
    "Flatten": ({}, [(3, 2)], "float32"),
    "Reshape": ({"target_shape": (2, 3)}, [(6,)], "float32"),
    "Conv1D": ({"filters": 3, "kernel_size": 2, "padding": "causal"}, [(6, 2)], "float32"),
    "MaxPooling1D": ({"pool_size": 2}, [(6, 2)], "float32"),
    "AveragePooling1D": ({"pool_size": 3, "strides": 1, "padding": "same"}, [(5, 2)],
                         "float32"),
    "GlobalAveragePooling1D": ({}, [(5, 3)], "float32"),
    "GlobalMaxPooling1D": ({"keepdims": True}, [(5, 3)], "float32"),
    "RepeatVector": ({"n": 3}, [(4,)], "float32"),
    "Cropping1D": ({"cropping": (1, 2)}, [(6, 2)], "float32"),
    "Cropping2D": ({"cropping": ((1, 0), (0, 2))}, [(5, 5, 2)], "float32"),
    "UpSampling1D": ({"size": 2}, [(3, 2)], "float32"),
    "UpSampling2D": ({"size": (2, 1), "interpolation": "bilinear"}, [(3, 3, 2)], "float32"),
    "ZeroPadding1D": ({"padding": 2}, [(3, 2)], "float32"),
    "ZeroPadding2D": ({"padding": ((1, 0), (2, 1))}, [(3, 3, 2)], "float32"),
    "Identity": ({}, [(4,)], "float32"),
    "Lambda": ({"function": double_it}, [(4,)], "float32"),
    "Permute": ({"dims": (2, 1)}, [(3, 4)], "float32"),
    "Rescaling": ({"scale": 1 / 255, "offset": -0.5}, [(4,)], "float32"),
    "SimpleRNN": ({"units": 3, "return_sequences": True}, [(4, 2)], "float32"),
    "LSTM": ({"units": 3}, [(4, 2)], "float32"),
    "GRU": ({"units": 3, "go_backwards": True}, [(4, 2)], "float32"),
    "Bidirectional": ({"layer": layers.LSTM(3, return_sequences=True), "merge_mode": "sum"},
                      [(4, 2)], "float32"),
    "TimeDistributed": ({"layer": layers.Dense(3, activation="relu")}, [(4, 2)], "float32"),
    "RNN": ({"cell": layers.GRUCell(3), "go_backwards": True, "return_sequences": True},
            [(4, 2)], "float32"),
    "Conv2DTranspose": ({"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same",
                         "output_padding": 1, "activation": "relu"}, [(4, 5, 3)], "float32"),
    "DepthwiseConv2D": ({"kernel_size": 3, "depth_multiplier": 2, "padding": "same"},
                        [(5, 5, 2)], "float32"),
    "SeparableConv2D": ({"filters": 3, "kernel_size": 3, "strides": 2, "depth_multiplier": 2,
                         "activation": "tanh"}, [(6, 6, 2)], "float32"),
    "EinsumDense": ({"equation": "abc,cde->abde", "output_shape": (None, 2, 3),
                     "bias_axes": "de"}, [(4, 5)], "float32"),
    "Attention": ({"use_scale": True, "score_mode": "concat"}, [(3, 4), (5, 4)], "float32"),
    # called as layer(query, value): the optional fourth entry says so
    "MultiHeadAttention": ({"num_heads": 2, "key_dim": 3}, [(4, 6), (5, 6)], "float32",
                           "positional"),
}
# covered elsewhere: the base class, the Input layer (in every model), the models, and the
# recurrent cells (they run inside their layers, step by step)
NOT_STANDALONE = {"Layer", "InputLayer", "Functional", "Sequential", "SimpleRNNCell",
                  "LSTMCell", "GRUCell", "Wrapper"}


def _classes():
    unique = {}
    for cls in builtin_layers().values():
        unique.setdefault(cls.__name__, cls)
    return unique


def test_every_registered_layer_class_has_a_round_trip_case():
    missing = sorted(set(_classes()) - set(LAYER_CASES) - NOT_STANDALONE)
    assert not missing, f"add constructor arguments for {missing} to LAYER_CASES"


def _inputs(shapes, dtype, rng):
    if dtype == "int32":
        return [rng.integers(0, 10, (3,) + s).astype("int32") for s in shapes]
    return [rng.random((3,) + s, dtype=np.float32) + 0.1 for s in shapes]


@pytest.mark.parametrize("class_name", sorted(LAYER_CASES))
def test_layer_round_trip_in_a_model(tmp_path, class_name):
    kwargs, shapes, dtype, *mode = LAYER_CASES[class_name]
    cls = _classes()[class_name]
    inputs = [gkeras.Input(s, dtype=dtype) for s in shapes]
    layer = cls(**kwargs)
    if mode == ["positional"]:
        output = layer(*inputs)
    else:
        output = layer(inputs if len(inputs) > 1 else inputs[0])
    model = Functional(inputs if len(inputs) > 1 else inputs[0], output)
    rng = np.random.default_rng(0)
    model.set_weights([rng.random(w.shape).astype(w.dtype) + 0.5 for w in model.weights])
    x = _inputs(shapes, dtype, rng)
    x = x if len(x) > 1 else x[0]
    expected = model.predict(x, verbose=0)
    config = json.loads(json.dumps(model.get_config()))
    clone = Functional.from_config(config)
    assert type(clone.layers[-1]) is cls
    assert json.loads(json.dumps(clone.get_config())) == config
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone.predict(x, verbose=0), expected)
    save_model(model, tmp_path / "m.h5")  # through the file: config and weights
    np.testing.assert_array_equal(load_model(tmp_path / "m.h5").predict(x, verbose=0), expected)


class Scale(layers.Layer):
    """A custom layer with a weight and a constructor argument."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

    def call(self, inputs):
        return inputs * self.w * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def _custom_model(layer):
    inputs = gkeras.Input((3,))
    return Functional(inputs, layers.Dense(2)(layer(inputs)))


def test_custom_layer_needs_custom_objects(tmp_path):
    model = _custom_model(Scale(3.0, name="scale"))
    config = json.loads(json.dumps(model.get_config()))
    with pytest.raises(ValueError, match=r"Unknown layer: 'Scale'.*custom_objects"):
        Functional.from_config(config)
    clone = Functional.from_config(config, custom_objects={"Scale": Scale})
    assert clone.get_layer("scale").factor == 3.0
    with custom_object_scope({"Scale": Scale}):
        assert Functional.from_config(config).get_layer("scale").factor == 3.0
    save_model(model, tmp_path / "c.h5")
    x = np.ones((2, 3), "float32")
    restored = load_model(tmp_path / "c.h5", custom_objects={"Scale": Scale})
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))


def test_registered_custom_layer(tmp_path):
    @register_keras_serializable(package="saving_tests", name="Scaled")
    class Scaled(Scale):
        pass

    try:
        assert get_custom_objects()["saving_tests>Scaled"] is Scaled
        model = _custom_model(Scaled(0.5))
        config = model.get_config()
        assert config["layers"][1]["class_name"] == "saving_tests>Scaled"
        assert type(Functional.from_config(config).layers[1]) is Scaled
    finally:
        get_custom_objects().pop("saving_tests>Scaled", None)
    with pytest.raises(ValueError, match="Scaled"):
        Functional.from_config(config)


def test_register_rejects_classes_without_get_config():
    with pytest.raises(ValueError, match="get_config"):
        register_keras_serializable()(type("NoConfig", (), {}))
    with pytest.raises(ValueError, match="package"):
        register_keras_serializable(package="a>b")


def test_serialize_and_deserialize_objects():
    dense = layers.Dense(4, activation="relu", name="d")
    config = serialize_keras_object(dense)
    assert config["class_name"] == "Dense" and config["module"] == "keras.layers"
    assert config["registered_name"] is None
    clone = deserialize_keras_object(json.loads(json.dumps(config)))
    assert type(clone) is layers.Dense and clone.get_config() == dense.get_config()
    assert serialize_keras_object(np.float32(1.5)) == 1.5
    assert serialize_keras_object((1, [np.int64(2)])) == [1, [2]]

    def my_fn(x):
        return x

    assert serialize_keras_object(my_fn) == "my_fn"
    get_custom_objects()["my_fn"] = my_fn
    try:
        assert deserialize_keras_object("my_fn") is my_fn
    finally:
        del get_custom_objects()["my_fn"]
    with pytest.raises(ValueError, match="Unknown object: 'my_fn'"):
        deserialize_keras_object("my_fn")
    with pytest.raises(TypeError, match="Cannot serialize"):
        serialize_keras_object(object())


def test_keras3_layer_config_is_adapted():
    # a Dense config exactly as Keras 3.15 writes it
    config = {
        "class_name": "Dense", "config": {
            "name": "dense", "trainable": True,
            "dtype": {"module": "keras", "class_name": "DTypePolicy",
                      "config": {"name": "float32"}, "registered_name": None},
            "units": 3, "activation": "relu", "use_bias": True,
            "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                   "config": {"seed": 5, "input_axes": None,
                                              "output_axes": None},
                                   "registered_name": None},
            "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros",
                                 "config": {}, "registered_name": None},
            "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None,
            "bias_constraint": None, "quantization_config": None}}
    layer = deserialize_layer(config)
    assert (layer.units, layer.dtype, layer.kernel_initializer.seed) == (3, "float32", 5)
    config["config"]["quantization_config"] = {"mode": "int8"}
    with pytest.raises(ValueError, match="Layer 'dense' \\(Dense\\).*quantization_config"):
        deserialize_layer(config)


def test_tf_keras2_configs_are_adapted():
    bn = deserialize_layer({"class_name": "BatchNormalization", "config": {
        "name": "bn", "axis": [3], "momentum": 0.99, "epsilon": 0.001}})
    assert bn.axis == 3
    inp = deserialize_layer({"class_name": "InputLayer", "config": {
        "batch_input_shape": [None, 8], "dtype": "float32", "sparse": False, "ragged": False,
        "name": "input_1"}})
    assert inp.batch_shape == (None, 8)
    with pytest.raises(ValueError, match="renorm"):
        deserialize_layer({"class_name": "BatchNormalization", "config": {
            "name": "bn", "renorm": True}})


def halve_weights(w):
    return w * 0.5


def sum_of_squares(w):
    return ops.sum(w * w)


def constant_init(shape, dtype=None):
    return np.full(shape, 0.25, dtype=dtype or "float32")


def test_function_regularizer_constraint_and_initializer_round_trip_by_name(tmp_path):
    """Keras saves a plain function by its name and finds it again through custom_objects;
    without them the load fails naming the function instead of dropping it."""
    inputs = Input((3,))
    dense = layers.Dense(2, kernel_regularizer=sum_of_squares, kernel_constraint=halve_weights,
                         kernel_initializer=constant_init, name="d")
    model = Functional(inputs, dense(inputs))
    config = dense.get_config()
    assert (config["kernel_regularizer"], config["kernel_constraint"],
            config["kernel_initializer"]) == ("sum_of_squares", "halve_weights", "constant_init")
    model.save(tmp_path / "fn.h5")
    custom = {"sum_of_squares": sum_of_squares, "halve_weights": halve_weights,
              "constant_init": constant_init}
    restored = load_model(tmp_path / "fn.h5", custom_objects=custom).get_layer("d")
    assert restored.kernel_regularizer is sum_of_squares
    assert restored.kernel_constraint is halve_weights
    np.testing.assert_array_equal(restored.kernel.numpy(), dense.kernel.numpy())
    with pytest.raises(ValueError, match=r"Unknown initializer: 'constant_init'.*custom_objects"):
        load_model(tmp_path / "fn.h5")
