"""Pooling layers: harness runs, NumPy references, aliases and bad input."""

import numpy as np
import pytest

import gkeras
from gkeras import layers

from .harness import run_layer_test


def pool_reference(x, pool, strides, padding, kind):
    """Max / average pooling in float64; 'same' windows average over real pixels only."""
    x = x.astype(np.float64)
    n, h, w, c = x.shape
    (kh, kw), (sh, sw) = pool, strides
    if padding == "same":
        oh, ow = -(-h // sh), -(-w // sw)
        top = max((oh - 1) * sh + kh - h, 0) // 2
        left = max((ow - 1) * sw + kw - w, 0) // 2
    else:
        oh, ow, top, left = (h - kh) // sh + 1, (w - kw) // sw + 1, 0, 0
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * sh - top, j * sw - left
            window = x[:, max(r0, 0):min(r0 + kh, h), max(c0, 0):min(c0 + kw, w), :]
            reduce = np.max if kind == "max" else np.mean
            out[:, i, j, :] = reduce(window, axis=(1, 2))
    return out


POOL_CASES = [
    ({}, (2, 6, 6, 3), (2, 3, 3, 3)),
    ({"pool_size": 3, "strides": 2}, (2, 7, 8, 2), (2, 3, 3, 2)),
    ({"pool_size": (2, 3), "padding": "same"}, (2, 5, 7, 2), (2, 3, 3, 2)),
    ({"pool_size": 3, "strides": 1, "padding": "same"}, (1, 4, 5, 3), (1, 4, 5, 3)),
]


@pytest.mark.parametrize("cls", [layers.MaxPooling2D, layers.AveragePooling2D])
@pytest.mark.parametrize("kwargs, in_shape, out_shape", POOL_CASES)
def test_pooling_harness(bk, cls, kwargs, in_shape, out_shape):
    run_layer_test(cls, kwargs, input_shape=in_shape, expected_output_shape=out_shape)


@pytest.mark.parametrize("cls, kind", [(layers.MaxPooling2D, "max"),
                                       (layers.AveragePooling2D, "avg")])
@pytest.mark.parametrize("kwargs", [
    {}, {"pool_size": 3}, {"pool_size": 3, "strides": 2}, {"pool_size": (2, 3), "strides": 1},
    {"pool_size": 3, "strides": 2, "padding": "same"}, {"pool_size": (3, 2), "padding": "same"},
])
def test_pooling_matches_numpy(bk, rng, cls, kind, kwargs):
    x = rng.standard_normal((2, 7, 6, 3)).astype("float32")
    layer = cls(**kwargs)
    y = layer(x).numpy()
    expected = pool_reference(x, layer.pool_size, layer.strides, layer.padding, kind)
    assert y.shape == expected.shape == layer.compute_output_shape(x.shape)
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("cls", [layers.GlobalAveragePooling2D, layers.GlobalMaxPooling2D])
@pytest.mark.parametrize("keepdims, out_shape", [(False, (2, 3)), (True, (2, 1, 1, 3))])
def test_global_pooling_harness(bk, cls, keepdims, out_shape):
    run_layer_test(cls, {"keepdims": keepdims}, input_shape=(2, 4, 5, 3),
                   expected_output_shape=out_shape)


def test_global_pooling_matches_numpy(bk, rng):
    x = rng.standard_normal((3, 4, 5, 2)).astype("float32")
    np.testing.assert_allclose(layers.GlobalAveragePooling2D()(x).numpy(), x.mean(axis=(1, 2)),
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(layers.GlobalMaxPooling2D(keepdims=True)(x).numpy(),
                               x.max(axis=(1, 2), keepdims=True))


def test_keras_defaults_and_aliases():
    layer = layers.MaxPooling2D()
    assert layer.pool_size == (2, 2) and layer.strides == (2, 2) and layer.padding == "valid"
    assert layers.AveragePooling2D(3, strides=1).strides == (1, 1)
    assert layers.MaxPool2D is layers.MaxPooling2D
    assert layers.AvgPool2D is layers.AveragePooling2D
    assert layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D
    assert layers.GlobalMaxPool2D is layers.GlobalMaxPooling2D
    config = layers.AveragePooling2D((3, 2), padding="same").get_config()
    assert config["pool_size"] == (3, 2) and config["strides"] == (3, 2)
    assert config["padding"] == "same" and config["data_format"] == "channels_last"


def test_pooling_symbolic_shapes():
    x = gkeras.Input((32, 32, 3))
    y = layers.MaxPooling2D()(x)
    z = layers.AveragePooling2D(3, strides=2, padding="same")(y)
    g = layers.GlobalAveragePooling2D()(z)
    assert y.shape == (None, 16, 16, 3) and z.shape == (None, 8, 8, 3) and g.shape == (None, 3)


@pytest.mark.parametrize("cls", [layers.MaxPooling2D, layers.AveragePooling2D])
@pytest.mark.parametrize("kwargs, match", [
    ({"pool_size": 0}, "pool_size"),
    ({"pool_size": (2, 2, 2)}, "pool_size"),
    ({"strides": -1}, "strides"),
    ({"padding": "full"}, "padding"),
    ({"data_format": "channels_first"}, "channels_last"),
])
def test_pooling_rejects_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


@pytest.mark.parametrize("cls", [layers.MaxPooling2D, layers.AveragePooling2D,
                                 layers.GlobalAveragePooling2D, layers.GlobalMaxPooling2D])
def test_pooling_wrong_rank_names_layer(bk, cls):
    with pytest.raises(ValueError, match=r"probe.*ndim=4.*ndim=3.*\(2, 6, 3\)"):
        cls(name="probe")(np.zeros((2, 6, 3), "float32"))


def test_pool_larger_than_input_names_layer_and_shape(bk):
    with pytest.raises(ValueError, match=r"tiny.*pool height 3.*input height 2.*\(1, 2, 5, 1\)"):
        layers.MaxPooling2D(3, name="tiny")(np.zeros((1, 2, 5, 1), "float32"))
