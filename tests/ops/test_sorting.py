"""sort, argsort, top_k, take_along_axis: values vs NumPy, gradients, ties, bad arguments."""

import numpy as np
import pytest
from helpers import assert_close, check_gradients, to_host

from gkeras import ops
from gkeras.autodiff import Tensor, Variable


def tensor(bk, array):
    return Tensor(bk.asarray(np.asarray(array)))


def distinct(rng, shape):
    # distinct non-zero values, so the sorting permutation is unique and differentiable
    n = int(np.prod(shape))
    return (rng.permutation(n) + 1.0).reshape(shape) * 0.37 * rng.choice([-1, 1])


AXES = [((6,), -1), ((3, 5), -1), ((3, 5), 0), ((2, 3, 4), 1), ((2, 3), None)]


@pytest.mark.parametrize("shape, axis", AXES, ids=str)
def test_sort_and_argsort(bk, rng, shape, axis):
    x = distinct(rng, shape)
    out = ops.sort(tensor(bk, x), axis=axis)
    assert_close(out, np.sort(x, axis=axis), rtol=0, atol=0)
    order = ops.argsort(tensor(bk, x), axis=axis)
    assert order.dtype.kind == "i" and not order.requires_grad
    np.testing.assert_array_equal(order.numpy(), np.argsort(x, axis=axis))
    check_gradients(lambda t: ops.sort(t, axis=axis), x, bk=bk)


def test_argsort_is_stable_and_sort_gradient_follows_values(bk):
    x = np.array([3.0, 1.0, 3.0, 1.0, 2.0])
    np.testing.assert_array_equal(ops.argsort(tensor(bk, x)).numpy(), [1, 3, 4, 0, 2])
    v = Variable(bk.asarray(np.array([0.5, -2.0, 1.5])))
    weights = np.array([10.0, 20.0, 30.0])  # position k of the sorted output is scaled by w_k
    ops.sum(ops.multiply(ops.sort(v), weights)).backward()
    np.testing.assert_array_equal(to_host(v.grad), [20.0, 10.0, 30.0])
    with pytest.raises(ValueError, match="out of bounds"):
        ops.sort(tensor(bk, 1.0))


@pytest.mark.parametrize("shape, k", [((6,), 3), ((3, 5), 1), ((3, 5), 5), ((2, 3, 4), 2),
                                      ((2, 4), 0)], ids=str)
def test_top_k(bk, rng, shape, k):
    x = distinct(rng, shape)
    values, indices = ops.top_k(tensor(bk, x), k)
    expected_idx = np.argsort(-x, axis=-1)[..., :k]
    np.testing.assert_array_equal(indices.numpy(), expected_idx)
    assert indices.dtype == np.int32 and not indices.requires_grad
    assert_close(values, np.take_along_axis(x, expected_idx, axis=-1), rtol=0, atol=0)
    if k:
        check_gradients(lambda t: ops.top_k(t, k)[0], x, bk=bk)


def test_top_k_ties_and_integers(bk):
    values, indices = ops.top_k(tensor(bk, np.array([1, 5, 5, 2, 5], dtype=np.uint8)), 2)
    np.testing.assert_array_equal(indices.numpy(), [1, 2])  # lower index first among ties
    np.testing.assert_array_equal(values.numpy(), [5, 5])
    assert values.dtype == np.uint8


def test_top_k_errors(bk):
    x = tensor(bk, np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"k=4 is larger than the last axis of x \(2, 3\) \(3\)"):
        ops.top_k(x, 4)
    with pytest.raises(ValueError, match="non-negative int"):
        ops.top_k(x, -1)
    with pytest.raises(ValueError, match="rank >= 1"):
        ops.top_k(tensor(bk, 2.0), 1)


@pytest.mark.parametrize(
    "shape, idx_shape, axis",
    [((5,), (7,), 0), ((3, 4), (3, 6), 1), ((3, 4), (2, 4), 0), ((2, 3, 4), (2, 3, 2), -1),
     ((3, 4), (1, 5), 1), ((2, 3), (4,), None)],
    ids=str,
)
def test_take_along_axis_with_repeated_indices(bk, rng, shape, idx_shape, axis):
    x = distinct(rng, shape)
    size = x.size if axis is None else shape[axis]
    idx = rng.integers(-size, size, idx_shape)  # repeats and negative indices included
    expected = np.take_along_axis(x, idx, axis=axis)
    out = ops.take_along_axis(tensor(bk, x), tensor(bk, idx), axis=axis)
    assert_close(out, expected, rtol=0, atol=0)
    check_gradients(lambda t: ops.take_along_axis(t, tensor(bk, idx), axis=axis), x, bk=bk)


def test_take_along_axis_errors(bk):
    x = tensor(bk, np.ones((2, 3)))
    with pytest.raises(TypeError, match="must be integers"):
        ops.take_along_axis(x, np.zeros((2, 1)), axis=1)
    with pytest.raises(ValueError, match="must have the rank of x"):
        ops.take_along_axis(x, np.zeros(2, dtype=int), axis=1)
