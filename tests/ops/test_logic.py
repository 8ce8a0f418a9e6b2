"""Logical ops and predicates: boolean results against NumPy, edge values, broadcasting."""

import numpy as np
import pytest

from gkeras import ops
from gkeras.autodiff import Tensor


def tensor(bk, array):
    return Tensor(bk.asarray(np.asarray(array)))


BINARY = {
    "logical_and": (ops.logical_and, lambda a, b: [x and y for x, y in zip(a, b)]),
    "logical_or": (ops.logical_or, lambda a, b: [x or y for x, y in zip(a, b)]),
    "logical_xor": (ops.logical_xor, lambda a, b: [x != y for x, y in zip(a, b)]),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_logic(bk, rng, name):
    op, ref = BINARY[name]
    a = rng.integers(0, 2, 12).astype(bool)
    b = rng.integers(0, 2, 12).astype(bool)
    out = op(tensor(bk, a), tensor(bk, b))
    assert out.dtype == np.bool_ and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), ref(a.tolist(), b.tolist()))
    # numbers count as true when nonzero, and shapes broadcast
    nums = np.array([[0.0, 2.5, -1.0]])
    flags = np.array([[True], [False]])
    expected = np.array(
        [[bool(ref([bool(n)], [f])[0]) for n in nums[0]] for f in flags[:, 0]]
    )
    np.testing.assert_array_equal(op(tensor(bk, nums), tensor(bk, flags)).numpy(), expected)
    with pytest.raises(ValueError, match="cannot be broadcast"):
        op(tensor(bk, np.ones(3)), tensor(bk, np.ones(4)))


def test_logical_not(bk):
    x = np.array([0.0, -0.0, 1e-30, -3.0, np.nan])
    np.testing.assert_array_equal(ops.logical_not(tensor(bk, x)).numpy(),
                                  [True, True, False, False, False])


def test_nan_inf_predicates(bk):
    x = np.array([0.0, -1.5, np.inf, -np.inf, np.nan, 1e308])
    t = tensor(bk, x)
    np.testing.assert_array_equal(ops.isnan(t).numpy(), [False] * 4 + [True, False])
    np.testing.assert_array_equal(ops.isinf(t).numpy(), [False, False, True, True, False, False])
    np.testing.assert_array_equal(ops.isfinite(t).numpy(), [True, True, False, False, False, True])
    for fn in (ops.isnan, ops.isinf, ops.isfinite):
        assert fn(t).dtype == np.bool_
        assert fn(tensor(bk, np.arange(3))).numpy().dtype == np.bool_  # integers too


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)], ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_all_any(bk, rng, axis, keepdims):
    x = rng.integers(0, 2, (3, 4, 2)) * rng.standard_normal((3, 4, 2))
    x[0] = 1.0  # a slice where everything is true
    for op, ref in ((ops.all, np.all), (ops.any, np.any)):
        out = op(tensor(bk, x), axis=axis, keepdims=keepdims)
        expected = ref(x != 0, axis=axis, keepdims=keepdims)
        assert out.dtype == np.bool_ and out.shape == np.shape(expected)
        np.testing.assert_array_equal(out.numpy(), expected)


def test_all_any_edge_cases(bk):
    empty = tensor(bk, np.zeros((0, 3)))
    assert bool(ops.all(empty)) is True and bool(ops.any(empty)) is False
    np.testing.assert_array_equal(ops.any(empty, axis=0).numpy(), [False] * 3)
    with pytest.raises(ValueError, match="out of bounds"):
        ops.all(empty, axis=2)
