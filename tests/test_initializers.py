"""Initialisers: statistics against their definitions, seeds, lookup by name and errors."""

import math

import numpy as np
import pytest

import gkeras
from gkeras import initializers

# Large draws keep the sampling error of a variance near sqrt(2 / n) ~ 0.3 %, so the 3 %
# tolerances below are roughly ten standard errors while still catching a wrong formula.
BIG = (400, 500)
TRUNC_STD = 0.87962566103423978  # stddev of a unit normal truncated at +-2


def test_constants():
    np.testing.assert_array_equal(initializers.Zeros()((2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(initializers.Ones()((4,)), np.ones(4))
    value = initializers.Constant(2.5)((3, 2), dtype="float64")
    assert value.dtype == np.float64
    np.testing.assert_array_equal(value, 2.5)


def test_default_dtype_follows_floatx():
    assert initializers.GlorotUniform()((3, 3)).dtype == np.float32
    gkeras.config.set_floatx("float64")
    assert initializers.GlorotUniform()((3, 3)).dtype == np.float64
    assert initializers.Zeros()((2,)).dtype == np.float64


def test_random_normal_statistics():
    x = initializers.RandomNormal(mean=1.0, stddev=0.5)(BIG)
    assert abs(x.mean() - 1.0) < 5 * 0.5 / math.sqrt(x.size)
    np.testing.assert_allclose(x.std(), 0.5, rtol=0.03)
    assert initializers.RandomNormal().stddev == 0.05  # Keras default


def test_random_uniform_statistics():
    x = initializers.RandomUniform(minval=-1.0, maxval=3.0)(BIG)
    assert x.min() >= -1.0 and x.max() < 3.0
    assert x.min() < -0.99 and x.max() > 2.99
    np.testing.assert_allclose(x.var(), 4.0 ** 2 / 12, rtol=0.03)
    default = initializers.RandomUniform()
    assert (default.minval, default.maxval) == (-0.05, 0.05)


def test_truncated_normal_statistics():
    x = initializers.TruncatedNormal(mean=-2.0, stddev=0.3)(BIG)
    assert np.all(np.abs(x + 2.0) <= 2 * 0.3 + 1e-6)
    np.testing.assert_allclose(x.std(), 0.3 * TRUNC_STD, rtol=0.03)
    assert abs(x.mean() + 2.0) < 0.01


def _fans(shape):
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


@pytest.mark.parametrize("shape", [(300, 200), (3, 3, 40, 60)])
@pytest.mark.parametrize("name, mode, scale, uniform", [
    ("glorot_uniform", "avg", 1.0, True), ("glorot_normal", "avg", 1.0, False),
    ("he_uniform", "in", 2.0, True), ("he_normal", "in", 2.0, False),
    ("lecun_uniform", "in", 1.0, True), ("lecun_normal", "in", 1.0, False),
])
def test_variance_scaling_family(shape, name, mode, scale, uniform):
    fan_in, fan_out = _fans(shape)
    n = (fan_in + fan_out) / 2 if mode == "avg" else fan_in
    variance = scale / n
    x = initializers.get(name)(shape)
    assert x.shape == shape
    if uniform:
        limit = math.sqrt(3 * variance)  # glorot_uniform: sqrt(6 / (fan_in + fan_out))
        assert np.abs(x).max() <= limit and np.abs(x).max() > 0.99 * limit
    else:
        # a normal truncated at 2 stddev, rescaled so the variance is the target one
        assert np.abs(x).max() <= 2 * math.sqrt(variance) / TRUNC_STD + 1e-7
    np.testing.assert_allclose(x.var(), variance, rtol=0.03)
    assert abs(x.mean()) < 6 * math.sqrt(variance / x.size)


def test_variance_scaling_modes_and_distributions():
    shape = (200, 800)
    x = initializers.VarianceScaling(3.0, "fan_out", "untruncated_normal")(shape)
    np.testing.assert_allclose(x.var(), 3.0 / 800, rtol=0.03)
    assert np.abs(x).max() > 2.5 * math.sqrt(3.0 / 800)  # not truncated
    normal = initializers.VarianceScaling(distribution="normal")(shape)  # truncated alias
    assert np.abs(normal).max() <= 2 * math.sqrt(1 / 200) / TRUNC_STD + 1e-7


@pytest.mark.parametrize("kwargs, match", [
    ({"mode": "fan_sum"}, r"mode.*fan_in"),
    ({"distribution": "cauchy"}, r"distribution.*uniform"),
    ({"scale": 0.0}, "scale"),
])
def test_variance_scaling_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        initializers.VarianceScaling(**kwargs)


@pytest.mark.parametrize("shape", [(64, 32), (32, 64), (40, 40), (3, 3, 4, 8)])
def test_orthogonal(shape):
    gain = 1.5
    w = initializers.Orthogonal(gain=gain)(shape, dtype="float64")
    assert w.shape == shape
    flat = w.reshape(-1, shape[-1]) / gain
    rows, cols = flat.shape
    if rows >= cols:
        np.testing.assert_allclose(flat.T @ flat, np.eye(cols), atol=1e-10)
    else:
        np.testing.assert_allclose(flat @ flat.T, np.eye(rows), atol=1e-10)


def test_orthogonal_rejects_vectors():
    with pytest.raises(ValueError, match="rank >= 2"):
        initializers.Orthogonal()((5,))


def test_identity():
    np.testing.assert_array_equal(initializers.Identity(gain=2.0)((3, 4)), 2.0 * np.eye(3, 4))
    with pytest.raises(ValueError, match="2D"):
        initializers.get("identity")((2, 2, 2))


def test_seeded_initializer_repeats_and_differs_by_seed():
    a = initializers.GlorotUniform(seed=3)((5, 4))
    np.testing.assert_array_equal(a, initializers.GlorotUniform(seed=3)((5, 4)))
    assert np.any(a != initializers.GlorotUniform(seed=4)((5, 4)))
    init = initializers.RandomNormal(seed=11)
    np.testing.assert_array_equal(init((3,)), init((3,)))  # Keras 3: seeded draws repeat


def test_unseeded_draws_follow_the_global_seed():
    gkeras.random.set_seed(123)
    first = initializers.HeNormal()((4, 4))
    second = initializers.HeNormal()((4, 4))
    assert np.any(first != second)
    gkeras.random.set_seed(123)
    np.testing.assert_array_equal(initializers.HeNormal()((4, 4)), first)


@pytest.mark.parametrize("identifier, cls", [
    ("glorot_uniform", initializers.GlorotUniform), ("GlorotUniform", initializers.GlorotUniform),
    ("he_normal", initializers.HeNormal), ("zeros", initializers.Zeros),
    ("ones", initializers.Ones), ("uniform", initializers.RandomUniform),
    ("normal", initializers.RandomNormal), ("random_uniform", initializers.RandomUniform),
    ("truncated_normal", initializers.TruncatedNormal), ("orthogonal", initializers.Orthogonal),
    ("one", initializers.Ones), ("zero", initializers.Zeros),
    ("identity", initializers.Identity), ("VarianceScaling", initializers.VarianceScaling),
    (initializers.LecunUniform, initializers.LecunUniform),
])
def test_get_by_name_and_class(identifier, cls):
    assert type(initializers.get(identifier)) is cls


def test_get_passes_callables_and_none_through():
    def fn(shape, dtype=None):
        return np.full(shape, 7.0)

    assert initializers.get(fn) is fn
    assert initializers.get(None) is None
    instance = initializers.Constant(3.0)
    assert initializers.get(instance) is instance


def test_get_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"Unknown initializer: 'glorot'.*glorot_uniform.*zeros"):
        initializers.get("glorot")
    with pytest.raises(ValueError, match="Could not interpret"):
        initializers.get(3.5)
    with pytest.raises(ValueError, match="Unknown initializer class"):
        initializers.get({"class_name": "Nope", "config": {}})


@pytest.mark.parametrize("init", [
    initializers.Constant(0.5), initializers.RandomNormal(0.1, 0.2, seed=1),
    initializers.RandomUniform(-0.3, 0.4, seed=2), initializers.TruncatedNormal(0.0, 0.7),
    initializers.VarianceScaling(2.0, "fan_out", "uniform", seed=5),
    initializers.GlorotNormal(seed=9), initializers.Orthogonal(gain=0.5, seed=1),
    initializers.Identity(gain=3.0),
])
def test_serialize_round_trip(init):
    config = initializers.serialize(init)
    assert config["class_name"] == type(init).__name__
    clone = initializers.get(config)
    assert type(clone) is type(init) and clone.get_config() == init.get_config()
    if getattr(init, "seed", None) is not None:
        np.testing.assert_array_equal(clone((6, 5)), init((6, 5)))


def test_keras_315_input_and_output_axes_set_the_fans():
    # Keras 3.15 writes input_axes / output_axes (EinsumDense kernels); a (64, 4, 8) kernel
    # with inputs on axis 0 has fan_in 64 and fan_out 32: glorot's limit sqrt(6 / 96) = 0.25
    init = initializers.GlorotUniform(seed=3, input_axes=[0], output_axes=[1, 2])
    values = init((64, 4, 8))
    assert 0.24 < np.abs(values).max() <= 0.25
    again = initializers.get({"class_name": "GlorotUniform", "config": init.get_config()})
    np.testing.assert_array_equal(again((64, 4, 8)), values)
    assert initializers.GlorotUniform(seed=3).get_config() == {"seed": 3}  # Keras 3.8 style
