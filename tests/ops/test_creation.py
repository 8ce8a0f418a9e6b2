"""Creation ops: values, dtypes (floatx by default), placement, and bad arguments."""

import numpy as np
import pytest

import gkeras
from gkeras import ops
from gkeras.autodiff import Tensor
from gkeras.backend import backend_of

SHAPES = [(), (3,), (2, 3), (2, 0, 4)]


def on(bk, t):
    assert isinstance(t, Tensor) and not t.requires_grad
    assert backend_of(t.data) is bk
    return t.numpy()


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_ones_zeros_full(bk, shape):
    for fn, value in ((ops.ones, 1.0), (ops.zeros, 0.0)):
        out = fn(shape)
        assert out.dtype == np.float32 and out.shape == shape
        np.testing.assert_array_equal(on(bk, out), np.full(shape, value, np.float32))
        assert fn(shape, dtype="int64").dtype == np.int64
    out = ops.full(shape, 2.5)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(on(bk, out), np.full(shape, 2.5))
    assert ops.full(shape, 7, dtype="int32").dtype == np.int32


def test_floatx_is_the_default(bk):
    gkeras.config.set_floatx("float64")
    for out in (ops.ones(2), ops.zeros((1, 2)), ops.full(3, 1), ops.eye(2), ops.identity(3),
                ops.arange(0.0, 1.0, 0.5)):
        assert out.dtype == np.float64


def test_int_shape_and_array_fill(bk):
    assert ops.ones(4).shape == (4,)
    row = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(on(bk, ops.full((2, 3), row)), np.tile(row, (2, 1)))
    with pytest.raises(ValueError, match="does not broadcast"):
        ops.full((2, 4), row)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_like_forms_keep_shape_and_dtype(bk, rng, shape):
    x = Tensor(bk.asarray(rng.standard_normal(shape)))
    for fn, value in ((ops.ones_like, 1.0), (ops.zeros_like, 0.0)):
        out = fn(x)
        assert out.dtype == np.float64 and out.shape == shape
        np.testing.assert_array_equal(on(bk, out), np.full(shape, value))
        assert fn(x, dtype="int8").dtype == np.int8
    out = ops.full_like(x, -3.0)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(on(bk, out), np.full(shape, -3.0))
    ints = ops.full_like(np.zeros(shape, dtype=np.int32), 5)
    assert ints.dtype == np.int32


@pytest.mark.parametrize(
    "args, expected",
    [
        ((5,), np.arange(5, dtype=np.int32)),
        ((2, 9, 3), np.arange(2, 9, 3, dtype=np.int32)),
        ((3, -2, -2), np.arange(3, -2, -2, dtype=np.int32)),
        ((0.0, 1.0, 0.25), np.arange(0, 1, 0.25, dtype=np.float32)),
        ((4, 0), np.zeros(0, dtype=np.int32)),
    ],
    ids=str,
)
def test_arange_matches_numpy_with_keras_dtypes(bk, args, expected):
    out = ops.arange(*args)
    assert out.dtype == expected.dtype
    np.testing.assert_array_equal(on(bk, out), expected)


def test_arange_dtype_and_errors(bk):
    assert ops.arange(3, dtype="float64").dtype == np.float64
    assert ops.arange(1, 2.5).dtype == np.float32  # a float bound makes it floatx
    with pytest.raises(ValueError, match="step must not be 0"):
        ops.arange(0, 5, 0)
    with pytest.raises(TypeError, match="expected int or float bounds"):
        ops.arange("5")


@pytest.mark.parametrize("n, m, k", [(3, None, 0), (2, 4, 1), (4, 3, -2), (3, 3, 5), (1, 1, 0)])
def test_eye(bk, n, m, k):
    out = ops.eye(n, m, k)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(on(bk, out), np.eye(n, m, k))
    assert ops.eye(n, m, k, dtype="int32").dtype == np.int32


def test_identity(bk):
    np.testing.assert_array_equal(on(bk, ops.identity(3)), np.eye(3))
    assert ops.identity(0).shape == (0, 0)


def test_bad_shapes_and_dtypes():
    with pytest.raises(ValueError, match="non-negative ints"):
        ops.ones((2, -1))
    with pytest.raises(ValueError, match="non-negative ints"):
        ops.zeros((2.5,))
    with pytest.raises(TypeError, match="expected a shape"):
        ops.zeros(None)
    with pytest.raises(TypeError, match="expected a dtype"):
        ops.ones(2, dtype="floaty")
    with pytest.raises(ValueError, match="non-negative ints"):
        ops.eye(-1)
    with pytest.raises(TypeError, match="diagonal offset"):
        ops.eye(2, k=0.5)


def test_full_like_with_array_fill(bk, rng):
    x = Tensor(bk.asarray(rng.standard_normal((2, 3))))
    col = np.array([[1.0], [2.0]])
    np.testing.assert_array_equal(on(bk, ops.full_like(x, col)), np.broadcast_to(col, (2, 3)))
    with pytest.raises(ValueError, match="full_like: fill_value of shape"):
        ops.full_like(x, np.ones(4))
