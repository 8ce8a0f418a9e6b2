"""Embedding: harness runs, lookup reference, gradients into the looked-up rows, bad input."""

import numpy as np
import pytest
from helpers import to_host

import gkeras
from gkeras import layers, ops

from .harness import run_layer_test


@pytest.mark.parametrize("kwargs, n_losses", [
    ({"input_dim": 10, "output_dim": 4}, 0),
    ({"input_dim": 10, "output_dim": 3, "embeddings_initializer": "random_normal",
      "embeddings_regularizer": "l2", "activity_regularizer": "l1",
      "embeddings_constraint": "unit_norm"}, 2),
    ({"input_dim": 10, "output_dim": 2, "mask_zero": True}, 0),
])
@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_embedding_harness(bk, kwargs, n_losses, dtype):
    run_layer_test(layers.Embedding, kwargs, input_shape=(4, 6), input_dtype=dtype,
                   expected_output_shape=(4, 6, kwargs["output_dim"]),
                   expected_num_trainable_weights=1, expected_num_losses=n_losses)


def test_embedding_default_initializer_is_uniform_005(bk):
    layer = layers.Embedding(200, 50, name="emb")
    layer(np.zeros((1, 1), "int32"))
    assert [w.path for w in layer.weights] == ["emb/embeddings"]
    table = layer.embeddings.numpy()
    assert table.shape == (200, 50)
    assert np.abs(table).max() <= 0.05
    # uniform on [-0.05, 0.05]: variance 0.05^2 / 3; 10000 draws make 10% tolerance ample
    np.testing.assert_allclose(table.var(), 0.05 ** 2 / 3, rtol=0.1)
    config = layer.get_config()
    assert config["embeddings_initializer"]["class_name"] == "RandomUniform"
    assert config["input_dim"] == 200 and config["output_dim"] == 50
    assert config["mask_zero"] is False


def test_embedding_lookup_matches_numpy(bk, rng):
    table = rng.standard_normal((7, 3)).astype("float32")
    layer = layers.Embedding(7, 3, weights=[table])
    ids = rng.integers(0, 7, size=(2, 4, 5))
    np.testing.assert_array_equal(layer(ids).numpy(), table[ids])
    # a bare array is accepted for `weights` too
    np.testing.assert_array_equal(layers.Embedding(7, 3, weights=table)(ids).numpy(),
                                  table[ids])


def test_embedding_gradient_accumulates_repeated_ids(bk, rng):
    layer = layers.Embedding(5, 2)
    ids = np.array([[1, 3, 1], [1, 4, 0]])
    v = rng.standard_normal((2, 3, 2)).astype("float32")
    ops.sum(ops.multiply(layer(ids), v)).backward()
    expected = np.zeros((5, 2), np.float64)
    np.add.at(expected, ids.ravel(), v.reshape(-1, 2))
    np.testing.assert_allclose(to_host(layer.embeddings.grad), expected, rtol=1e-6)


def test_embedding_mask(bk):
    layer = layers.Embedding(5, 2, mask_zero=True)
    ids = np.array([[0, 2, 0], [3, 0, 1]])
    np.testing.assert_array_equal(layer.compute_mask(ops.convert_to_tensor(ids)).numpy(),
                                  ids != 0)
    assert layers.Embedding(5, 2).compute_mask(ops.convert_to_tensor(ids)) is None


def test_embedding_float_ids_are_cast(bk):
    table = np.arange(12, dtype="float32").reshape(4, 3)
    layer = layers.Embedding(4, 3, weights=[table])
    np.testing.assert_array_equal(layer(np.array([[2.0, 3.0]])).numpy(), table[[[2, 3]]])


def test_embedding_symbolic():
    y = layers.Embedding(100, 8)(gkeras.Input((12,), dtype="int32"))
    assert y.shape == (None, 12, 8) and y.dtype == "float32"


@pytest.mark.parametrize("input_dim, output_dim", [(0, 3), (5, -1), (2.5, 3), (None, 4)])
def test_embedding_rejects_bad_sizes(input_dim, output_dim):
    with pytest.raises(ValueError, match=r"input_dim.*output_dim.*positive"):
        layers.Embedding(input_dim, output_dim)


def test_embedding_wrong_weights_shape_is_rejected():
    with pytest.raises(ValueError, match=r"shape \(4, 3\).*\(3, 4\)"):
        layers.Embedding(4, 3, weights=[np.zeros((3, 4))])


def test_embedding_input_length_is_deprecated():
    with pytest.warns(UserWarning, match="input_length"):
        layer = layers.Embedding(4, 2, input_length=3)
    assert layer.output_dim == 2
