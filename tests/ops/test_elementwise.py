"""Trigonometry, rounding and stop_gradient: forward vs NumPy, float64 gradients."""

import math

import numpy as np
import pytest
from helpers import assert_close, check_gradients, to_host

from gkeras import ops
from gkeras.autodiff import Tensor, Variable

SHAPES = [(1,), (3, 4), (2, 3, 5)]


def draw(rng, shape):
    # non-zero, and away from tan's poles at +-pi/2
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 1.3, size=shape)


TRIG = {
    "sin": (ops.sin, np.vectorize(math.sin)),
    "cos": (ops.cos, np.vectorize(math.cos)),
    "tan": (ops.tan, np.vectorize(math.tan)),
}


@pytest.mark.parametrize("name", sorted(TRIG))
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_trigonometry(bk, rng, name, shape):
    op, ref = TRIG[name]
    x = draw(rng, shape)
    for dtype, rtol in (("float32", 1e-5), ("float64", 1e-13)):
        out = op(Tensor(bk.asarray(x.astype(dtype))))
        assert out.dtype == dtype and out.shape == shape
        assert_close(out, ref(x), rtol=rtol, atol=1e-7)
    check_gradients(op, x, bk=bk)


ROUNDING = {
    "floor": (ops.floor, np.vectorize(math.floor)),
    "ceil": (ops.ceil, np.vectorize(math.ceil)),
    "round": (ops.round, np.vectorize(round)),  # Python's round also halves to even
}


@pytest.mark.parametrize("name", sorted(ROUNDING))
def test_rounding_values_and_no_gradient(bk, rng, name):
    op, ref = ROUNDING[name]
    x = np.concatenate([rng.uniform(-5, 5, 20), [-2.5, -0.5, 0.5, 1.5, 2.5, 3.0, -0.0]])
    out = op(Tensor(bk.asarray(x)))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out.numpy(), ref(x).astype(np.float64))
    v = Variable(bk.asarray(x))
    y = op(v)
    assert not y.requires_grad  # piecewise constant: nothing flows back (as TF)
    assert op(Tensor(bk.asarray(x.astype("float32")))).dtype == np.float32


def test_round_decimals(bk):
    x = np.array([1.234, -5.678, 149.0, 151.0])
    np.testing.assert_allclose(ops.round(Tensor(bk.asarray(x)), 2).numpy(), [1.23, -5.68, 149, 151])
    np.testing.assert_allclose(ops.round(Tensor(bk.asarray(x)), -2).numpy(), [0, -0, 100, 200])
    with pytest.raises(TypeError, match="int number of decimals"):
        ops.round(x, 1.5)


def test_stop_gradient_blocks_only_its_branch(bk, rng):
    x = rng.standard_normal((3, 2))
    v = Variable(bk.asarray(x))
    # d/dx [x * stop(x)] = stop(x): the stopped factor counts as a constant
    ops.sum(ops.multiply(v, ops.stop_gradient(v))).backward()
    np.testing.assert_allclose(to_host(v.grad), x)
    out = ops.stop_gradient(v)
    assert not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), x)
