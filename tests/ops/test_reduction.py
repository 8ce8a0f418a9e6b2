"""Reductions (sum, mean, max, min, var, std, logsumexp, argmax, argmin) vs NumPy."""

import numpy as np
import pytest
from helpers import assert_close, check_gradients, to_host

from gkeras import ops
from gkeras.autodiff import Tensor, Variable


def tensor(bk, array, dtype=None):
    array = np.asarray(array)
    return Tensor(bk.asarray(array if dtype is None else array.astype(dtype)))


REDUCTIONS = {
    "sum": (ops.sum, np.sum),
    "mean": (ops.mean, np.mean),
    "max": (ops.max, np.max),
    "min": (ops.min, np.min),
}
AXES = [None, 0, -1, (0, 2), (1,)]


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(bk, rng, name, axis, keepdims):
    op, ref = REDUCTIONS[name]
    x = rng.standard_normal((3, 4, 5))
    out = op(tensor(bk, x, "float32"), axis=axis, keepdims=keepdims)
    assert out.dtype == np.float32
    assert_close(out, ref(x, axis=axis, keepdims=keepdims), rtol=1e-5)
    check_gradients(lambda t: op(t, axis=axis, keepdims=keepdims), x, bk=bk)


@pytest.mark.parametrize("shape", [(1,), (1, 1), (7, 1, 3)], ids=str)
def test_reductions_on_small_shapes(bk, rng, shape):
    x = rng.standard_normal(shape)
    for op, ref in REDUCTIONS.values():
        assert_close(op(tensor(bk, x)), ref(x))
        assert_close(op(tensor(bk, x), axis=-1, keepdims=True), ref(x, axis=-1, keepdims=True))
        check_gradients(lambda t, op=op: op(t, axis=0), x, bk=bk)


def test_max_ties_share_the_gradient(bk):
    x = Variable(bk.asarray(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], dtype="float32")))
    ops.sum(ops.max(x, axis=1) * 6.0).backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(to_host(x.grad), [[0, 3, 3], [2, 2, 2]])
    x.grad = None
    ops.min(x).backward()  # the global minimum 1.0 is unique
    np.testing.assert_allclose(to_host(x.grad), [[1, 0, 0], [0, 0, 0]])


def test_reduction_axis_errors(bk):
    x = tensor(bk, np.ones((2, 3)))
    with pytest.raises(ValueError, match="axis 2 is out of bounds.*rank 2"):
        ops.sum(x, axis=2)
    with pytest.raises(ValueError, match="axis -3"):
        ops.max(x, axis=-3)


@pytest.mark.parametrize("axis", [None, 0, (1, 2)], ids=str)
def test_var_std_logsumexp(bk, rng, axis):
    x = rng.standard_normal((2, 3, 4))
    assert_close(ops.var(tensor(bk, x), axis=axis), np.var(x, axis=axis), rtol=1e-10)
    assert_close(
        ops.std(tensor(bk, x), axis=axis, keepdims=True),
        np.std(x, axis=axis, keepdims=True),
        rtol=1e-10,
    )
    m = np.max(x, axis=axis, keepdims=True)
    ref = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    assert_close(ops.logsumexp(tensor(bk, x), axis=axis, keepdims=True), ref, rtol=1e-10)
    for op in (ops.var, ops.std, ops.logsumexp):
        check_gradients(lambda t, op=op: op(t, axis=axis), x, bk=bk)


def test_logsumexp_is_stable(bk):
    x = np.array([[1e4, 1e4 - 1.0, -1e4], [-1e4, -1e4, -1e4]])
    out = ops.logsumexp(tensor(bk, x), axis=1).numpy()
    np.testing.assert_allclose(out, [1e4 + np.log1p(np.exp(-1.0)), -1e4 + np.log(3.0)])


def test_argmax_argmin_follow_keras_defaults(bk, rng):
    a = rng.standard_normal((3, 4))
    ta = tensor(bk, a)
    np.testing.assert_array_equal(ops.argmax(ta).numpy(), np.argmax(a))  # flattened
    np.testing.assert_array_equal(ops.argmax(ta, axis=1).numpy(), np.argmax(a, axis=1))
    np.testing.assert_array_equal(
        ops.argmin(ta, 0, keepdims=True).numpy(), np.argmin(a, 0, keepdims=True)
    )
    assert not ops.argmax(Variable(bk.asarray(a))).requires_grad


# --------------------------------------------------------------------------- scans
def running(values, combine):
    # an independent reference: a plain Python loop along the last axis
    out = np.empty_like(values)
    for index in np.ndindex(values.shape[:-1]):
        acc = None
        for j, v in enumerate(values[index]):
            acc = v if acc is None else combine(acc, v)
            out[index + (j,)] = acc
    return out


SCANS = {
    "cumsum": (ops.cumsum, lambda a, b: a + b),
    "cumprod": (ops.cumprod, lambda a, b: a * b),
}


@pytest.mark.parametrize("name", sorted(SCANS))
@pytest.mark.parametrize("shape, axis", [((5,), 0), ((3, 4), 1), ((3, 4), 0), ((2, 3, 4), -2),
                                         ((2, 3), None)], ids=str)
def test_scans(bk, rng, name, shape, axis):
    op, combine = SCANS[name]
    x = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 1.5, size=shape)
    if axis is None:
        expected = running(x.reshape(-1), combine)
    else:
        expected = np.moveaxis(running(np.moveaxis(x, axis, -1), combine), -1, axis)
    out = op(tensor(bk, x), axis=axis)
    assert out.dtype == np.float64 and out.shape == expected.shape
    assert_close(out, expected, rtol=1e-12)
    assert op(tensor(bk, x, "float32"), axis=axis).dtype == np.float32
    check_gradients(lambda t: op(t, axis=axis), x, bk=bk)


def test_scan_dtype_and_axis_errors(bk):
    ints = tensor(bk, np.array([1, 2, 3]))
    out = ops.cumsum(ints, dtype="float64")
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out.numpy(), [1.0, 3.0, 6.0])
    np.testing.assert_array_equal(ops.cumprod(ints).numpy(), [1, 2, 6])
    with pytest.raises(ValueError, match="out of bounds"):
        ops.cumsum(ints, axis=1)


def test_numpy_reductions_accept_a_tensor(bk, rng):
    # np.sum / np.mean call the method with NumPy's dtype= and out= keywords
    x = rng.standard_normal((3, 4)).astype("float32")
    t = Tensor(bk.asarray(x))
    assert_close(np.mean(t), x.mean(), rtol=1e-6)
    assert_close(np.sum(t, axis=0), x.sum(axis=0), rtol=1e-6)
    assert np.mean(t, dtype="float64").dtype == "float64"
    assert_close(t.sum(1, keepdims=True), x.sum(axis=1, keepdims=True), rtol=1e-6)
    with pytest.raises(TypeError, match="`out=` is not supported"):
        np.sum(t, out=np.empty(()))
