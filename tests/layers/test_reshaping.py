"""Flatten and Reshape: harness runs, NumPy references and bad input."""

import numpy as np
import pytest

import gkeras
from gkeras import layers

from .harness import run_layer_test


@pytest.mark.parametrize("in_shape, out_shape", [
    ((2, 3, 4), (2, 12)), ((3, 2, 2, 5), (3, 20)), ((4, 6), (4, 6)), ((5,), (5, 1)),
])
def test_flatten_harness(bk, in_shape, out_shape):
    run_layer_test(layers.Flatten, {}, input_shape=in_shape, expected_output_shape=out_shape)


def test_flatten_matches_numpy_row_major(bk, rng):
    x = rng.standard_normal((3, 4, 2, 5)).astype("float32")
    np.testing.assert_array_equal(layers.Flatten()(x).numpy(), x.reshape(3, -1))


def test_flatten_symbolic_and_compute_output_shape():
    assert layers.Flatten()(gkeras.Input((7, 7, 16))).shape == (None, 784)
    assert layers.Flatten().compute_output_shape((None, None, 3)) == (None, None)


@pytest.mark.parametrize("target, in_shape, out_shape", [
    ((3, 4), (2, 12), (2, 3, 4)),
    ((-1, 2), (2, 3, 4), (2, 6, 2)),
    ((4, -1), (2, 3, 4), (2, 4, 3)),
    ((24,), (2, 2, 3, 4), (2, 24)),
])
def test_reshape_harness(bk, target, in_shape, out_shape):
    run_layer_test(layers.Reshape, {"target_shape": target}, input_shape=in_shape,
                   expected_output_shape=out_shape)


def test_reshape_matches_numpy(bk, rng):
    x = rng.standard_normal((2, 6, 4)).astype("float32")
    np.testing.assert_array_equal(layers.Reshape((3, -1, 2))(x).numpy(), x.reshape(2, 3, 4, 2))


def test_reshape_symbolic_and_compute_output_shape():
    assert layers.Reshape((-1, 3))(gkeras.Input((4, 6))).shape == (None, 8, 3)
    assert layers.Reshape((2, -1)).compute_output_shape((None, 10)) == (None, 2, 5)
    assert layers.Reshape((2, -1)).compute_output_shape((None, None)) == (None, 2, None)
    assert layers.Reshape((2, 5)).get_config()["target_shape"] == (2, 5)


@pytest.mark.parametrize("target", [(-1, -1), (0, 3), (-2, 3), "3x4", (2.0, 3), None])
def test_reshape_rejects_bad_target_shape(target):
    with pytest.raises(ValueError, match="target_shape"):
        layers.Reshape(target)


@pytest.mark.parametrize("target", [(5,), (5, -1)])
def test_reshape_incompatible_size_names_layer_and_shapes(bk, target):
    layer = layers.Reshape(target, name="resh")
    with pytest.raises(ValueError, match=r"resh.*\(2, 3, 4\).*12 values.*target_shape"):
        layer(np.zeros((2, 3, 4), "float32"))
