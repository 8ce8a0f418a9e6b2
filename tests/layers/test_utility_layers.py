"""Lambda, Permute, Rescaling and Identity: harness runs, NumPy references, saving rules."""

import json

import numpy as np
import pytest
from helpers import check_gradients

import gkeras
from gkeras import layers, ops
from gkeras.layers.utility import Identity, Lambda, Permute, Rescaling

from .harness import run_layer_test


# Named module-level functions: Lambda stores them by name and finds them again here.
def cube_plus_sin(x):
    return ops.add(ops.power(x, 3), ops.sin(x))


def scaled_sum(x, factor=1.0):
    return ops.multiply(ops.sum(x, axis=-1, keepdims=True), factor)


def halve_shape(input_shape):
    return (input_shape[0], input_shape[1] // 2)


def first_half(x):
    return ops.get_item(x, (slice(None), slice(0, x.shape[1] // 2)))


def keep_previous_mask(inputs, previous_mask):
    return previous_mask


# ------------------------------------------------------------------------ Lambda
@pytest.mark.parametrize("kwargs, in_shape, out_shape", [
    ({"function": cube_plus_sin}, (2, 3, 4), (2, 3, 4)),
    ({"function": scaled_sum, "arguments": {"factor": 2.5}}, (3, 5), (3, 1)),
    ({"function": first_half, "output_shape": halve_shape}, (2, 6), (2, 3)),
    ({"function": first_half, "output_shape": (2,)}, (2, 4), (2, 2)),
])
def test_lambda_harness(bk, kwargs, in_shape, out_shape):
    run_layer_test(Lambda, kwargs, input_shape=in_shape, expected_output_shape=out_shape)


def test_lambda_matches_numpy(bk, rng):
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(Lambda(cube_plus_sin)(x.astype("float32")).numpy(),
                               x ** 3 + np.sin(x), rtol=1e-5)
    out = Lambda(scaled_sum, arguments={"factor": -3.0})(x.astype("float32")).numpy()
    np.testing.assert_allclose(out, -3.0 * x.sum(-1, keepdims=True), rtol=1e-5)


def test_lambda_gradients(bk, rng):
    layer = Lambda(cube_plus_sin, dtype="float64")
    check_gradients(lambda x: layer(x), rng.standard_normal((2, 3)), bk=bk)


def test_lambda_output_shapes_symbolic():
    assert Lambda(scaled_sum)(gkeras.Input((None, 7))).shape == (None, None, 1)
    assert Lambda(first_half, output_shape=(None,))(gkeras.Input((8,))).shape == (None, None)
    assert Lambda(first_half, output_shape=halve_shape)(gkeras.Input((8,))).shape == (None, 4)
    # an inferred output keeps the function's dtype
    out = Lambda(ops.argmax, arguments={"axis": -1})(gkeras.Input((5,)))
    assert out.shape == (None,) and np.dtype(out.dtype).kind == "i"


def test_lambda_config_stores_function_by_name_and_loads_it_from_custom_objects():
    def local_double(x):
        return ops.multiply(x, 2.0)

    layer = Lambda(local_double, output_shape=(3,), name="lam")
    config = json.loads(json.dumps(layer.get_config()))
    assert config["function"]["config"] == "local_double"
    assert config["function"]["class_name"] == "function"
    with pytest.raises(ValueError, match=r"'lam'.*cannot find.*'local_double'.*custom_objects"):
        Lambda.from_config(config)
    clone = Lambda.from_config(config, custom_objects={"local_double": local_double})
    assert clone.function is local_double and clone.get_config() == layer.get_config()
    with gkeras.saving.custom_object_scope({"local_double": local_double}):
        assert Lambda.from_config(config).function is local_double


def test_lambda_registered_function_round_trip(bk):
    @gkeras.saving.register_keras_serializable(package="gk_test_utility")
    def registered_triple(x):
        return ops.multiply(x, 3.0)

    config = Lambda(registered_triple).get_config()
    assert config["function"]["config"] == "gk_test_utility>registered_triple"
    clone = Lambda.from_config(json.loads(json.dumps(config)))
    np.testing.assert_allclose(clone(np.ones((1, 2), "float32")).numpy(), [[3.0, 3.0]])


def test_lambda_refuses_to_serialize_a_lambda_and_to_load_bytecode():
    layer = Lambda(lambda x: x * 2, name="anon")
    assert layer(np.ones((1, 2), "float32")).numpy().tolist() == [[2.0, 2.0]]
    with pytest.raises(ValueError, match=r"'anon'.*lambda.*bytecode.*def"):
        layer.get_config()
    keras_config = {"name": "k", "function": {"class_name": "__lambda__",
                                              "config": {"code": "4wEAAAA=", "defaults": None,
                                                         "closure": None}}}
    with pytest.raises(ValueError, match=r"'k'.*bytecode.*does not load"):
        Lambda.from_config(keras_config)


def test_lambda_rejects_bad_arguments():
    with pytest.raises(TypeError, match=r"'l1'.*`function` must be callable.*int"):
        Lambda(3, name="l1")
    with pytest.raises(TypeError, match=r"'l2'.*`output_shape`.*tuple"):
        Lambda(first_half, output_shape=3, name="l2")
    with pytest.raises(TypeError, match=r"'l3'.*`arguments` must be a dict"):
        Lambda(scaled_sum, arguments=[2.0], name="l3")


def test_lambda_masks(bk):
    tokens = np.array([[1, 2, 0], [3, 0, 0]])
    embedded = layers.Embedding(5, 2, mask_zero=True)(tokens)
    assert Lambda(cube_plus_sin)(embedded)._keras_mask is None  # no mask argument: dropped
    kept = Lambda(cube_plus_sin, mask=keep_previous_mask)(embedded)
    np.testing.assert_array_equal(kept._keras_mask, tokens != 0)
    config = Lambda(cube_plus_sin, mask=keep_previous_mask).get_config()
    assert Lambda.from_config(config).mask is keep_previous_mask


# ----------------------------------------------------------------------- Permute
@pytest.mark.parametrize("dims, in_shape, out_shape", [
    ((2, 1), (2, 3, 4), (2, 4, 3)),
    ((3, 1, 2), (2, 3, 4, 5), (2, 5, 3, 4)),
    ((1,), (3, 4), (3, 4)),
])
def test_permute_harness(bk, dims, in_shape, out_shape):
    run_layer_test(Permute, {"dims": dims}, input_shape=in_shape, expected_output_shape=out_shape)


@pytest.mark.parametrize("dims", [(2, 1, 3), (3, 2, 1), (2, 3, 1)])
def test_permute_matches_numpy(bk, rng, dims):
    x = rng.standard_normal((2, 3, 4, 5)).astype("float32")
    np.testing.assert_array_equal(Permute(dims)(x).numpy(), np.transpose(x, (0,) + dims))
    assert Permute(dims).get_config()["dims"] == dims


def test_permute_symbolic_and_errors():
    assert Permute((2, 1))(gkeras.Input((None, 6))).shape == (None, 6, None)
    with pytest.raises(ValueError, match=r"'p'.*consecutive and start from 1.*\(1, 3\)"):
        Permute((1, 3), name="p")
    with pytest.raises(ValueError, match=r"'p2'.*consecutive"):
        Permute((0, 1), name="p2")
    with pytest.raises(ValueError, match=r"'p3'.*expected ndim=3, found ndim=4"):
        Permute((2, 1), name="p3")(np.zeros((1, 2, 3, 4), "float32"))


# --------------------------------------------------------------------- Rescaling
@pytest.mark.parametrize("kwargs", [{"scale": 1 / 255}, {"scale": [0.5, -2.0, 3.0],
                                                         "offset": [1.0, 0.0, -1.0]}])
def test_rescaling_harness(bk, kwargs):
    run_layer_test(Rescaling, kwargs, input_shape=(2, 4, 3), expected_output_shape=(2, 4, 3))


@pytest.mark.parametrize("scale, offset", [(1 / 127.5, -1.0), ([2.0, 0.5], [0.0, 3.0])])
def test_rescaling_matches_numpy_and_casts_integers(bk, rng, scale, offset):
    x = rng.integers(0, 256, size=(3, 5, 2)).astype("uint8")
    out = Rescaling(scale, offset)(x)
    assert out.dtype == np.float32
    expected = x.astype("float64") * np.asarray(scale) + np.asarray(offset)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6, atol=1e-6)


def test_rescaling_keeps_masks_config_and_errors(bk):
    tokens = np.array([[1, 0], [2, 3]])
    embedded = layers.Embedding(5, 2, mask_zero=True)(tokens)
    np.testing.assert_array_equal(Rescaling(2.0)(embedded)._keras_mask, tokens != 0)
    assert Rescaling(0.5)(gkeras.Input((None, 3))).shape == (None, None, 3)
    config = Rescaling([1.0, 2.0], 0.5).get_config()
    assert (config["scale"], config["offset"]) == ([1.0, 2.0], 0.5)
    with pytest.raises(ValueError, match=r"'r'.*`scale`.*Received: scale='big'"):
        Rescaling("big", name="r")
    with pytest.raises(ValueError, match=r"'r2'.*`offset`.*finite"):
        Rescaling(1.0, float("nan"), name="r2")


# ---------------------------------------------------------------------- Identity
@pytest.mark.parametrize("in_shape", [(2, 3), (2, 3, 4)])
def test_identity_harness(bk, in_shape):
    run_layer_test(Identity, {}, input_shape=in_shape, expected_output_shape=in_shape)


def test_identity_values_mask_and_symbolic(bk, rng):
    x = rng.standard_normal((2, 3)).astype("float32")
    np.testing.assert_array_equal(Identity()(x).numpy(), x)
    tokens = np.array([[1, 0], [2, 3]])
    embedded = layers.Embedding(5, 2, mask_zero=True)(tokens)
    np.testing.assert_array_equal(Identity()(embedded)._keras_mask, tokens != 0)
    assert Identity()(gkeras.Input((None, 4))).shape == (None, None, 4)


def test_utility_layers_in_a_functional_model(bk, rng):
    inputs = gkeras.Input((4, 3), dtype="uint8")
    x = Rescaling(1 / 255.0)(inputs)
    x = Permute((2, 1))(x)
    x = Lambda(cube_plus_sin)(x)
    outputs = Identity()(x)
    model = gkeras.Model(inputs, outputs)
    assert model.output_shape == (None, 3, 4)
    data = rng.integers(0, 256, size=(2, 4, 3)).astype("uint8")
    t = np.transpose(data / 255.0, (0, 2, 1))
    np.testing.assert_allclose(model(data).numpy(), t ** 3 + np.sin(t), rtol=1e-5, atol=1e-6)
