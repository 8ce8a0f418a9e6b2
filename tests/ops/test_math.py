"""Arithmetic, matmul, reductions and elementwise math: forward vs NumPy, float64 gradients."""

import numpy as np
import pytest
from helpers import assert_close, check_gradients, to_host

from gkeras import ops
from gkeras.autodiff import Tensor, Variable

# (shape of x1, shape of x2): same shape, batch 1 with a missing axis, two-way broadcast,
# odd sizes, and a scalar
BINARY_SHAPES = [
    ((3, 4), (3, 4)),
    ((1, 5), (5,)),
    ((2, 3, 1), (1, 4)),
    ((3, 1, 5), (1, 7, 1)),
    ((), (3,)),
]


def away_from_zero(rng, shape, low=0.5):
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(low, 1.5, size=shape)


def tensor(bk, array, dtype=None):
    array = np.asarray(array)
    return Tensor(bk.asarray(array if dtype is None else array.astype(dtype)))


BINARY = {
    "add": (ops.add, np.add),
    "subtract": (ops.subtract, np.subtract),
    "multiply": (ops.multiply, np.multiply),
    "divide": (ops.divide, np.divide),
    "maximum": (ops.maximum, np.maximum),
    "minimum": (ops.minimum, np.minimum),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
def test_binary_ops(bk, rng, name, shapes):
    op, ref = BINARY[name]
    a, b = away_from_zero(rng, shapes[0]), away_from_zero(rng, shapes[1])
    for dtype in ("float32", "float64"):
        out = op(tensor(bk, a, dtype), tensor(bk, b, dtype))
        assert out.dtype == dtype
        assert_close(out, ref(a, b), rtol=1e-5)
    check_gradients(op, a, b, bk=bk)


@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
def test_power_gradient_in_base_and_exponent(bk, rng, shapes):
    a = rng.uniform(0.5, 2.0, size=shapes[0])
    b = rng.uniform(-1.5, 1.5, size=shapes[1])
    assert_close(ops.power(tensor(bk, a), tensor(bk, b)), a**b, rtol=1e-10)
    assert ops.power(tensor(bk, a, "float32"), 2).dtype == np.float32
    check_gradients(ops.power, a, b, bk=bk)


def test_power_exponent_gradient_is_zero_for_nonpositive_base(bk):
    # d(a^b)/db = a^b ln(a): 0 at a = 0 (b > 0), and taken as 0 for negative bases
    a = Tensor(bk.asarray(np.array([0.0, -2.0, 3.0])))
    b = Variable(bk.asarray(np.array([2.0, 2.0, 2.0])))
    ops.sum(ops.power(a, b)).backward()
    np.testing.assert_allclose(to_host(b.grad), [0.0, 0.0, 9 * np.log(3.0)])


def test_negative_and_python_operators(bk, rng):
    a, b = rng.standard_normal((2, 3)), away_from_zero(rng, (3,))
    ta, tb = tensor(bk, a), tensor(bk, b)
    assert_close(-ta, -a)
    assert_close(ta + 1.0, a + 1)
    assert_close(2.0 - ta, 2 - a)
    assert_close(ta / tb, a / b)
    assert_close(1.0 / tb, 1 / b)
    assert_close(tb**2, b**2)
    assert_close(2.0**tb, 2.0**b)
    check_gradients(ops.negative, a, bk=bk)
    check_gradients(lambda x, y: (x - y) * (y / x) + x**2, a, b + 2, bk=bk)


def test_maximum_minimum_ties_go_to_the_first_argument(bk):
    a = Variable(bk.asarray(np.array([1.0, 2.0, 3.0])))
    b = Variable(bk.asarray(np.array([1.0, 5.0, 0.0])))
    ops.sum(ops.maximum(a, b)).backward()
    np.testing.assert_allclose(to_host(a.grad), [1.0, 0.0, 1.0])
    np.testing.assert_allclose(to_host(b.grad), [0.0, 1.0, 0.0])
    a.grad = b.grad = None
    ops.sum(ops.minimum(a, b)).backward()
    np.testing.assert_allclose(to_host(a.grad), [1.0, 1.0, 0.0])
    np.testing.assert_allclose(to_host(b.grad), [0.0, 0.0, 1.0])


# ------------------------------------------------------------------------- matmul
MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((1, 4), (4, 1)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (4,)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(bk, rng, shapes):
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    assert_close(ops.matmul(tensor(bk, a), tensor(bk, b)), np.matmul(a, b), rtol=1e-10)
    assert ops.matmul(tensor(bk, a, "float32"), tensor(bk, b, "float32")).dtype == np.float32
    check_gradients(ops.matmul, a, b, bk=bk)


def test_matmul_operator_and_errors(bk, rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 2))
    assert_close(tensor(bk, a) @ tensor(bk, b), a @ b)
    with pytest.raises(ValueError, match=r"inner dimensions.*\(2, 3\).*3.*\(2, 2\).*2"):
        ops.matmul(tensor(bk, a), tensor(bk, np.ones((2, 2))))
    with pytest.raises(ValueError, match="rank >= 1"):
        ops.matmul(tensor(bk, a), tensor(bk, np.float64(2.0)))


# ---------------------------------------------------------------- elementwise math
POSITIVE = lambda rng, s: rng.uniform(0.3, 2.0, size=s)  # noqa: E731
ANY = lambda rng, s: away_from_zero(rng, s, 0.1)  # noqa: E731
UNARY = {
    "exp": (ops.exp, np.exp, ANY),
    "log": (ops.log, np.log, POSITIVE),
    "log1p": (ops.log1p, np.log1p, POSITIVE),
    "expm1": (ops.expm1, np.expm1, ANY),
    "sqrt": (ops.sqrt, np.sqrt, POSITIVE),
    "square": (ops.square, np.square, ANY),
    "abs": (ops.abs, np.abs, ANY),
    "negative": (ops.negative, np.negative, ANY),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", [(1,), (3, 5), (2, 3, 4), ()], ids=str)
def test_unary_ops(bk, rng, name, shape):
    op, ref, draw = UNARY[name]
    x = draw(rng, shape)
    for dtype in ("float32", "float64"):
        out = op(tensor(bk, x, dtype))
        assert out.dtype == dtype and out.shape == shape
        assert_close(out, ref(x), rtol=1e-5)
    check_gradients(op, x, bk=bk)


@pytest.mark.parametrize("shape", [(1,), (4, 5), (2, 3, 3)], ids=str)
def test_clip(bk, rng, shape):
    x = rng.uniform(-2, 2, size=shape)
    x[np.abs(np.abs(x) - 1) < 0.05] = 0.3  # keep inputs away from the kinks
    out = ops.clip(tensor(bk, x, "float32"), -1.0, 1.0)
    assert out.dtype == np.float32
    assert_close(out, np.clip(x, -1, 1))
    check_gradients(lambda t: ops.clip(t, -1.0, 1.0), x, bk=bk)


def test_clip_gradient_passes_at_the_bounds(bk):
    x = Variable(bk.asarray(np.array([-2.0, -1.0, 0.0, 1.0, 2.0])))
    ops.sum(ops.clip(x, -1.0, 1.0)).backward()
    np.testing.assert_allclose(to_host(x.grad), [0, 1, 1, 1, 0])


@pytest.mark.parametrize(
    "shapes", [((3, 4), (3, 4), (3, 4)), ((3, 1), (3, 4), (4,)), ((1,), (2, 3), ())], ids=str
)
def test_where(bk, rng, shapes):
    cond = rng.random(shapes[0]) > 0.5
    a, b = rng.standard_normal(shapes[1]), rng.standard_normal(shapes[2])
    assert_close(ops.where(tensor(bk, cond), tensor(bk, a), tensor(bk, b)), np.where(cond, a, b))
    check_gradients(lambda x, y: ops.where(cond, x, y), a, b, bk=bk)


def test_sum_to_undoes_broadcasting(bk, rng):
    g = bk.asarray(rng.standard_normal((2, 3, 4)))
    host = to_host(g)
    np.testing.assert_allclose(to_host(ops.sum_to(g, (3, 1))), host.sum(axis=(0, 2))[:, None])
    np.testing.assert_allclose(to_host(ops.sum_to(g, (1, 3, 4))), host.sum(0, keepdims=True))
    np.testing.assert_allclose(to_host(ops.sum_to(g, ())), host.sum())
    assert ops.sum_to(g, (2, 3, 4)) is g


def test_comparisons_and_sign(bk, rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    ta, tb = tensor(bk, a), tensor(bk, b)
    for op, ref in (
        (ops.greater, np.greater),
        (ops.greater_equal, np.greater_equal),
        (ops.less, np.less),
        (ops.less_equal, np.less_equal),
        (ops.equal, np.equal),
        (ops.not_equal, np.not_equal),
    ):
        np.testing.assert_array_equal(op(ta, tb).numpy(), ref(a, b))
        np.testing.assert_array_equal(op(ta, 0.0).numpy(), ref(a, 0.0))
    np.testing.assert_array_equal((ta > tb).numpy(), a > b)
    np.testing.assert_array_equal(ops.sign(ta).numpy(), np.sign(a))
